/**
 * The auth matrix: every route × every kind of credential, each row asserting the exact status and
 * error code, and that a refused call changed nothing (no state, no outbound request).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import app from "../../src/index";
import {
  ADMIN,
  call,
  type ApiResponse,
  createIngestKey,
  createProject,
  createProjectKey,
  openSession,
  projectStub,
  sessionHeaders,
  signOut,
  uniqueProjectId,
} from "./helpers";

type Scope = "admin" | "project" | "ingest";

interface Fixture {
  project: string;
  otherProject: string;
  samplesProject: string;
  projectKey: string;
  otherProjectKey: string;
  ingestKey: string;
  hostId: string;
  revokedProjectKey: string;
  revokedIngestKey: string;
  spareKeyId: string;
  /** Session tokens (the page's cookie, src/session.ts) opened by signing in with projectKey / otherProjectKey. */
  session: string;
  otherSession: string;
  /** A session of projectKey that was signed out. */
  signedOutSession: string;
  /** A notification webhook of `project` that every refused call aims at (and must leave as it is). */
  notificationId: string;
}

interface Route {
  method: string;
  /** Path and body of one call; a successful call may need something fresh (a key to revoke). */
  request: (f: Fixture, succeeding: boolean) => Promise<{ path: string; body?: unknown }>;
  scope: Scope;
  success: number;
  /** Brings the project into the state the successful call needs. */
  prepare?: (f: Fixture) => Promise<void>;
  /** What a refused call must leave untouched. */
  snapshot: (f: Fixture) => Promise<unknown>;
  /** Extra checks of a successful call. */
  verify?: (r: ApiResponse) => void;
}

const HTTPS_CONFIG = { endpoint: "https://otlp.example.com/otlp", headers: [{ name: "X-Api-Key", value: "auth-matrix-secret" }] };

async function configure(f: Fixture): Promise<void> {
  const r = await call("PUT", `/v1/projects/${f.project}/metrics-export`, { body: HTTPS_CONFIG });
  expect(r.status).toBe(200);
}

async function adminState(): Promise<unknown> {
  const projects = await env.DB.prepare("SELECT project_id, name FROM projects ORDER BY project_id").all();
  const keys = await env.DB.prepare("SELECT key_id, revoked_at FROM api_keys ORDER BY key_id").all();
  return { projects: projects.results, keys: keys.results };
}

/** The project's stored export configuration and status, minus the alarm-driven next push time. */
async function exportState(f: Fixture): Promise<unknown> {
  return runInDurableObject(projectStub(f.project), (_instance, state) => {
    const sql = state.storage.sql;
    return {
      config: sql.exec("SELECT * FROM export_config").toArray(),
      headers: sql.exec("SELECT name, key_version, hex(iv) AS iv, hex(ciphertext) AS ct FROM export_headers").toArray(),
      status: sql.exec("SELECT consecutive_failures, paused_at, last_attempt_at, last_error FROM export_status").toArray(),
    };
  });
}

async function samplesState(f: Fixture): Promise<unknown> {
  return runInDurableObject(projectStub(f.samplesProject), (_instance, state) =>
    state.storage.sql.exec("SELECT host_id, batch_id, accepted FROM batches ORDER BY batch_id").toArray(),
  );
}

let batchCounter = 0;
function sampleBatch(f: Fixture): unknown {
  batchCounter += 1;
  return {
    host_id: f.hostId,
    batch_id: `auth-batch-${batchCounter}`,
    samples: [
      {
        type: "run",
        project_id: f.samplesProject,
        app_name: "app",
        region: "us-east-1",
        time: Date.now(),
        execution_ms: 10,
        queue_ms: 1,
        response_ms: 12,
        success: true,
      },
    ],
  };
}

const exportPath = (f: Fixture) => `/v1/projects/${f.project}/metrics-export`;
const notificationsPath = (f: Fixture) => `/v1/projects/${f.project}/notifications`;
const WEBHOOK_URL = "https://hooks.example.com/services/auth-matrix";

async function createWebhook(f: Fixture): Promise<string> {
  const r = await call("POST", notificationsPath(f), { body: { url: WEBHOOK_URL, format: "json" } });
  expect(r.status, r.text).toBe(201);
  return r.body.notification_id;
}

/** Deletes every webhook of the project but the standing one (a project has at most 3). */
async function pruneWebhooks(f: Fixture): Promise<void> {
  const list = await call("GET", notificationsPath(f));
  for (const n of list.body.notifications as { notification_id: string }[]) {
    if (n.notification_id !== f.notificationId) expect((await call("DELETE", `${notificationsPath(f)}/${n.notification_id}`)).status).toBe(204);
  }
}

/** The project's webhooks, their queue and quiet-period state, and its audit log. */
async function notificationState(f: Fixture): Promise<unknown> {
  return runInDurableObject(projectStub(f.project), (_instance, state) => {
    const sql = state.storage.sql;
    return {
      notifications: sql.exec("SELECT notification_id, name, format, events, quiet_period_ms, url_redacted, hex(url_ct) AS url, hex(secret_ct) AS secret, updated_at, last_delivery FROM notifications").toArray(),
      outbox: sql.exec("SELECT * FROM notification_outbox").toArray(),
      runs: sql.exec("SELECT * FROM notification_runs").toArray(),
      audit: sql.exec("SELECT * FROM audit_log ORDER BY seq").toArray(),
    };
  });
}

const ROUTES: Record<string, Route> = {
  "POST /v1/projects": {
    method: "POST",
    request: async () => ({ path: "/v1/projects", body: {} }),
    scope: "admin",
    success: 201,
    snapshot: adminState,
  },
  "GET /v1/projects": {
    method: "GET",
    request: async () => ({ path: "/v1/projects" }),
    scope: "admin",
    success: 200,
    snapshot: adminState,
  },
  "GET /v1/projects/:id/stats": {
    method: "GET",
    request: async (f) => ({ path: `/v1/projects/${f.project}/stats` }),
    scope: "admin",
    success: 200,
    snapshot: adminState,
  },
  "POST /v1/projects/:id/keys": {
    method: "POST",
    request: async (f) => ({ path: `/v1/projects/${f.project}/keys`, body: {} }),
    scope: "admin",
    success: 201,
    snapshot: adminState,
  },
  "POST /v1/ingest-keys": {
    method: "POST",
    request: async () => ({ path: "/v1/ingest-keys", body: { host_id: "gpu-host-auth" } }),
    scope: "admin",
    success: 201,
    snapshot: adminState,
  },
  "DELETE /v1/keys/:id": {
    method: "DELETE",
    // The successful call revokes a fresh key; refused calls aim at a live one that must stay live.
    request: async (f, succeeding) => ({
      path: `/v1/keys/${succeeding ? (await createProjectKey(f.project)).key_id : f.spareKeyId}`,
    }),
    scope: "admin",
    success: 204,
    snapshot: adminState,
  },
  "GET …/metrics-export": {
    method: "GET",
    request: async (f) => ({ path: exportPath(f) }),
    scope: "project",
    success: 200,
    snapshot: exportState,
  },
  "PUT …/metrics-export": {
    method: "PUT",
    request: async (f) => ({ path: exportPath(f), body: { endpoint: "https://other.example.com", headers: [] } }),
    scope: "project",
    success: 200,
    snapshot: exportState,
  },
  "PATCH …/metrics-export": {
    method: "PATCH",
    request: async (f) => ({ path: exportPath(f), body: { enabled: false } }),
    scope: "project",
    success: 200,
    prepare: configure,
    snapshot: exportState,
  },
  "DELETE …/metrics-export": {
    method: "DELETE",
    request: async (f) => ({ path: exportPath(f) }),
    scope: "project",
    success: 204,
    prepare: configure,
    snapshot: exportState,
  },
  "POST …/metrics-export/resume": {
    method: "POST",
    request: async (f) => ({ path: `${exportPath(f)}/resume` }),
    scope: "project",
    success: 200,
    prepare: configure,
    snapshot: exportState,
  },
  "POST …/metrics-export/test": {
    method: "POST",
    request: async (f) => ({ path: `${exportPath(f)}/test`, body: { endpoint: "https://otlp.example.com/otlp" } }),
    scope: "project",
    success: 200,
    snapshot: exportState,
    verify: (r) => {
      expect(r.body.ok).toBe(true);
      expect(fetchSpy).toHaveBeenCalledTimes(1);
      expect(String(fetchSpy.mock.calls[0]![0])).toBe("https://otlp.example.com/otlp/v1/metrics");
    },
  },
  "POST …/metrics-export/flush": {
    method: "POST",
    request: async (f) => ({ path: `${exportPath(f)}/flush` }),
    scope: "project",
    success: 200,
    prepare: configure,
    snapshot: exportState,
  },
  "GET …/metrics-export/preview": {
    method: "GET",
    request: async (f) => ({ path: `${exportPath(f)}/preview` }),
    scope: "project",
    success: 200,
    snapshot: exportState,
  },
  "GET …/notifications": {
    method: "GET",
    request: async (f) => ({ path: notificationsPath(f) }),
    scope: "project",
    success: 200,
    snapshot: notificationState,
    verify: (r) => expect(r.text).not.toContain("whsec_"),
  },
  "POST …/notifications": {
    method: "POST",
    request: async (f) => ({ path: notificationsPath(f), body: { url: WEBHOOK_URL, format: "json" } }),
    scope: "project",
    success: 201,
    prepare: pruneWebhooks,
    snapshot: notificationState,
    verify: (r) => expect(r.body.secret).toMatch(/^whsec_/),
  },
  "GET …/notifications/:id": {
    method: "GET",
    request: async (f) => ({ path: `${notificationsPath(f)}/${f.notificationId}` }),
    scope: "project",
    success: 200,
    snapshot: notificationState,
  },
  "PATCH …/notifications/:id": {
    method: "PATCH",
    request: async (f) => ({ path: `${notificationsPath(f)}/${f.notificationId}`, body: { quiet_period_seconds: 60 } }),
    scope: "project",
    success: 200,
    snapshot: notificationState,
  },
  "DELETE …/notifications/:id": {
    method: "DELETE",
    // The successful call deletes a fresh webhook; refused calls aim at the standing one.
    request: async (f, succeeding) => {
      if (!succeeding) return { path: `${notificationsPath(f)}/${f.notificationId}` };
      await pruneWebhooks(f);
      return { path: `${notificationsPath(f)}/${await createWebhook(f)}` };
    },
    scope: "project",
    success: 204,
    snapshot: notificationState,
  },
  "POST …/notifications/:id/test": {
    method: "POST",
    request: async (f) => ({ path: `${notificationsPath(f)}/${f.notificationId}/test` }),
    scope: "project",
    success: 200,
    snapshot: notificationState,
    verify: (r) => {
      expect(r.body).toMatchObject({ ok: true, http_status: 200, message: null });
      expect(fetchSpy).toHaveBeenCalledTimes(1);
      expect(String(fetchSpy.mock.calls[0]![0])).toBe(WEBHOOK_URL);
    },
  },
  "GET …/audit": {
    method: "GET",
    request: async (f) => ({ path: `/v1/projects/${f.project}/audit` }),
    scope: "project",
    success: 200,
    snapshot: notificationState,
    verify: (r) => expect(Array.isArray(r.body.entries)).toBe(true),
  },
  "POST /v1/samples": {
    method: "POST",
    request: async (f) => ({ path: "/v1/samples", body: sampleBatch(f) }),
    scope: "ingest",
    success: 202,
    snapshot: samplesState,
  },
};

type Expectation = { status: number; code: string } | "success";

interface Credential {
  /** The Authorization header to send, or null for none. */
  header: (f: Fixture) => string | null;
  /** Other headers to send (a session cookie, X-Requested-With). */
  headers?: (f: Fixture) => Record<string, string>;
  /** The outcome on a route of this scope and method. */
  expect: (scope: Scope, method: string) => Expectation;
}

const unauthorized = () => ({ status: 401, code: "unauthorized" }) as const;
const forbidden = { status: 403, code: "forbidden" } as const;
const crossSite = { status: 403, code: "cross_site_request" } as const;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function swapCase(text: string): string {
  return Array.from(text, (ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join("");
}

const CREDENTIALS: Record<string, Credential> = {
  "no Authorization header": { header: () => null, expect: unauthorized },
  'malformed "Basic x"': { header: () => "Basic x", expect: unauthorized },
  'malformed "Bearer" alone': { header: () => "Bearer", expect: unauthorized },
  "malformed: a token with spaces": { header: () => `Bearer ${ADMIN} x`, expect: unauthorized },
  "malformed: the admin token without a scheme": { header: () => ADMIN, expect: unauthorized },
  "a wrong token": { header: () => "Bearer not-the-admin-token-0123456789", expect: unauthorized },
  "the admin token plus one character": { header: () => `Bearer ${ADMIN}x`, expect: unauthorized },
  "the admin token minus one character": { header: () => `Bearer ${ADMIN.slice(0, -1)}`, expect: unauthorized },
  "the admin token with one character changed": {
    header: () => `Bearer ${ADMIN.slice(0, -1)}${ADMIN.endsWith("f") ? "e" : "f"}`,
    expect: unauthorized,
  },
  "a truncated project key": { header: (f) => `Bearer ${f.projectKey.slice(0, -1)}`, expect: unauthorized },
  "a project key with the case of its secret changed": {
    header: (f) => `Bearer cmx_pk_${swapCase(f.projectKey.slice("cmx_pk_".length))}`,
    expect: unauthorized,
  },
  "a project key with an upper-case prefix": {
    header: (f) => `Bearer CMX_PK_${f.projectKey.slice("cmx_pk_".length)}`,
    expect: unauthorized,
  },
  "a well-formed key that was never issued": {
    header: () => `Bearer cmx_pk_${"A".repeat(43)}`,
    expect: unauthorized,
  },
  "a revoked project key": { header: (f) => `Bearer ${f.revokedProjectKey}`, expect: unauthorized },
  "a revoked ingest key": { header: (f) => `Bearer ${f.revokedIngestKey}`, expect: unauthorized },
  "another project's key": { header: (f) => `Bearer ${f.otherProjectKey}`, expect: () => forbidden },
  "an ingest key": {
    header: (f) => `Bearer ${f.ingestKey}`,
    expect: (scope) => (scope === "ingest" ? "success" : forbidden),
  },
  "the project's own key": {
    header: (f) => `Bearer ${f.projectKey}`,
    expect: (scope) => (scope === "project" ? "success" : forbidden),
  },
  "the admin token": {
    header: () => `Bearer ${ADMIN}`,
    // Samples come from GPU hosts only: the admin token cannot post as a host.
    expect: (scope) => (scope === "ingest" ? forbidden : "success"),
  },
  // The Metrics Export page's session cookie (no Authorization header): it acts as the project key
  // it was opened with.
  "the project's session cookie": {
    header: () => null,
    headers: (f) => sessionHeaders(f.session),
    expect: (scope) => (scope === "project" ? "success" : forbidden),
  },
  // The CSRF check is part of authentication (src/auth.ts), before any route authorises: a
  // state-changing call without X-Requested-With is cross_site_request whatever the route's scope.
  "the project's session cookie without X-Requested-With": {
    header: () => null,
    headers: (f) => sessionHeaders(f.session, false),
    expect: (scope, method) => (!SAFE_METHODS.has(method) ? crossSite : scope === "project" ? "success" : forbidden),
  },
  "another project's session cookie": {
    header: () => null,
    headers: (f) => sessionHeaders(f.otherSession),
    expect: () => forbidden,
  },
  "a signed-out session cookie": {
    header: () => null,
    headers: (f) => sessionHeaders(f.signedOutSession),
    expect: unauthorized,
  },
  "a forged session token": {
    header: () => null,
    headers: () => sessionHeaders(`cmx_s_${"A".repeat(43)}`),
    expect: unauthorized,
  },
  // An Authorization header always decides, even when a valid cookie comes along.
  "a malformed Authorization header plus a valid session cookie": {
    header: () => "Basic x",
    headers: (f) => sessionHeaders(f.session),
    expect: unauthorized,
  },
};

let fixture: Fixture;
let fetchSpy: MockInstance<typeof fetch>;

beforeAll(async () => {
  const project = await createProject();
  const otherProject = await createProject();
  const samplesProject = await createProject();
  const hostId = "gpu-host-auth";
  const revokedProject = await createProjectKey(project);
  const revokedIngest = await createIngestKey(hostId);
  // Use both keys once so they sit in the isolate's key cache, then revoke them.
  expect((await call("GET", `/v1/projects/${project}/metrics-export`, { token: revokedProject.key })).status).toBe(200);
  expect((await call("POST", "/v1/samples", { token: revokedIngest.key, body: { host_id: "x" } })).status).toBe(400);
  expect((await call("DELETE", `/v1/keys/${revokedProject.key_id}`)).status).toBe(204);
  expect((await call("DELETE", `/v1/keys/${revokedIngest.key_id}`)).status).toBe(204);
  fixture = {
    project,
    otherProject,
    samplesProject,
    projectKey: (await createProjectKey(project)).key,
    otherProjectKey: (await createProjectKey(otherProject)).key,
    ingestKey: (await createIngestKey(hostId)).key,
    hostId,
    revokedProjectKey: revokedProject.key,
    revokedIngestKey: revokedIngest.key,
    spareKeyId: (await createProjectKey(project)).key_id,
    session: "",
    otherSession: "",
    signedOutSession: "",
    notificationId: "",
  };
  // Sessions come from the sign-in form, as the page's do.
  fixture.session = await openSession(fixture.projectKey);
  fixture.otherSession = await openSession(fixture.otherProjectKey);
  fixture.signedOutSession = await openSession(fixture.projectKey);
  expect((await call("GET", `/v1/projects/${project}/metrics-export`, { token: null, headers: sessionHeaders(fixture.signedOutSession) })).status).toBe(200);
  expect((await signOut(fixture.signedOutSession)).status).toBe(303);
  await configure(fixture);
  fixture.notificationId = await createWebhook(fixture);
});

beforeEach(() => {
  // Only Test Connection may reach the network, and only when the call is allowed.
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 200 }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("auth matrix", () => {
  for (const [routeName, route] of Object.entries(ROUTES)) {
    describe(routeName, () => {
      for (const [credentialName, credential] of Object.entries(CREDENTIALS)) {
        const expectation = credential.expect(route.scope, route.method);
        const outcome = expectation === "success" ? `${route.success}` : `${expectation.status} ${expectation.code}`;
        it(`${credentialName} → ${outcome}`, async () => {
          const header = credential.header(fixture);
          const headers: Record<string, string> = { ...credential.headers?.(fixture), ...(header === null ? {} : { authorization: header }) };
          if (expectation === "success") {
            await route.prepare?.(fixture);
            const { path, body } = await route.request(fixture, true);
            const r = await call(route.method, path, { token: null, headers, body });
            expect(r.status, r.text).toBe(route.success);
            if (r.status !== 204) expect(r.body?.error).toBeUndefined();
            route.verify?.(r);
            return;
          }
          const before = await route.snapshot(fixture);
          const { path, body } = await route.request(fixture, false);
          const r = await call(route.method, path, { token: null, headers, body });
          expect(r.status, r.text).toBe(expectation.status);
          expect(r.headers.get("content-type")).toMatch(/^application\/json/);
          expect(r.body).toEqual({ error: { code: expectation.code, message: expect.any(String) } });
          expect(r.body.error.message.length).toBeGreaterThan(0);
          expect(await route.snapshot(fixture)).toEqual(before);
          expect(fetchSpy).not.toHaveBeenCalled();
        });
      }
    });
  }
});

describe("authentication details", () => {
  it("accepts the Bearer scheme case-insensitively (RFC 9110 §11.1)", async () => {
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const r = await call("GET", "/v1/projects", { token: null, headers: { authorization: `${scheme} ${ADMIN}` } });
      expect(r.status, scheme).toBe(200);
    }
  });

  it("revocation takes effect at once in the same isolate, even for a key used just before", async () => {
    const project = await createProject();
    const key = await createProjectKey(project);
    const path = `/v1/projects/${project}/metrics-export`;
    expect((await call("GET", path, { token: key.key })).status).toBe(200);
    expect((await call("DELETE", `/v1/keys/${key.key_id}`)).status).toBe(204);
    const r = await call("GET", path, { token: key.key });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });

  it("a project key cannot reach a project that does not exist (403, not 404: existence is not revealed)", async () => {
    const project = await createProject();
    const key = await createProjectKey(project);
    const r = await call("GET", `/v1/projects/${uniqueProjectId()}/metrics-export`, { token: key.key });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden");
  });

  it("the admin token on a project that does not exist → 404 project_not_found", async () => {
    const missing = uniqueProjectId();
    for (const [method, suffix] of [
      ["GET", ""],
      ["PUT", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", "/resume"],
      ["POST", "/test"],
      ["POST", "/flush"],
      ["GET", "/preview"],
    ] as const) {
      const body = method === "PUT" || method === "PATCH" ? { endpoint: "https://otlp.example.com" } : undefined;
      const r = await call(method, `/v1/projects/${missing}/metrics-export${suffix}`, { body });
      expect(r.status, `${method} ${suffix}`).toBe(404);
      expect(r.body.error.code).toBe("project_not_found");
    }
    for (const [method, suffix, body] of [
      ["GET", "/notifications", undefined],
      ["POST", "/notifications", { url: WEBHOOK_URL, format: "json" }],
      ["GET", "/notifications/n-aaaaaaaaaa", undefined],
      ["PATCH", "/notifications/n-aaaaaaaaaa", { name: "x" }],
      ["DELETE", "/notifications/n-aaaaaaaaaa", undefined],
      ["POST", "/notifications/n-aaaaaaaaaa/test", undefined],
      ["GET", "/audit", undefined],
    ] as const) {
      const r = await call(method, `/v1/projects/${missing}${suffix}`, { body });
      expect(r.status, `${method} ${suffix}`).toBe(404);
      expect(r.body.error.code).toBe("project_not_found");
    }
    const keys = await call("POST", `/v1/projects/${missing}/keys`, { body: {} });
    expect(keys.status).toBe(404);
    expect(keys.body.error.code).toBe("project_not_found");
  });

  it("an ingest key posts only as its own host_id (403 for another host)", async () => {
    const project = await createProject();
    const key = await createIngestKey("gpu-host-a");
    const sample = {
      type: "run",
      project_id: project,
      app_name: "app",
      region: "r1",
      time: Date.now(),
      execution_ms: 1,
      queue_ms: 1,
      response_ms: 2,
      success: true,
    };
    const own = await call("POST", "/v1/samples", { token: key.key, body: { host_id: "gpu-host-a", batch_id: "b1", samples: [sample] } });
    expect(own.status).toBe(202);
    const other = await call("POST", "/v1/samples", { token: key.key, body: { host_id: "gpu-host-b", batch_id: "b2", samples: [sample] } });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe("forbidden");
  });

  it("POST /_bench/parse does not exist unless BENCH_ROUTES is \"true\", whoever calls", async () => {
    for (const token of [null, ADMIN, fixture.ingestKey]) {
      const r = await call("POST", "/_bench/parse", { token, body: { samples: [] } });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("not_found");
    }
  });

  it("POST /_bench/parse, when enabled, takes an ingest key only", async () => {
    const benchEnv = { ...env, BENCH_ROUTES: "true" };
    const send = async (authorization: string | null) => {
      const headers = new Headers({ "content-type": "application/json" });
      if (authorization !== null) headers.set("authorization", authorization);
      const response = await app.fetch(new Request("http://edge.test/_bench/parse", { method: "POST", headers, body: '{"samples":[1,2]}' }), benchEnv as never);
      return { status: response.status, body: (await response.json()) as any };
    };
    expect(await send(null)).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    expect(await send(`Bearer ${fixture.revokedIngestKey}`)).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    expect(await send(`Bearer ${ADMIN}`)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await send(`Bearer ${fixture.projectKey}`)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await send(`Bearer ${fixture.ingestKey}`)).toMatchObject({ status: 202, body: { accepted: 2 } });
  });

  it("answers GET /healthz without auth", async () => {
    const r = await call("GET", "/healthz", { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });

  it("answers an unknown route with a JSON 404 not_found, with or without auth", async () => {
    for (const token of [null, ADMIN]) {
      for (const [method, path] of [
        ["GET", "/nope"],
        ["GET", "/v1/projects/p-abcd/unknown"],
        ["POST", "/healthz/x"],
        ["DELETE", "/v1/projects"],
      ] as const) {
        const r = await call(method, path, { token });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.headers.get("content-type")).toMatch(/^application\/json/);
        expect(r.body).toEqual({ error: { code: "not_found", message: expect.stringContaining(path) } });
      }
    }
  });
});
