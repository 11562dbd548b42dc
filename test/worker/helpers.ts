/** Calling the worker from tests inside workerd, the way a client would. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";

export const ADMIN = env.ADMIN_TOKEN;

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const response = await (exports as any).default.fetch(new Request(`http://edge.test${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

let counter = 0;
export function uniqueProjectId(): string {
  counter += 1;
  return `p-t${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 34);
}

export async function createProject(projectId = uniqueProjectId()): Promise<string> {
  const r = await call("POST", "/v1/projects", { body: { project_id: projectId, name: "test" } });
  if (r.status !== 201) throw new Error(`createProject: ${r.status} ${r.text}`);
  return projectId;
}

export async function createProjectKey(projectId: string): Promise<{ key_id: string; key: string }> {
  const r = await call("POST", `/v1/projects/${projectId}/keys`, { body: {} });
  if (r.status !== 201) throw new Error(`createProjectKey: ${r.status} ${r.text}`);
  return r.body;
}

export async function createIngestKey(hostId: string): Promise<{ key_id: string; key: string }> {
  const r = await call("POST", "/v1/ingest-keys", { body: { host_id: hostId } });
  if (r.status !== 201) throw new Error(`createIngestKey: ${r.status} ${r.text}`);
  return r.body;
}

export function projectStub(projectId: string) {
  return env.PROJECTS.getByName(projectId);
}
