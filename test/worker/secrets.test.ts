/**
 * Customers' header values never leave the vault (issue 6, "Secrets"). Distinctive values are
 * planted through the API, every route is driven, including destinations that echo the request
 * headers back in error bodies, and then no response body or header, no console line (the Durable
 * Object runs in the test isolate, so its logging is captured too) and no stored row may carry a
 * planted value: as plain text, hex, or base64/base64url of the value and of `name: value`.
 * Stored values that cannot be opened fail closed: nothing is sent, `credentials_unreadable`.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hookRequests, hookUrl, newNamespace, receiverUrl, requestCount, requests, reset, script } from "../receiver/client";
import {
  call,
  createIngestKey,
  createProject,
  createProjectKey,
  d1Dump,
  objectDump,
  projectStub,
  type ApiResponse,
  type CallOptions,
} from "./helpers";

const exportPath = (project: string) => `/v1/projects/${project}/metrics-export`;
const utf8 = new TextEncoder();

// --- planted values and the forms they could leak in ----------------------------------------------

function randomToken(): string {
  return "PLANTED-" + Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Planted {
  name: string;
  value: string;
  /** Parts of the value that are secret on their own (a bearer token, the credentials inside Basic). */
  parts: string[];
}

function plantHeaders(): Planted[] {
  const bearer = randomToken();
  const ddKey = randomToken();
  const basicSecret = `123456:${randomToken()}`;
  const basic = btoa(basicSecret);
  return [
    { name: "Authorization", value: `Bearer ${bearer}`, parts: [bearer] },
    { name: "DD-API-KEY", value: ddKey, parts: [] },
    { name: "X-Scope-Credentials", value: `Basic ${basic}`, parts: [basic, basicSecret, basicSecret.split(":")[1]!] },
  ];
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The text, its hex, and its base64 and base64url at each of the three byte alignments, keeping
 * only the characters that depend on the text alone (so a match does not depend on its neighbours).
 */
function encodings(text: string): string[] {
  const bytes = utf8.encode(text);
  const out = [text, toHex(bytes)];
  for (let pad = 0; pad < 3; pad++) {
    const padded = new Uint8Array(pad + bytes.length);
    padded.set(bytes, pad);
    const b64 = btoa(latin1(padded));
    const core = b64.slice(Math.ceil((pad * 8) / 6), Math.floor(((pad + bytes.length) * 8) / 6));
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

function needlesOf(planted: Planted[]): string[] {
  const texts = planted.flatMap((p) => [p.value, ...p.parts, `${p.name}: ${p.value}`, `${p.name.toLowerCase()}: ${p.value}`]);
  return [...new Set(texts.flatMap(encodings))];
}

/** Where a planted value shows in `text`, if anywhere (hex compared case-insensitively). */
function leaksIn(where: string, text: string, needles: string[]): string[] {
  const lower = text.toLowerCase();
  return needles.filter((n) => (/^[0-9a-f]+$/.test(n) ? lower.includes(n) : text.includes(n))).map((n) => `${where}: ${n}`);
}

// --- what the run leaves behind -------------------------------------------------------------------

interface Trace {
  responses: { what: string; response: ApiResponse }[];
  logs: string[];
}

let trace: Trace;

beforeEach(() => {
  trace = { responses: [], logs: [] };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      trace.logs.push(`${level}: ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`);
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function api(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const response = await call(method, path, options);
  trace.responses.push({ what: `${method} ${path} → ${response.status}`, response });
  return response;
}

/** Every table of the object, blobs as their bytes (latin1) and hex, plus its key-value storage. */
async function objectRowsText(project: string): Promise<string> {
  return runInDurableObject(projectStub(project), async (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
    const out: string[] = [];
    for (const { name } of tables) {
      if (name.startsWith("_cf_")) continue; // the runtime's key-value table: read through storage.list() below
      for (const row of sql.exec(`SELECT * FROM "${name}"`).toArray()) {
        for (const cell of Object.values(row)) {
          if (cell instanceof ArrayBuffer) out.push(latin1(new Uint8Array(cell)), toHex(new Uint8Array(cell)));
          else out.push(String(cell));
        }
      }
    }
    for (const [key, value] of await state.storage.list()) out.push(key, JSON.stringify(value));
    return out.join("\n");
  });
}

function responseLeaks(needles: string[]): string[] {
  return trace.responses.flatMap(({ what, response }) => [
    ...leaksIn(`${what} body`, response.text, needles),
    ...[...response.headers].flatMap(([name, value]) => leaksIn(`${what} header ${name}`, `${name}: ${value}`, needles)),
  ]);
}

async function storageLeaks(projects: string[], needles: string[]): Promise<string[]> {
  const leaks = leaksIn("D1", await d1Dump(), needles);
  for (const project of projects) {
    leaks.push(...leaksIn(`object ${project} (objectDump)`, await objectDump(project), needles));
    leaks.push(...leaksIn(`object ${project} (raw rows)`, await objectRowsText(project), needles));
  }
  return leaks;
}

// --- fixtures --------------------------------------------------------------------------------------

const runSample = (project: string) => ({
  type: "run",
  project_id: project,
  app_name: "secret-app",
  region: "us-east-1",
  time: Date.now(),
  execution_ms: 10,
  queue_ms: 1,
  response_ms: 12,
  success: true,
});

async function ingest(project: string, ingestKey: string, hostId: string): Promise<void> {
  const r = await api("POST", "/v1/samples", {
    token: ingestKey,
    body: {
      host_id: hostId,
      batch_id: crypto.randomUUID(),
      samples: [
        runSample(project),
        {
          type: "resource",
          project_id: project,
          app_name: "secret-app",
          region: "us-east-1",
          time: Date.now(),
          cpu_cores: 1,
          memory_bytes: 1,
          gpu_memory_bytes: 1,
          gpu_compute_percent: 1,
          containers_running: 1,
          containers_ready: 1,
        },
      ],
    },
  });
  expect(r.status).toBe(202);
  expect(r.body.accepted).toBe(2);
}

async function configured(planted: { name: string; value?: string }[], over: Record<string, unknown> = {}) {
  const headers = planted.map(({ name, value }) => ({ name, value }));
  const project = await createProject();
  const ns = newNamespace();
  const { key } = await createProjectKey(project);
  const hostId = `host-${ns.slice(0, 8)}`;
  const ingestKey = (await createIngestKey(hostId)).key;
  const put = await api("PUT", exportPath(project), { token: key, body: { endpoint: receiverUrl(ns), headers, ...over } });
  expect(put.status, put.text).toBe(200);
  await ingest(project, ingestKey, hostId);
  return { project, ns, key, hostId, ingestKey };
}

// --- the sweep -------------------------------------------------------------------------------------

describe("planted header values", () => {
  it("appear in no response, response header, log line or stored row after every route has run", { timeout: 30_000 }, async () => {
    const planted = plantHeaders();
    const needles = needlesOf(planted);
    const t = await configured(planted);
    const { project, ns, key } = t;
    const path = exportPath(project);
    const stub = projectStub(project);

    // Two notification webhooks (issue 14): their URLs carry a secret path, the JSON one a signing
    // secret. Their creation answers are the one place the signing secret may appear (kept out of
    // the trace); everything else is scanned for both, and for the planted header values.
    const hookNs = newNamespace();
    const pathTokens = [randomToken(), randomToken()];
    const jsonHook = await call("POST", `/v1/projects/${project}/notifications`, {
      token: key,
      body: { name: "JSON", url: hookUrl(hookNs, `/json/${pathTokens[0]}`), format: "json", quiet_period_seconds: 0 },
    });
    const slackHook = await call("POST", `/v1/projects/${project}/notifications`, {
      token: key,
      body: { name: "Slack", url: hookUrl(hookNs, `/slack/${pathTokens[1]}`), format: "slack", quiet_period_seconds: 0 },
    });
    expect([jsonHook.status, slackHook.status]).toEqual([201, 201]);
    const webhookSecrets = [jsonHook.body.secret as string, slackHook.body.secret as string];
    for (const created of [jsonHook, slackHook]) expect(leaksIn("webhook creation", created.text, pathTokens.flatMap(encodings))).toEqual([]);
    needles.push(...[...pathTokens, ...webhookSecrets].flatMap(encodings));
    // Quotes each value and each token inside it verbatim (the decoded Basic credentials are the
    // subject of their own test below).
    const bodyQuotingEverything = `denied: ${planted
      .map((p) => `${p.name}=${p.value} (${p.parts.filter((part) => p.value.includes(part)).join(", ")})`)
      .join("; ")}`;

    // Positive control: the values reach the destination, and the scan finds them there.
    expect((await api("POST", `${path}/flush`, { token: key })).body).toMatchObject({ ok: true, requests: 1 });
    const sent = await requests(ns);
    for (const p of planted) expect(sent[0]!.headers[p.name.toLowerCase()]).toBe(p.value);
    expect(leaksIn("receiver", JSON.stringify(sent[0]!.headers), needles)).not.toEqual([]);

    // Reads.
    expect((await api("GET", path, { token: key })).body.headers).toEqual(planted.map(({ name }) => ({ name })));
    expect((await api("GET", `${path}/preview`, { token: key })).status).toBe(200);
    expect((await api("GET", `/v1/projects/${project}/stats`)).status).toBe(200);
    expect((await api("POST", "/v1/projects", { body: { name: "secret sweep" } })).status).toBe(201);
    expect((await api("GET", "/v1/projects")).status).toBe(200);

    // Test Connection: saved settings, then destinations that echo or quote the credentials.
    expect((await api("POST", `${path}/test`, { token: key })).body.ok).toBe(true);
    await script(ns, [{ status: 400, echoHeaders: true }]);
    const echoed = await api("POST", `${path}/test`, { token: key });
    expect(echoed.body).toMatchObject({ ok: false, http_status: 400, classification: "bad_request" });
    // The echo arrived (header names are there) and every value in it was replaced.
    expect(echoed.body.response_excerpt).toContain('"dd-api-key":"[redacted]"');
    expect(echoed.body.response_excerpt).toContain('"authorization":"[redacted]"');
    await script(ns, [{ status: 401, body: bodyQuotingEverything }]);
    const quoted = await api("POST", `${path}/test`, { token: key });
    expect(quoted.body).toMatchObject({ ok: false, http_status: 401, classification: "unauthorized" });
    expect(quoted.body.response_excerpt).toContain("[redacted]");
    // Unsaved settings: one stored value kept by name, one new value, echoed back.
    const unsaved = { name: "X-Unsaved-Key", value: randomToken(), parts: [] };
    needles.push(...needlesOf([unsaved]));
    await script(ns, [{ status: 400, echoHeaders: true }]);
    const unsavedTest = await api("POST", `${path}/test`, {
      token: key,
      body: { headers: [{ name: "Authorization" }, { name: unsaved.name, value: unsaved.value }] },
    });
    expect(unsavedTest.body.response_excerpt).toContain('"x-unsaved-key":"[redacted]"');
    await script(ns, [{ hang: true }]);
    expect((await api("POST", `${path}/test`, { token: key })).body.classification).toBe("timeout");
    await script(ns, [{ status: 302, headers: { location: `https://elsewhere.example/?k=${planted[1]!.value}` }, body: bodyQuotingEverything }]);
    expect((await api("POST", `${path}/test`, { token: key })).body.classification).toBe("not_found");
    // Another origin: the stored values are not sent there (400, nothing sent); without them it is tried.
    const otherOrigin = await api("POST", `${path}/test`, { token: key, body: { endpoint: "http://127.0.0.1:1" } });
    expect(otherOrigin.status).toBe(400);
    expect(otherOrigin.body.error.code).toBe("header_values_required");
    const refused = await api("POST", `${path}/test`, { token: key, body: { endpoint: "http://127.0.0.1:1", headers: [] } });
    expect(refused.body.classification).toBe("network");

    // Pushes whose failures quote the credentials: last_error, flush error, status warning.
    await script(ns, [{ status: 400, echoHeaders: true }]);
    const flushEcho = await api("POST", `${path}/flush`, { token: key });
    expect(flushEcho.body).toMatchObject({ ok: false, error: { classification: "bad_request", http_status: 400 } });
    expect(flushEcho.body.error.message).toContain('"authorization":"[redacted]"');
    expect((await api("GET", path, { token: key })).body.status.last_error.message).toContain("[redacted]");
    await script(ns, [{ status: 401, body: bodyQuotingEverything }]);
    expect((await api("POST", `${path}/flush`, { token: key })).body.error.classification).toBe("unauthorized");
    await script(ns, [{ partialSuccess: { rejectedDataPoints: 1, errorMessage: bodyQuotingEverything } }]);
    expect((await api("POST", `${path}/flush`, { token: key })).body.ok).toBe(true);
    expect((await api("GET", path, { token: key })).body.status.warning).toContain("[redacted]");
    await script(ns, Array.from({ length: 4 }, () => ({ status: 503, echoHeaders: true as const })));
    expect((await api("POST", `${path}/flush`, { token: key })).body).toMatchObject({ ok: false, attempts: 4, error: { classification: "server_error" } });

    // Saving without retyping values, and the JSON protocol's echo.
    expect((await api("PATCH", path, { token: key, body: { protocol: "http/json", compression: "none" } })).status).toBe(200);
    expect((await api("PATCH", path, { token: key, body: { headers: planted.map(({ name }) => ({ name })) } })).status).toBe(200);
    await script(ns, [{ status: 400, echoHeaders: true }]);
    expect((await api("POST", `${path}/flush`, { token: key })).body.error.message).toContain("[redacted]");
    const kept = await api("PUT", path, { token: key, body: { endpoint: receiverUrl(ns), headers: planted.map(({ name }) => ({ name })) } });
    expect(kept.status).toBe(200);
    expect(kept.body.headers).toEqual(planted.map(({ name }) => ({ name })));

    // Rejected input carrying a planted value is not quoted back.
    for (const value of [`${planted[1]!.value}\r\n`, `${planted[1]!.value}\u0000`, planted[1]!.value.repeat(400), `${planted[1]!.value}é`]) {
      const r = await api("PUT", path, { token: key, body: { endpoint: receiverUrl(ns), headers: [{ name: "DD-API-KEY", value }] } });
      expect(r.status).toBe(400);
    }

    // Ten failed pushes in a row: the object pauses and says so in its log (captured here, so the
    // object's console is the one spied on).
    await script(ns, Array.from({ length: 10 }, () => ({ status: 400, echoHeaders: true as const })));
    for (let i = 0; i < 10; i++) expect((await api("POST", `${path}/flush`, { token: key })).body.ok).toBe(false);
    expect((await api("POST", `${path}/flush`, { token: key })).body.error.code).toBe("export_paused");
    expect(trace.logs.some((line) => line.includes('"event":"export_paused"') && line.includes(project))).toBe(true);
    expect((await api("GET", path, { token: key })).body.status.state).toBe("paused");

    // Resume: the alarm pushes at once, into another echo.
    await script(ns, [{ status: 400, echoHeaders: true }]);
    const before = await requestCount(ns);
    expect((await api("POST", `${path}/resume`, { token: key })).status).toBe(200);
    await runDurableObjectAlarm(stub);
    await vi.waitFor(async () => expect(await requestCount(ns)).toBe(before + 1));
    await vi.waitFor(async () => expect((await api("GET", path, { token: key })).body.status.consecutive_failures).toBe(1));

    // Keys: created, listed with the project, revoked.
    const extra = await api("POST", `/v1/projects/${project}/keys`, { body: { name: "ci" } });
    const ingestKey = await api("POST", "/v1/ingest-keys", { body: { host_id: "secret-sweep-host" } });
    expect((await api("DELETE", `/v1/keys/${extra.body.key_id}`)).status).toBe(204);
    expect((await api("DELETE", `/v1/keys/${ingestKey.body.key_id}`)).status).toBe(204);

    // Every event raised above has been delivered (or given up): the webhooks, the audit log.
    await vi.waitFor(async () => {
      const list = (await call("GET", `/v1/projects/${project}/notifications`, { token: key })).body.notifications as { pending_deliveries: number }[];
      expect(list.map((n) => n.pending_deliveries)).toEqual([0, 0]);
    }, { timeout: 8_000, interval: 50 });
    expect((await api("GET", `/v1/projects/${project}/notifications`, { token: key })).status).toBe(200);
    expect((await api("GET", `/v1/projects/${project}/notifications/${jsonHook.body.notification_id}`, { token: key })).status).toBe(200);
    expect((await api("POST", `/v1/projects/${project}/notifications/${jsonHook.body.notification_id}/test`, { token: key })).body.ok).toBe(true);
    expect((await api("PATCH", `/v1/projects/${project}/notifications/${slackHook.body.notification_id}`, { token: key, body: { name: "Slack #ops" } })).status).toBe(200);
    const auditLog = await api("GET", `/v1/projects/${project}/audit?limit=100`, { token: key });
    const actions = new Set((auditLog.body.entries as { action: string }[]).map((e) => e.action));
    for (const action of ["export.created", "export.updated", "export.resumed", "notification.created", "notification.updated", "key.created", "key.revoked"]) expect(actions).toContain(action);

    // What the webhooks received: bodies (byte for byte) and headers. Positive control: the events are there.
    const delivered = await hookRequests(hookNs);
    const types = delivered.map((d) => JSON.parse(d.bodyText ?? "{}").type ?? "slack");
    expect(types).toEqual(expect.arrayContaining(["export.failing", "export.recovered", "export.paused"]));
    expect(delivered.filter((d) => d.path.includes("/slack/")).length).toBeGreaterThanOrEqual(3);
    const webhookLeaks = delivered.flatMap((d, i) => [
      ...leaksIn(`webhook delivery ${i} body`, d.bodyText ?? "", needles),
      ...leaksIn(`webhook delivery ${i} headers`, JSON.stringify(d.headers), needles),
    ]);
    // The destination's echoed headers did reach the bodies, as names with "[redacted]" values.
    expect(delivered.some((d) => (d.bodyText ?? "").includes("[redacted]"))).toBe(true);

    // The raw audit rows (storageLeaks scans every table too; these are named here so the scan is seen to cover them).
    const auditRows = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT * FROM audit_log").toArray());
    expect(auditRows.length).toBe(auditLog.body.entries.length);
    const leaks = [
      ...responseLeaks(needles),
      ...trace.logs.flatMap((line) => leaksIn("log", line, needles)),
      ...(await storageLeaks([project], needles)),
      ...webhookLeaks,
      ...leaksIn("audit_log rows", JSON.stringify(auditRows), needles),
    ];
    expect(leaks).toEqual([]);
    expect(trace.responses.length).toBeGreaterThan(40);

    // Erasing the configuration erases the sealed values.
    expect((await api("DELETE", path, { token: key })).status).toBe(204);
    const rows = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM export_headers").one().n);
    expect(rows).toBe(0);
    expect([...responseLeaks(needles), ...(await storageLeaks([project], needles))]).toEqual([]);
    await reset(ns);
    await reset(hookNs);
  });

  // A JSON error body escapes `"` and `\`, so an echoed value containing them no longer matches the
  // configured value verbatim; the token inside it must be redacted all the same.
  it("stay redacted when a destination echoes them JSON-escaped", async () => {
    const token = randomToken();
    const planted: Planted[] = [{ name: "X-Api-Key", value: `${token}"q\\s`, parts: [token] }];
    const t = await configured(planted);
    await script(t.ns, [{ status: 400, echoHeaders: true }]);
    const tested = await api("POST", `${exportPath(t.project)}/test`, { token: t.key });
    expect(tested.body.http_status).toBe(400);
    expect(tested.body.response_excerpt).toContain('"x-api-key":');
    await script(t.ns, [{ status: 400, echoHeaders: true }]);
    expect((await api("POST", `${exportPath(t.project)}/flush`, { token: t.key })).body.ok).toBe(false);
    await api("GET", exportPath(t.project), { token: t.key });
    const needles = needlesOf(planted);
    expect([...responseLeaks(needles), ...(await storageLeaks([t.project], needles))]).toEqual([]);
  });

  // Grafana Cloud's credentials are `Authorization: Basic base64(instance:token)`; a destination
  // that decodes them and quotes the token in its refusal must not reveal it either.
  it("stay redacted when a destination quotes the decoded Basic credentials", async () => {
    const token = randomToken();
    const planted: Planted[] = [{ name: "Authorization", value: `Basic ${btoa(`987654:${token}`)}`, parts: [`987654:${token}`, token] }];
    const t = await configured(planted);
    await script(t.ns, [{ status: 401, body: `{"status":"error","error":"authentication error: invalid token ${token} for instance 987654"}` }]);
    const tested = await api("POST", `${exportPath(t.project)}/test`, { token: t.key });
    expect(tested.body.classification).toBe("unauthorized");
    expect(tested.body.response_excerpt).toContain("for instance 987654");
    const needles = needlesOf(planted);
    expect([...responseLeaks(needles), ...(await storageLeaks([t.project], needles))]).toEqual([]);
  });
  // Echoes the exact-match masking used to miss (issue 9, item 3): each form is served in a 401 body
  // (Test Connection), a 400 body (a push's last_error) and a partial-success message (status.warning).
  it.each<[string, (v: string) => string]>([
    ["lower-cased", (v) => v.toLowerCase()],
    ["lower-case percent-encoded", (v) => Array.from(v, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")],
    ["HTML entities", (v) => Array.from(v, (c) => `&#${c.charCodeAt(0)};`).join("")],
    ["\\u escapes", (v) => Array.from(v, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")],
    ["base64", (v) => btoa(`k=${v}`)],
    ["hex", (v) => toHex(utf8.encode(v))],
    ["split by newlines", (v) => v.replace(/(.{4})/g, "$1\n")],
    ["truncated", (v) => `${v.slice(0, 14)}…`],
  ])("stay hidden when a destination echoes them %s", async (_label, encode) => {
    const token = randomToken();
    const planted: Planted[] = [{ name: "Authorization", value: `Bearer ${token}`, parts: [token] }];
    const t = await configured(planted);
    const echo = `invalid credentials: ${encode(planted[0]!.value)} (request 42)`;
    await script(t.ns, [{ status: 401, body: echo }]);
    const tested = await api("POST", `${exportPath(t.project)}/test`, { token: t.key });
    expect(tested.body.classification).toBe("unauthorized");
    await script(t.ns, [{ status: 400, body: echo }]);
    expect((await api("POST", `${exportPath(t.project)}/flush`, { token: t.key })).body.ok).toBe(false);
    await script(t.ns, [{ partialSuccess: { rejectedDataPoints: 1, errorMessage: echo } }]);
    expect((await api("POST", `${exportPath(t.project)}/flush`, { token: t.key })).body.ok).toBe(true);
    const view = await api("GET", exportPath(t.project), { token: t.key });
    expect(view.body.status.warning).toMatch(/rejected 1 data point/);
    const shown = [tested.text, view.text].join("\n");
    // The token's runs of 8, in every encoding this test applied, appear nowhere we answered or stored.
    const runs = Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
    for (const run of runs) {
      for (const form of [run, encode(run)].filter((f) => f.length >= 8)) {
        expect(shown.toLowerCase()).not.toContain(form.toLowerCase());
      }
    }
    expect([...responseLeaks(needlesOf(planted)), ...(await storageLeaks([t.project], needlesOf(planted)))]).toEqual([]);
  });
});

// --- sealing -----------------------------------------------------------------------------------------

interface StoredRow {
  name: string;
  position: number;
  key_version: string;
  iv: number[];
  ciphertext: number[];
}

async function storedRows(project: string): Promise<StoredRow[]> {
  return runInDurableObject(projectStub(project), (_i, state) =>
    state.storage.sql
      .exec<{ name: string; position: number; key_version: string; iv: ArrayBuffer; ciphertext: ArrayBuffer }>(
        "SELECT name, position, key_version, iv, ciphertext FROM export_headers ORDER BY position",
      )
      .toArray()
      .map((r) => ({ ...r, iv: [...new Uint8Array(r.iv)], ciphertext: [...new Uint8Array(r.ciphertext)] })),
  );
}

async function replaceRows(project: string, rows: StoredRow[]): Promise<void> {
  await runInDurableObject(projectStub(project), (_i, state) => {
    state.storage.sql.exec("DELETE FROM export_headers");
    for (const r of rows) {
      state.storage.sql.exec(
        "INSERT INTO export_headers (export_id, name, position, key_version, iv, ciphertext) VALUES ('default', ?, ?, ?, ?, ?)",
        r.name,
        r.position,
        r.key_version,
        new Uint8Array(r.iv),
        new Uint8Array(r.ciphertext),
      );
    }
  });
}

describe("sealed header values", () => {
  it("differ for equal values: fresh IV and ciphertext per header and per save", async () => {
    const value = randomToken();
    const t = await configured([
      { name: "X-First", value },
      { name: "X-Second", value },
    ]);
    const [first, second] = await storedRows(t.project);
    expect(first!.iv).toHaveLength(12);
    expect(first!.iv).not.toEqual(second!.iv);
    expect(first!.ciphertext).not.toEqual(second!.ciphertext);
    // AES-GCM: plaintext length + 16-byte tag; nothing else rides along.
    expect(first!.ciphertext).toHaveLength(utf8.encode(value).length + 16);

    await api("PUT", exportPath(t.project), { token: t.key, body: { endpoint: receiverUrl(t.ns), headers: [{ name: "X-First", value }] } });
    const [again] = await storedRows(t.project);
    expect(again!.iv).not.toEqual(first!.iv);
    expect(again!.ciphertext).not.toEqual(first!.ciphertext);
  });

  // Each way a stored value can stop opening: the push and Test Connection report it and send
  // nothing, never a request without the credentials.
  const tampering: { name: string; tamper: (project: string, other: string) => Promise<void> }[] = [
    {
      name: "a tampered IV",
      tamper: (project) =>
        runInDurableObject(projectStub(project), (_i, state) => {
          state.storage.sql.exec("UPDATE export_headers SET iv = ?", new Uint8Array(12).fill(7));
        }),
    },
    {
      name: "a tampered ciphertext (one bit)",
      tamper: async (project) => {
        const rows = await storedRows(project);
        await replaceRows(project, rows.map((r) => ({ ...r, ciphertext: r.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) })));
      },
    },
    {
      name: "a truncated ciphertext (no tag)",
      tamper: async (project) => {
        const rows = await storedRows(project);
        await replaceRows(project, rows.map((r) => ({ ...r, ciphertext: r.ciphertext.slice(0, -16) })));
      },
    },
    {
      name: "a key version that is not configured",
      tamper: (project) =>
        runInDurableObject(projectStub(project), (_i, state) => {
          state.storage.sql.exec("UPDATE export_headers SET key_version = ?", "0123456789abcdef");
        }),
    },
    {
      name: "another project's rows (sealed under its key)",
      tamper: async (project, other) => replaceRows(project, await storedRows(other)),
    },
  ];

  for (const { name, tamper } of tampering) {
    it(`fail closed with credentials_unreadable after ${name}: nothing is sent`, async () => {
      const headers = [
        { name: "Authorization", value: `Bearer ${randomToken()}` },
        { name: "DD-API-KEY", value: randomToken() },
      ];
      const t = await configured(headers);
      const other = await configured(headers.map((h) => ({ name: h.name, value: randomToken() })));
      await tamper(t.project, other.project);
      const path = exportPath(t.project);

      const flushed = await api("POST", `${path}/flush`, { token: t.key });
      expect(flushed.status).toBe(200);
      expect(flushed.body).toMatchObject({ ok: false, requests: 0, attempts: 0, data_points: 0, error: { classification: "credentials_unreadable", http_status: null } });
      const status = (await api("GET", path, { token: t.key })).body.status;
      expect(status.state).toBe("failing");
      expect(status.last_error).toMatchObject({ classification: "credentials_unreadable", http_status: null });
      expect(status.last_error.hint).toMatch(/Enter the headers again/);

      for (const body of [undefined, { headers: [{ name: "Authorization" }, { name: "DD-API-KEY" }] }]) {
        const tested = await api("POST", `${path}/test`, { token: t.key, ...(body ? { body } : {}) });
        expect(tested.status).toBe(200);
        expect(tested.body).toMatchObject({ ok: false, http_status: null, classification: "credentials_unreadable", response_excerpt: "" });
      }

      // The scheduled push too: resume makes it due now.
      expect((await api("POST", `${path}/resume`, { token: t.key })).status).toBe(200);
      await runDurableObjectAlarm(projectStub(t.project));
      await vi.waitFor(async () => expect((await api("GET", path, { token: t.key })).body.status.totals.pushes_failed).toBe(2));
      expect((await api("GET", path, { token: t.key })).body.status.last_error.classification).toBe("credentials_unreadable");

      expect(await requestCount(t.ns)).toBe(0);
      // Other projects are unaffected: the donor still pushes with its own values.
      expect((await api("POST", `${exportPath(other.project)}/flush`, { token: other.key })).body.ok).toBe(true);
      expect(await requestCount(other.ns)).toBe(1);
      const needles = needlesOf(headers.map((h) => ({ ...h, parts: [] })));
      expect([...responseLeaks(needles), ...trace.logs.flatMap((l) => leaksIn("log", l, needles))]).toEqual([]);
    });
  }

  it("an untampered value opens and is sent as configured (the control for the tampering above)", async () => {
    const value = randomToken();
    const t = await configured([{ name: "X-Api-Key", value }]);
    expect((await api("POST", `${exportPath(t.project)}/flush`, { token: t.key })).body.ok).toBe(true);
    expect((await requests(t.ns))[0]!.headers["x-api-key"]).toBe(value);
  });
});
