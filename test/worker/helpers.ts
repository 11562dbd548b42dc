/** Calling the worker from tests inside workerd, the way a client would. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { nextPushAt } from "../../src/export/schedule";

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
  return send<T>(method, path, options, "follow");
}

let counter = 0;
/** How far from now a test project's first scheduled push is at least (tests last seconds). */
const SCHEDULE_CLEARANCE_MS = 10 * 60_000;

/**
 * A fresh project id whose first scheduled push is at least 10 minutes away. A project pushes at a
 * stable offset within the interval (an hour in this suite, src/export/schedule.ts) derived from its
 * id; a slot that fell inside a test would add a push the test does not expect (about one test run
 * in twenty would meet one). Tests drive pushes with flush or runDurableObjectAlarm.
 */
export function uniqueProjectId(): string {
  const intervalMs = Number(env.EXPORT_INTERVAL_SECONDS) * 1000;
  for (;;) {
    counter += 1;
    const id = `p-t${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 34);
    if (nextPushAt(id, intervalMs, Date.now()) - Date.now() >= SCHEDULE_CLEARANCE_MS) return id;
  }
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

// --- the Metrics Export page's sessions (src/session.ts) --------------------------------------------

/**
 * Like `call`, but redirects are not followed (`call` follows them, as fetch does by default, so a
 * 303 would show up as the page it points to) and `target` may be an absolute URL (e.g. https://).
 */
export async function callManual<T = any>(method: string, target: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  return send<T>(method, target, options, "manual");
}

async function send<T>(method: string, target: string, options: CallOptions, redirect: "follow" | "manual"): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const url = /^https?:/.test(target) ? target : `http://edge.test${target}`;
  const response: Response = await (exports as any).default.fetch(new Request(url, { method, headers, body, redirect }));
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** The session cookie's name over `http://edge.test` (the URL `call` uses). */
export const SESSION_COOKIE = "cmx_session";

/** POSTs the sign-in form (`project_key`) to /session; extra headers (e.g. Sec-Fetch-Site) may be added. */
export function postSignIn(projectKey: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return callManual("POST", "/session", {
    token: null,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    rawBody: new URLSearchParams({ project_key: projectKey }).toString(),
  });
}

/** The value a `Set-Cookie` header gives `name`, or null when it does not set that cookie. */
export function setCookieValue(headers: Headers, name: string): string | null {
  for (const line of headers.getSetCookie()) {
    const first = line.split(";", 1)[0]!;
    const eq = first.indexOf("=");
    if (eq >= 0 && first.slice(0, eq).trim() === name) return first.slice(eq + 1).trim();
  }
  return null;
}

/** Signs in with a project key and returns the session token of the cookie it sets (throws otherwise). */
export async function openSession(projectKey: string): Promise<string> {
  const r = await postSignIn(projectKey);
  const token = setCookieValue(r.headers, SESSION_COOKIE);
  if (r.status !== 303 || token === null || token === "") throw new Error(`openSession: ${r.status} ${r.text}`);
  return token;
}

/** Headers that present a session token as the page's cookie (plus X-Requested-With unless `csrf` is false). */
export function sessionHeaders(token: string, csrf = true): Record<string, string> {
  return { cookie: `${SESSION_COOKIE}=${token}`, ...(csrf ? { "x-requested-with": "fetch" } : {}) };
}

/** Lower-case hex SHA-256 of a string (how D1 `sessions` stores a token). */
export async function sha256HexOf(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Signs out the session of `token` (POST /session/sign-out with its cookie). */
export async function signOut(token: string): Promise<ApiResponse> {
  return callManual("POST", "/session/sign-out", { token: null, headers: { cookie: `${SESSION_COOKIE}=${token}` } });
}

// --- notifications and the audit log (issue 14) ------------------------------------------------------

/** A project key with a name (audit entries name the key by it). */
export async function createNamedProjectKey(projectId: string, name: string): Promise<{ key_id: string; key: string }> {
  const r = await call("POST", `/v1/projects/${projectId}/keys`, { body: { name } });
  if (r.status !== 201) throw new Error(`createNamedProjectKey: ${r.status} ${r.text}`);
  return r.body;
}

const latin1Of = (bytes: Uint8Array): string => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The forms a secret could leak in: the text, its hex, and its base64 and base64url at each of the
 * three byte alignments (only the characters that depend on the text alone).
 */
export function leakForms(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  const out = [text, hexOf(bytes)];
  for (let pad = 0; pad < 3; pad++) {
    const padded = new Uint8Array(pad + bytes.length);
    padded.set(bytes, pad);
    const b64 = btoa(latin1Of(padded));
    const core = b64.slice(Math.ceil((pad * 8) / 6), Math.floor(((pad + bytes.length) * 8) / 6));
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...new Set(out)];
}

/** Which of `secrets` (in any of their leakForms) occur in `text` (hex compared case-insensitively). */
export function leaksOf(text: string, secrets: string[]): string[] {
  const lower = text.toLowerCase();
  return secrets.flatMap((s) => leakForms(s).filter((n) => (/^[0-9a-f]+$/.test(n) ? lower.includes(n) : text.includes(n))));
}

/** Every cell of every table of a project's object as text (blobs as their bytes in latin1 and as hex), plus its key-value storage. */
export async function objectRowsText(projectId: string, tables?: string[]): Promise<string> {
  const { runInDurableObject } = await import("cloudflare:test");
  return runInDurableObject(projectStub(projectId), async (_instance, state) => {
    const sql = state.storage.sql;
    const names = tables ?? sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'").toArray().map((r) => r.name);
    const out: string[] = [];
    for (const name of names) {
      for (const row of sql.exec(`SELECT * FROM "${name}"`).toArray()) {
        for (const cell of Object.values(row)) {
          if (cell instanceof ArrayBuffer) out.push(latin1Of(new Uint8Array(cell)), hexOf(new Uint8Array(cell)));
          else out.push(String(cell));
        }
      }
    }
    if (tables === undefined) for (const [key, value] of await state.storage.list()) out.push(key, JSON.stringify(value));
    return out.join("\n");
  });
}
