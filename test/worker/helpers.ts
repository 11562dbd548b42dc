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

/** Every row of every table of a project's object, as one string (state comparisons). */
export async function objectDump(projectId: string): Promise<string> {
  const { runInDurableObject } = await import("cloudflare:test");
  return runInDurableObject(projectStub(projectId), (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name")
      .toArray()
      .map((r) => r.name);
    const out: Record<string, unknown[]> = {};
    for (const t of tables) {
      out[t] = sql.exec(`SELECT * FROM "${t}"`).toArray().map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, v instanceof ArrayBuffer ? [...new Uint8Array(v)].join(",") : v]),
        ),
      );
    }
    return JSON.stringify(out);
  });
}

/** Every row of every D1 table, as one string. */
export async function d1Dump(): Promise<string> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables.results) out[name] = (await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results;
  return JSON.stringify(out);
}

// --- reading the next push through the object's preview (OTLP/JSON) --------------------------------

export interface PreviewPoint {
  attributes: Record<string, string>;
  value?: number;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
}

/** Data points of one metric from an OTLP/JSON body, numbers parsed. */
export function metricPoints(body: any, name: string): PreviewPoint[] {
  const metrics = (body?.resourceMetrics ?? []).flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics));
  const metric = metrics.find((m: any) => m.name === name);
  if (!metric) return [];
  const data = metric.gauge ?? metric.sum ?? metric.histogram;
  return data.dataPoints.map((p: any) => {
    const attributes = Object.fromEntries(p.attributes.map((a: any) => [a.key, a.value.stringValue]));
    const point: PreviewPoint = { attributes, startTimeUnixNano: p.startTimeUnixNano, timeUnixNano: p.timeUnixNano };
    if (p.asDouble !== undefined) point.value = Number(p.asDouble);
    if (p.asInt !== undefined) point.value = Number(p.asInt);
    if (p.count !== undefined) point.count = Number(p.count);
    if (p.sum !== undefined) point.sum = Number(p.sum);
    if (p.min !== undefined) point.min = Number(p.min);
    if (p.max !== undefined) point.max = Number(p.max);
    if (p.bucketCounts) point.bucketCounts = p.bucketCounts.map(Number);
    if (p.explicitBounds) point.explicitBounds = p.explicitBounds.map(Number);
    return point;
  });
}

/** The point of `name` for one app and region, or undefined. */
export function pointFor(body: any, name: string, appName: string, region: string): PreviewPoint | undefined {
  return metricPoints(body, name).find((p) => p.attributes.app_name === appName && p.attributes.region === region);
}

/** The OTLP/JSON request of the next push (up to the preview's 100 series). */
export async function preview(projectId: string): Promise<any> {
  const answer = await projectStub(projectId).preview(projectId, null, 100);
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.value.request;
}
