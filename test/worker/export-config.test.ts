/**
 * GET/PUT/PATCH/DELETE/resume of …/metrics-export: defaults, header retention, enable/disable,
 * erasure, warnings, secrecy of header values, and the validation table of issue 2 item 8.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { HeaderCipher } from "../../src/crypto/header-crypto";
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "../../src/export/metric-definitions";
import { call, createProject, projectStub, type ApiResponse } from "./helpers";
import { scheduledPushAt } from "./fault-helpers";

const MASTER_KEY = Uint8Array.from(atob(env.HEADER_ENCRYPTION_KEY), (c) => c.charCodeAt(0));

const exportPath = (project: string) => `/v1/projects/${project}/metrics-export`;

interface StoredHeader {
  name: string;
  origin: string | null;
  key_version: string;
  iv: ArrayBuffer;
  ciphertext: ArrayBuffer;
}

async function storedHeaders(project: string): Promise<StoredHeader[]> {
  return runInDurableObject(projectStub(project), (_instance, state) =>
    state.storage.sql.exec<StoredHeader & Record<string, SqlStorageValue>>("SELECT name, origin, key_version, iv, ciphertext FROM export_headers ORDER BY position").toArray(),
  );
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Opens a stored header value the way the object does, from the raw row. */
async function openStored(project: string, header: StoredHeader): Promise<string> {
  const cipher = await HeaderCipher.forProject(project, MASTER_KEY, null);
  const opened = await cipher.open({ exportId: "default", headerName: header.name, origin: header.origin }, { keyVersion: header.key_version, iv: new Uint8Array(header.iv), ciphertext: new Uint8Array(header.ciphertext) });
  if (!opened.ok) throw new Error(opened.message);
  return opened.value;
}

/** Everything stored about the export, raw, plus what GET shows. */
async function exportSnapshot(project: string): Promise<unknown> {
  const raw = await runInDurableObject(projectStub(project), (_instance, state) => {
    const sql = state.storage.sql;
    return {
      config: sql.exec("SELECT * FROM export_config").toArray(),
      headers: sql.exec("SELECT name, position, key_version, hex(iv) AS iv, hex(ciphertext) AS ct FROM export_headers ORDER BY position").toArray(),
      status: sql.exec("SELECT * FROM export_status").toArray(),
    };
  });
  const view = await call("GET", exportPath(project));
  expect(view.status).toBe(200);
  return { raw, view: view.body };
}

function alarmOf(project: string): Promise<number | null> {
  return runInDurableObject(projectStub(project), (_instance, state) => state.storage.getAlarm());
}

async function put(project: string, body: unknown): Promise<ApiResponse> {
  const r = await call("PUT", exportPath(project), { body });
  expect(r.status, r.text).toBe(200);
  return r;
}

function expectError(r: ApiResponse, status: number, code: string, mentions: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
  expect(r.body.error.message).toContain(mentions);
}

let fetchSpy: MockInstance<typeof fetch>;

beforeEach(() => {
  // Configuration routes never reach the network; Test Connection gets an explicit 200 stub.
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 200 }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GET before any configuration", () => {
  it("shows an unconfigured export with no headers", async () => {
    const project = await createProject();
    const r = await call("GET", exportPath(project));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      configured: false,
      enabled: false,
      destination: null,
      endpoint: null,
      headers: [],
      protocol: null,
      compression: null,
      temporality: null,
      status: {
        state: "unconfigured",
        last_success_at: null,
        last_attempt_at: null,
        last_error: null,
        consecutive_failures: 0,
        paused_at: null,
      },
    });
  });
});

describe("PUT defaults", () => {
  it.each([
    [undefined, "custom", "cumulative"],
    ["grafana_cloud", "grafana_cloud", "cumulative"],
    ["datadog", "datadog", "delta"],
    ["prometheus", "prometheus", "cumulative"],
    ["custom", "custom", "cumulative"],
  ])("destination %s → %s, %s temporality, protobuf, gzip, enabled", async (destination, storedDestination, temporality) => {
    const project = await createProject();
    const body = destination === undefined ? { endpoint: "https://otlp.example.com/otlp" } : { endpoint: "https://otlp.example.com/otlp", destination };
    const r = await put(project, body);
    const expected = {
      configured: true,
      enabled: true,
      destination: storedDestination,
      endpoint: "https://otlp.example.com/otlp",
      headers: [],
      protocol: "http/protobuf",
      compression: "gzip",
      temporality,
      histogram_bounds_ms: [...DEFAULT_HISTOGRAM_BOUNDS_MS],
      status: { state: "pending", last_success_at: null, last_attempt_at: null, last_error: null, consecutive_failures: 0, paused_at: null },
    };
    expect(r.body).toMatchObject({ ...expected, warnings: [] });
    const { warnings: _warnings, ...view } = r.body;
    const get = await call("GET", exportPath(project));
    expect(get.body).toEqual(view);
    expect(get.body.status.next_push_at).toEqual(expect.any(String));
    expect(await alarmOf(project)).toBe(Date.parse(get.body.status.next_push_at));
  });

  it("stores every field given explicitly, overriding the destination's defaults", async () => {
    const project = await createProject();
    const r = await put(project, {
      endpoint: "https://api.datadoghq.com",
      destination: "datadog",
      temporality: "cumulative",
      protocol: "http/json",
      compression: "none",
      enabled: false,
      histogram_bounds_ms: [5, 10, 20.5],
      headers: [{ name: "DD-API-KEY", value: "dd-explicit-value" }],
    });
    expect(r.body).toMatchObject({
      configured: true,
      enabled: false,
      destination: "datadog",
      temporality: "cumulative",
      protocol: "http/json",
      compression: "none",
      histogram_bounds_ms: [5, 10, 20.5],
      headers: [{ name: "DD-API-KEY" }],
      status: { state: "disabled", next_push_at: null },
    });
    expect(await scheduledPushAt(project)).toBeNull();
  });

  it("histogram_bounds_ms: null resets to the default bounds", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", histogram_bounds_ms: [1, 2] });
    const r = await put(project, { endpoint: "https://otlp.example.com", histogram_bounds_ms: null });
    expect(r.body.histogram_bounds_ms).toEqual([...DEFAULT_HISTOGRAM_BOUNDS_MS]);
  });
});

describe("PUT headers", () => {
  it("a header without value keeps the stored value (same ciphertext) on a new path of the same origin; headers not listed are removed", async () => {
    const project = await createProject();
    await put(project, {
      endpoint: "https://otlp-gateway.example.net/otlp",
      headers: [
        { name: "Authorization", value: "Basic a2VlcC1tZS1zZWNyZXQ=" },
        { name: "X-Scope-OrgID", value: "tenant-to-remove" },
      ],
    });
    const [auth] = await storedHeaders(project);
    const r = await put(project, { endpoint: "https://otlp-gateway.example.net:443/v2/otlp", headers: [{ name: "Authorization" }] });
    expect(r.body.endpoint).toBe("https://otlp-gateway.example.net:443/v2/otlp");
    expect(r.body.headers).toEqual([{ name: "Authorization" }]);
    const after = await storedHeaders(project);
    expect(after).toHaveLength(1);
    expect(after[0]!.name).toBe("Authorization");
    expect(hex(after[0]!.ciphertext)).toBe(hex(auth!.ciphertext));
    expect(hex(after[0]!.iv)).toBe(hex(auth!.iv));
    expect(await openStored(project, after[0]!)).toBe("Basic a2VlcC1tZS1zZWNyZXQ=");
  });

  it("a header without value under a differently-cased name keeps the value under the new name", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "x-api-key", value: "renamed-header-value" }] });
    const r = await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key" }] });
    expect(r.body.headers).toEqual([{ name: "X-Api-Key" }]);
    const [stored] = await storedHeaders(project);
    expect(stored!.name).toBe("X-Api-Key");
    expect(await openStored(project, stored!)).toBe("renamed-header-value");
  });

  it("a new value replaces the stored one", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "old-value-1" }] });
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "new-value-2" }] });
    const [stored] = await storedHeaders(project);
    expect(await openStored(project, stored!)).toBe("new-value-2");
  });

  it("PUT without headers removes every stored header", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "to-be-removed" }] });
    const r = await put(project, { endpoint: "https://otlp.example.com" });
    expect(r.body.headers).toEqual([]);
    expect(await storedHeaders(project)).toEqual([]);
  });

  it("a header without value when none is stored → 400 naming headers[0].value, nothing changes", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", enabled: false, headers: [{ name: "X-Other", value: "other-value" }] });
    const before = await exportSnapshot(project);
    const r = await call("PUT", exportPath(project), { body: { endpoint: "https://changed.example.com", headers: [{ name: "X-Api-Key" }] } });
    expectError(r, 400, "invalid_request", "headers[0].value");
    expect(await exportSnapshot(project)).toEqual(before);
  });

  it("keeps the header order given", async () => {
    const project = await createProject();
    const names = ["X-C", "X-A", "X-B"];
    const r = await put(project, { endpoint: "https://otlp.example.com", headers: names.map((name) => ({ name, value: `v-${name}` })) });
    expect(r.body.headers).toEqual(names.map((name) => ({ name })));
    expect((await storedHeaders(project)).map((h) => h.name)).toEqual(names);
  });
});

describe("PATCH", () => {
  it('{"enabled": false} preserves the configuration and credentials; GET shows "disabled"', async () => {
    const project = await createProject();
    await put(project, {
      endpoint: "https://otlp.example.com/otlp",
      destination: "grafana_cloud",
      headers: [{ name: "Authorization", value: "Basic cGF0Y2gtcHJlc2VydmVk" }],
      histogram_bounds_ms: [10, 100],
    });
    const headersBefore = await storedHeaders(project);
    const r = await call("PATCH", exportPath(project), { body: { enabled: false } });
    expect(r.status).toBe(200);
    const get = await call("GET", exportPath(project));
    expect(get.body).toMatchObject({
      configured: true,
      enabled: false,
      destination: "grafana_cloud",
      endpoint: "https://otlp.example.com/otlp",
      headers: [{ name: "Authorization" }],
      temporality: "cumulative",
      histogram_bounds_ms: [10, 100],
      status: { state: "disabled", next_push_at: null },
    });
    const headersAfter = await storedHeaders(project);
    expect(headersAfter.map((h) => [h.name, hex(h.iv), hex(h.ciphertext)])).toEqual(headersBefore.map((h) => [h.name, hex(h.iv), hex(h.ciphertext)]));
    expect(await openStored(project, headersAfter[0]!)).toBe("Basic cGF0Y2gtcHJlc2VydmVk");
    expect(await scheduledPushAt(project)).toBeNull();

    const enabled = await call("PATCH", exportPath(project), { body: { enabled: true } });
    expect(enabled.body.status.state).toBe("pending");
    expect(await alarmOf(project)).toEqual(expect.any(Number));
  });

  it("when nothing is configured → 409 export_not_configured, and it stays unconfigured", async () => {
    const project = await createProject();
    const r = await call("PATCH", exportPath(project), { body: { enabled: false } });
    expectError(r, 409, "export_not_configured", "PUT");
    expect((await call("GET", exportPath(project))).body.status.state).toBe("unconfigured");
  });

  it("a destination change without temporality takes that destination's default; an explicit one wins", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", destination: "grafana_cloud" });
    expect((await call("PATCH", exportPath(project), { body: { destination: "datadog" } })).body.temporality).toBe("delta");
    expect((await call("PATCH", exportPath(project), { body: { destination: "prometheus" } })).body.temporality).toBe("cumulative");
    expect((await call("PATCH", exportPath(project), { body: { destination: "datadog", temporality: "cumulative" } })).body.temporality).toBe(
      "cumulative",
    );
  });

  it("headers in a PATCH replace the list (values kept by name); without headers they stay", async () => {
    const project = await createProject();
    await put(project, {
      endpoint: "https://otlp.example.com",
      headers: [
        { name: "X-Keep", value: "kept-by-name" },
        { name: "X-Drop", value: "dropped" },
      ],
    });
    await call("PATCH", exportPath(project), { body: { endpoint: "https://otlp2.example.com" } });
    expect((await storedHeaders(project)).map((h) => h.name)).toEqual(["X-Keep", "X-Drop"]);
    const r = await call("PATCH", exportPath(project), { body: { headers: [{ name: "X-Keep" }, { name: "X-New", value: "new-one" }] } });
    expect(r.body.headers).toEqual([{ name: "X-Keep" }, { name: "X-New" }]);
    const stored = await storedHeaders(project);
    expect(await openStored(project, stored[0]!)).toBe("kept-by-name");
    expect(await openStored(project, stored[1]!)).toBe("new-one");
  });
});

describe("DELETE", () => {
  it("answers 204 and erases configuration and credentials; GET shows unconfigured with no headers", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "erase-me-please" }] });
    const r = await call("DELETE", exportPath(project));
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    const get = await call("GET", exportPath(project));
    expect(get.body).toMatchObject({ configured: false, enabled: false, endpoint: null, headers: [], status: { state: "unconfigured" } });
    const raw = await runInDurableObject(projectStub(project), (_i, state) => ({
      config: state.storage.sql.exec("SELECT COUNT(*) AS n FROM export_config").one().n,
      headers: state.storage.sql.exec("SELECT COUNT(*) AS n FROM export_headers").one().n,
    }));
    expect(raw).toEqual({ config: 0, headers: 0 });
    expect(await alarmOf(project)).toBeNull();
    // The erased value cannot be kept by name any more.
    const keep = await call("PUT", exportPath(project), { body: { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key" }] } });
    expectError(keep, 400, "invalid_request", "headers[0].value");
  });

  it("is harmless when nothing is configured (204)", async () => {
    const project = await createProject();
    expect((await call("DELETE", exportPath(project))).status).toBe(204);
    expect((await call("GET", exportPath(project))).body.status.state).toBe("unconfigured");
  });
});

describe("resume", () => {
  async function pauseAfterFailures(project: string, atMs: number): Promise<void> {
    const lastError = JSON.stringify({ at: atMs, httpStatus: 503, classification: "server_error", message: "HTTP 503", hint: "retry later" });
    await runInDurableObject(projectStub(project), async (_i, state) => {
      state.storage.sql.exec(
        "UPDATE export_status SET consecutive_failures = 10, paused_at = ?, last_attempt_at = ?, last_error = ?, next_push_at = NULL",
        atMs,
        atMs,
        lastError,
      );
      await state.storage.deleteAlarm();
    });
  }

  it("when nothing is configured → 409 export_not_configured", async () => {
    const project = await createProject();
    expectError(await call("POST", `${exportPath(project)}/resume`), 409, "export_not_configured", "configured");
    expect((await call("GET", exportPath(project))).body.status.state).toBe("unconfigured");
  });

  it("re-enables a paused export: failure count reset, pause cleared, a push scheduled", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "resume-keeps-me" }] });
    const headersBefore = await storedHeaders(project);
    await pauseAfterFailures(project, Date.now() - 60_000);
    expect((await call("GET", exportPath(project))).body.status).toMatchObject({ state: "paused", consecutive_failures: 10 });

    const r = await call("POST", `${exportPath(project)}/resume`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ enabled: true, status: { consecutive_failures: 0, paused_at: null } });
    expect(r.body.status.state).not.toBe("paused");
    expect(await alarmOf(project)).toEqual(expect.any(Number));
    const headersAfter = await storedHeaders(project);
    expect(headersAfter.map((h) => hex(h.ciphertext))).toEqual(headersBefore.map((h) => hex(h.ciphertext)));
  });

  it('after resuming a paused export, state is not "connected" until a push succeeds', async () => {
    // Every push before the pause failed; nothing has been delivered since. Reporting "connected"
    // would tell the user the destination works when the last attempt failed.
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com" });
    await pauseAfterFailures(project, Date.now() - 60_000);
    const r = await call("POST", `${exportPath(project)}/resume`);
    expect(r.status).toBe(200);
    expect(r.body.status.last_error).not.toBeNull();
    // README: "pending" also means "resumed, nothing sent yet" (the failure count starts over).
    expect(r.body.status).toMatchObject({ state: "pending", consecutive_failures: 0 });
  });

  it("enables a disabled export", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", enabled: false });
    const r = await call("POST", `${exportPath(project)}/resume`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ enabled: true, status: { state: "pending" } });
  });
});

describe("warnings", () => {
  it("PUT with an http:// endpoint returns a warning about plain http", async () => {
    const project = await createProject();
    const r = await put(project, { endpoint: "http://prometheus.example.com:9090/api/v1/otlp", destination: "prometheus" });
    expect(r.body.warnings).toHaveLength(1);
    expect(r.body.warnings[0]).toMatch(/plain http/);
  });

  it("PUT with an https:// endpoint returns no warning", async () => {
    const project = await createProject();
    const r = await put(project, { endpoint: "https://prometheus.example.com/api/v1/otlp" });
    expect(r.body.warnings).toEqual([]);
  });

  it("PATCH to an http:// endpoint returns the warning", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com" });
    const r = await call("PATCH", exportPath(project), { body: { endpoint: "http://otlp.example.com:4318" } });
    expect(r.status).toBe(200);
    expect(r.body.warnings).toHaveLength(1);
  });

  it("GET carries no warnings field", async () => {
    const project = await createProject();
    await put(project, { endpoint: "http://otlp.example.com" });
    expect((await call("GET", exportPath(project))).body).not.toHaveProperty("warnings");
  });
});

describe("private endpoints when ALLOW_PRIVATE_ENDPOINTS is \"true\" (the test environment)", () => {
  it.each([
    "http://127.0.0.1:4318",
    "http://localhost:4318/otlp",
    "http://[::1]:4318",
    "http://10.0.0.7:4318",
    "http://192.168.1.20:9090/api/v1/otlp",
    "http://169.254.169.254/",
    "http://[fd12:3456::1]/",
  ])("accepts %s", async (endpoint) => {
    const project = await createProject();
    const r = await put(project, { endpoint });
    expect(r.body.endpoint).toBe(endpoint);
    expect(r.body.warnings).toHaveLength(1);
  });
});

describe("header values never appear in a response", () => {
  it("across PUT, GET, PATCH, resume, test, flush, preview and error responses", async () => {
    const secrets = ["Bearer glc_VALUE_ONE_7f3a9c", "dd-VALUE-TWO-0b1e2d", "VALUE_THREE_kept_by_name"];
    const project = await createProject();
    const path = exportPath(project);
    const texts: string[] = [];
    const record = (r: ApiResponse) => {
      texts.push(r.text);
      return r;
    };
    record(
      await call("PUT", path, {
        body: {
          endpoint: "https://otlp.example.com",
          headers: [
            { name: "Authorization", value: secrets[0] },
            { name: "DD-API-KEY", value: secrets[1] },
            { name: "X-Kept", value: secrets[2] },
          ],
        },
      }),
    );
    record(await call("GET", path));
    record(await call("PUT", path, { body: { endpoint: "https://otlp.example.com", headers: [{ name: "X-Kept" }, { name: "Authorization" }] } }));
    record(await call("PATCH", path, { body: { enabled: false } }));
    record(await call("POST", `${path}/resume`));
    record(await call("POST", `${path}/test`));
    record(await call("POST", `${path}/flush`));
    record(await call("GET", `${path}/preview`));
    // Errors about a value must not echo it.
    record(await call("PUT", path, { body: { endpoint: "https://otlp.example.com", headers: [{ name: "X-Bad", value: `${secrets[0]}\r\nX-Injected: 1` }] } }));
    record(await call("PUT", path, { body: { endpoint: "https://otlp.example.com", headers: [{ name: "X-Long", value: `${secrets[1]}${"x".repeat(4096)}` }] } }));
    record(await call("PUT", path, { body: { endpoint: "ftp://otlp.example.com", headers: [{ name: "X-Api-Key", value: secrets[2] }] } }));
    expect(texts.filter((t) => t.length > 0)).toHaveLength(11);
    for (const text of texts) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    // The test connection did send them, to the destination only.
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const sent = new Headers(fetchSpy.mock.calls[0]![1]?.headers);
    expect(sent.get("authorization")).toBe(secrets[0]);
    expect(sent.get("x-kept")).toBe(secrets[2]);
    expect(sent.get("dd-api-key")).toBeNull();
  });
});

// --- The validation table (issue 2, item 8) --------------------------------------------------------

interface Row {
  label: string;
  method?: "PUT" | "PATCH" | "POST /test";
  body?: unknown;
  raw?: { body: BodyInit; headers: Record<string, string> };
  status?: number;
  code?: string;
  /** Text the message must contain: the field it names. */
  field: string;
}

const OK_ENDPOINT = "https://otlp.example.com/otlp";
const withHeaders = (headers: unknown): unknown => ({ endpoint: OK_ENDPOINT, headers });
const withHeader = (name: unknown, value: unknown = "v"): unknown => withHeaders([{ name, value }]);
const withBounds = (bounds: unknown): unknown => ({ endpoint: OK_ENDPOINT, histogram_bounds_ms: bounds });
const endpointOf = (endpoint: unknown): unknown => ({ endpoint });
const json = (body: string, headers: Record<string, string> = { "content-type": "application/json" }) => ({ body, headers });

const RESERVED = ["host", "content-length", "content-type", "content-encoding", "transfer-encoding", "connection", "te", "upgrade", "keep-alive", "proxy-connection", "trailer", "expect", "http2-settings"];

const ROWS: Row[] = [
  // endpoint
  { label: "endpoint missing", body: {}, field: "endpoint" },
  { label: "endpoint not a string", body: endpointOf(4318), field: "endpoint" },
  { label: "endpoint empty", body: endpointOf(""), field: "endpoint" },
  { label: "endpoint relative path", body: endpointOf("/v1/metrics"), field: "endpoint" },
  { label: "endpoint without scheme", body: endpointOf("otlp.example.com/otlp"), field: "endpoint" },
  { label: "endpoint ftp:", body: endpointOf("ftp://otlp.example.com/otlp"), field: "endpoint" },
  { label: "endpoint file:", body: endpointOf("file:///etc/passwd"), field: "endpoint" },
  { label: "endpoint javascript:", body: endpointOf("javascript:alert(1)"), field: "endpoint" },
  { label: "endpoint data:", body: endpointOf("data:text/plain,hi"), field: "endpoint" },
  { label: "endpoint with user:password", body: endpointOf("https://user:pass@otlp.example.com/otlp"), field: "endpoint" },
  { label: "endpoint with user only", body: endpointOf("https://user@otlp.example.com/otlp"), field: "endpoint" },
  { label: "endpoint with empty user info", body: endpointOf("https://@otlp.example.com/otlp"), field: "endpoint" },
  { label: "endpoint with fragment", body: endpointOf("https://otlp.example.com/otlp#frag"), field: "endpoint" },
  { label: "endpoint with empty fragment", body: endpointOf("https://otlp.example.com/otlp#"), field: "endpoint" },
  { label: "endpoint of 2049 characters", body: endpointOf(`https://otlp.example.com/${"a".repeat(2049 - 25)}`), field: "endpoint" },
  { label: "endpoint with a space", body: endpointOf("https://otlp.example.com/ otlp"), field: "endpoint" },
  { label: "endpoint with surrounding spaces", body: endpointOf(" https://otlp.example.com/otlp"), field: "endpoint" },
  // header names
  { label: "header name with a space", body: withHeader("X Api Key"), field: "headers[0].name" },
  { label: "header name with a colon", body: withHeader("X-Api-Key:"), field: "headers[0].name" },
  { label: "header name non-ASCII", body: withHeader("X-Ключ"), field: "headers[0].name" },
  { label: "header name empty", body: withHeader(""), field: "headers[0].name" },
  { label: "header name not a string", body: withHeader(7), field: "headers[0].name" },
  { label: "header name missing", body: withHeaders([{ value: "v" }]), field: "headers[0].name" },
  { label: "header name of 129 characters", body: withHeader("X".repeat(129)), field: "headers[0].name" },
  ...RESERVED.map((name) => ({ label: `reserved header name ${name}`, body: withHeader(name), field: "headers[0].name" })),
  { label: "reserved header name in mixed case (Content-Type)", body: withHeader("Content-Type"), field: "headers[0].name" },
  {
    label: "duplicate header names, case-insensitively",
    body: withHeaders([
      { name: "X-Api-Key", value: "a" },
      { name: "x-api-key", value: "b" },
    ]),
    field: "headers[1].name",
  },
  // header values
  { label: "header value of 4097 characters", body: withHeader("X-Api-Key", "v".repeat(4097)), field: "headers[0].value" },
  { label: "header value with CR", body: withHeader("X-Api-Key", "a\rb"), field: "headers[0].value" },
  { label: "header value with LF", body: withHeader("X-Api-Key", "a\nb"), field: "headers[0].value" },
  { label: "header value with NUL", body: withHeader("X-Api-Key", "a\u0000b"), field: "headers[0].value" },
  { label: "header value smuggling a header (CRLF)", body: withHeader("X-Api-Key", "a\r\nX-Evil: 1"), field: "headers[0].value" },
  { label: "header value only spaces", body: withHeader("X-Api-Key", "   "), field: "headers[0].value" },
  { label: "header value not a string", body: withHeader("X-Api-Key", 42), field: "headers[0].value" },
  { label: "header with an unknown field", body: withHeaders([{ name: "X-A", value: "v", secret: true }]), field: "headers[0]" },
  // header list
  { label: "17 headers", body: withHeaders(Array.from({ length: 17 }, (_, i) => ({ name: `X-H${i}`, value: "v" }))), field: "headers" },
  { label: "headers not an array", body: withHeaders({ "X-Api-Key": "v" }), field: "headers" },
  // histogram bounds
  { label: "bounds not increasing (equal)", body: withBounds([1, 5, 5]), field: "histogram_bounds_ms[2]" },
  { label: "bounds decreasing", body: withBounds([10, 5]), field: "histogram_bounds_ms[1]" },
  { label: "bound zero", body: withBounds([0, 1]), field: "histogram_bounds_ms[0]" },
  { label: "bound negative", body: withBounds([-1, 2]), field: "histogram_bounds_ms[0]" },
  { label: "65 bounds", body: withBounds(Array.from({ length: 65 }, (_, i) => i + 1)), field: "histogram_bounds_ms" },
  { label: "bounds empty", body: withBounds([]), field: "histogram_bounds_ms" },
  { label: "bound not a number", body: withBounds([1, "2"]), field: "histogram_bounds_ms[1]" },
  { label: "bounds not an array", body: withBounds(5), field: "histogram_bounds_ms" },
  // enumerations and flags
  { label: "unknown destination", body: { endpoint: OK_ENDPOINT, destination: "newrelic" }, field: "destination" },
  { label: "unknown protocol", body: { endpoint: OK_ENDPOINT, protocol: "grpc" }, field: "protocol" },
  { label: "unknown compression", body: { endpoint: OK_ENDPOINT, compression: "zstd" }, field: "compression" },
  { label: "unknown temporality", body: { endpoint: OK_ENDPOINT, temporality: "both" }, field: "temporality" },
  { label: "enabled not a boolean", body: { endpoint: OK_ENDPOINT, enabled: "yes" }, field: "enabled" },
  { label: "unknown field", body: { endpoint: OK_ENDPOINT, interval_seconds: 10 }, field: '"interval_seconds"' },
  // the body itself
  { label: "body over 32 KiB", body: { endpoint: OK_ENDPOINT, padding: "x".repeat(33 * 1024) }, status: 413, code: "payload_too_large", field: "body" },
  { label: "malformed JSON", raw: json('{"endpoint": '), code: "invalid_json", field: "JSON" },
  { label: "empty body", raw: json(""), code: "invalid_json", field: "body" },
  { label: "a JSON array", raw: json("[]"), field: "body must be a JSON object" },
  { label: "a JSON null", raw: json("null"), field: "body must be a JSON object" },
  { label: "text/plain content type", raw: json(JSON.stringify({ endpoint: OK_ENDPOINT }), { "content-type": "text/plain" }), status: 415, code: "unsupported_media_type", field: "Content-Type" },
  { label: "no content type", raw: json(JSON.stringify({ endpoint: OK_ENDPOINT }), {}), status: 415, code: "unsupported_media_type", field: "Content-Type" },
  {
    label: "gzip content encoding",
    raw: json(JSON.stringify({ endpoint: OK_ENDPOINT }), { "content-type": "application/json", "content-encoding": "gzip" }),
    status: 415,
    code: "unsupported_media_type",
    field: "Compressed",
  },
  // PATCH
  { label: "PATCH with no field", method: "PATCH", body: {}, field: "at least one field" },
  { label: "PATCH endpoint ftp:", method: "PATCH", body: { endpoint: "ftp://x.example.com" }, field: "endpoint" },
  { label: "PATCH endpoint null", method: "PATCH", body: { endpoint: null }, field: "endpoint" },
  { label: "PATCH reserved header", method: "PATCH", body: { headers: [{ name: "Host", value: "evil.example.com" }] }, field: "headers[0].name" },
  { label: "PATCH header value with LF", method: "PATCH", body: { headers: [{ name: "X-A", value: "a\nb" }] }, field: "headers[0].value" },
  { label: "PATCH bounds not increasing", method: "PATCH", body: { histogram_bounds_ms: [2, 1] }, field: "histogram_bounds_ms[1]" },
  { label: "PATCH unknown field", method: "PATCH", body: { enabled: true, paused: false }, field: '"paused"' },
  { label: "PATCH malformed JSON", method: "PATCH", raw: json("{enabled: false}"), code: "invalid_json", field: "JSON" },
  { label: "PATCH over 32 KiB", method: "PATCH", body: { endpoint: `https://x.example.com/${"a".repeat(33 * 1024)}` }, status: 413, code: "payload_too_large", field: "body" },
  { label: "PATCH text/plain", method: "PATCH", raw: json('{"enabled":false}', { "content-type": "text/plain" }), status: 415, code: "unsupported_media_type", field: "Content-Type" },
  // Test Connection validates what it is given the same way, and sends nothing.
  { label: "test with endpoint ftp:", method: "POST /test", body: { endpoint: "ftp://x.example.com" }, field: "endpoint" },
  { label: "test with user info", method: "POST /test", body: { endpoint: "https://u:p@x.example.com" }, field: "endpoint" },
  { label: "test with reserved header", method: "POST /test", body: { headers: [{ name: "Content-Length", value: "1" }] }, field: "headers[0].name" },
  { label: "test with unknown field", method: "POST /test", body: { enabled: true }, field: '"enabled"' },
];

describe("validation table: each bad input is refused with the field named and nothing stored", () => {
  let project: string;

  beforeAll(async () => {
    project = await createProject();
    // Disabled, so no alarm moves next_push_at between the snapshots.
    const r = await call("PUT", exportPath(project), {
      body: { endpoint: "https://stored.example.com/otlp", enabled: false, headers: [{ name: "X-Api-Key", value: "stored-value-for-table" }] },
    });
    expect(r.status).toBe(200);
  });

  it.each(ROWS.map((row) => [row.label, row] as const))("%s", async (_label, row) => {
    const before = await exportSnapshot(project);
    const [method, suffix] = row.method === "POST /test" ? ["POST", "/test"] : [row.method ?? "PUT", ""];
    const r = await call(method, exportPath(project) + suffix, row.raw ? { rawBody: row.raw.body, headers: row.raw.headers } : { body: row.body });
    expectError(r, row.status ?? 400, row.code ?? "invalid_request", row.field);
    expect(await exportSnapshot(project)).toEqual(before);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("the table covers every reserved header name of the validation schema", async () => {
    const { RESERVED_HEADER_NAMES } = await import("../../src/validation/export-config");
    expect([...RESERVED_HEADER_NAMES].sort()).toEqual([...RESERVED].sort());
  });
});

describe("limits are inclusive", () => {
  it("accepts an endpoint of 2048 characters, 16 headers, a 128-character name, a 4096-character value, 64 bounds", async () => {
    const project = await createProject();
    const endpoint = `https://otlp.example.com/${"a".repeat(2048 - 25)}`;
    expect(endpoint).toHaveLength(2048);
    const headers = Array.from({ length: 16 }, (_, i) => ({ name: i === 0 ? "X".repeat(128) : `X-H${i}`, value: i === 1 ? "v".repeat(4096) : "v" }));
    const bounds = Array.from({ length: 64 }, (_, i) => (i + 1) * 0.5);
    const r = await put(project, { endpoint, headers, histogram_bounds_ms: bounds });
    expect(r.body.endpoint).toBe(endpoint);
    expect(r.body.headers).toHaveLength(16);
    expect(r.body.histogram_bounds_ms).toEqual(bounds);
    const stored = await storedHeaders(project);
    expect(await openStored(project, stored[1]!)).toBe("v".repeat(4096));
  });
});
