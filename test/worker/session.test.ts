/**
 * The Metrics Export page's browser sessions (src/session.ts, src/routes/pages.tsx): signing in with
 * a project key, the cookie and its attributes, what the cookie authenticates (and the CSRF rule for
 * state-changing calls), sign-out, revocation, expiry, the pages themselves, the security headers
 * every response carries, and the Grafana dashboard download.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import dashboardFile from "../../dashboards/grafana-metrics-export.json";
import { SECURITY_HEADERS } from "../../src/page/security-headers";
import {
  ADMIN,
  type ApiResponse,
  callManual,
  createIngestKey,
  createProject,
  createProjectKey,
  openSession,
  postSignIn,
  SESSION_COOKIE,
  sessionHeaders,
  setCookieValue,
  sha256HexOf,
  signOut,
} from "./helpers";

const TTL_SECONDS = 12 * 60 * 60;
const TOKEN_FORMAT = /^cmx_s_[A-Za-z0-9_-]{43}$/;
const HTTPS_CONFIG = { endpoint: "https://otlp.example.com/otlp", headers: [{ name: "X-Api-Key", value: "session-test-secret" }] };

const exportPath = (projectId: string) => `/v1/projects/${projectId}/metrics-export`;
const pagePath = (projectId: string) => `/projects/${projectId}/integrations/metrics-export`;

/** A `Set-Cookie` line as its name, value and attributes (attribute names as sent). */
function parseSetCookie(line: string): { name: string; value: string; attributes: string[] } {
  const [first, ...rest] = line.split(";").map((part) => part.trim());
  const eq = first!.indexOf("=");
  return { name: first!.slice(0, eq), value: first!.slice(eq + 1), attributes: rest.filter((a) => a !== "") };
}

function onlySetCookie(headers: Headers): string {
  const lines = headers.getSetCookie();
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** Calls the worker at an absolute URL (e.g. https://edge.test/...), as `call` does for http. */
async function fetchUrl(url: string, init: RequestInit = {}): Promise<ApiResponse> {
  const response: Response = await (exports as any).default.fetch(new Request(url, { ...init, redirect: "manual" }));
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

async function sessionRows(): Promise<Record<string, unknown>[]> {
  return (await env.DB.prepare("SELECT * FROM sessions ORDER BY session_hash").all()).results;
}

async function sessionRow(token: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM sessions WHERE session_hash = ?").bind(await sha256HexOf(token)).first();
}

async function configure(projectId: string): Promise<void> {
  const r = await callManual("PUT", exportPath(projectId), { body: HTTPS_CONFIG });
  expect(r.status, r.text).toBe(200);
}

/** The export as the admin sees it (what a refused call must leave as it was). */
async function exportView(projectId: string): Promise<any> {
  const r = await callManual("GET", exportPath(projectId));
  expect(r.status, r.text).toBe(200);
  return r.body;
}

/** The text of the sign-in page's error paragraph, or null when there is none. */
function signInError(html: string): string | null {
  const match = /<p id="project-key-error"[^>]*>([\s\S]*?)<\/p>/.exec(html);
  return match === null ? null : match[1]!;
}

function expectSecurityHeaders(r: ApiResponse, label: string, cacheControl = "no-store"): void {
  const csp = r.headers.get("content-security-policy");
  expect(csp, label).not.toBeNull();
  expect(csp, label).not.toContain("unsafe-inline");
  expect(csp, label).not.toContain("unsafe-eval");
  expect(csp, label).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
  expect(csp, label).toMatch(/(^|;)\s*script-src 'self'\s*(;|$)/);
  expect(r.headers.get("referrer-policy"), label).toBe("no-referrer");
  expect(r.headers.get("x-content-type-options"), label).toBe("nosniff");
  expect(r.headers.get("x-frame-options"), label).toBe("DENY");
  expect(r.headers.get("cache-control"), label).toBe(cacheControl);
  // And the whole set, exactly as src/page/security-headers.ts (and public/_headers) define it.
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(r.headers.get(name), `${label}: ${name}`).toBe(value);
}

interface Fixture {
  project: string;
  otherProject: string;
  key: { key_id: string; key: string };
  otherKey: { key_id: string; key: string };
}

let f: Fixture;

beforeAll(async () => {
  const project = await createProject();
  const otherProject = await createProject();
  f = { project, otherProject, key: await createProjectKey(project), otherKey: await createProjectKey(otherProject) };
});

describe("signing in", () => {
  it("a project key → 303 to the project's page with the session cookie (HttpOnly, SameSite=Strict, Path=/, 12 h, no Secure over http)", async () => {
    const r = await postSignIn(f.key.key);
    expect(r.status, r.text).toBe(303);
    expect(r.headers.get("location")).toBe(pagePath(f.project));
    const cookie = parseSetCookie(onlySetCookie(r.headers));
    expect(cookie.name).toBe(SESSION_COOKIE);
    expect(cookie.value).toMatch(TOKEN_FORMAT);
    expect(cookie.value).not.toContain(f.key.key.slice("cmx_pk_".length));
    expect([...cookie.attributes].sort()).toEqual(["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Strict"]);
    expect(r.headers.get("cache-control")).toBe("no-store");
  });

  it("over https the cookie is __Host-cmx_session, with Secure, and authenticates https requests", async () => {
    const r = await fetchUrl("https://edge.test/session", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ project_key: f.key.key }).toString(),
    });
    expect(r.status, r.text).toBe(303);
    expect(r.headers.get("location")).toBe(pagePath(f.project));
    const cookie = parseSetCookie(onlySetCookie(r.headers));
    expect(cookie.name).toBe("__Host-cmx_session");
    expect(cookie.value).toMatch(TOKEN_FORMAT);
    // __Host- requires Secure, Path=/ and no Domain.
    expect([...cookie.attributes].sort()).toEqual(["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Strict", "Secure"]);

    const api = `https://edge.test${exportPath(f.project)}`;
    const ok = await fetchUrl(api, { headers: { cookie: `__Host-cmx_session=${cookie.value}` } });
    expect(ok.status, ok.text).toBe(200);
    // Over https only the __Host- name counts: the plain name could have been set by a sibling domain.
    const plain = await fetchUrl(api, { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` } });
    expect(plain.status, plain.text).toBe(401);
    expect(plain.body.error.code).toBe("unauthorized");
    const page = await fetchUrl(`https://edge.test${pagePath(f.project)}`, { headers: { cookie: `__Host-cmx_session=${cookie.value}` } });
    expect(page.status, page.text).toBe(200);

    const out = await fetchUrl("https://edge.test/session/sign-out", { method: "POST", headers: { cookie: `__Host-cmx_session=${cookie.value}` } });
    expect(out.status).toBe(303);
    const cleared = parseSetCookie(onlySetCookie(out.headers));
    expect(cleared).toMatchObject({ name: "__Host-cmx_session", value: "" });
    expect([...cleared.attributes].sort()).toEqual(["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Strict", "Secure"]);
    expect(await sessionRow(cookie.value)).toBeNull();
  });

  it("D1 holds the SHA-256 hex of the token, not the token, with the key, the project and a 12 h expiry", async () => {
    const before = Date.now();
    const token = await openSession(f.key.key);
    const after = Date.now();
    const row = await sessionRow(token);
    expect(row).not.toBeNull();
    expect(row!.session_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row).toMatchObject({ session_hash: await sha256HexOf(token), key_id: f.key.key_id, project_id: f.project });
    const createdAt = Number(row!.created_at);
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(after);
    expect(Number(row!.expires_at) - createdAt).toBe(TTL_SECONDS * 1000);
    // Neither the token (nor its random part) nor the project key is anywhere in the table.
    const dump = JSON.stringify(await sessionRows());
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice("cmx_s_".length));
    expect(dump).not.toContain(f.key.key);
  });

  it("each sign-in opens its own session (distinct tokens)", async () => {
    const a = await openSession(f.key.key);
    const b = await openSession(f.key.key);
    expect(a).not.toBe(b);
    expect(await sessionRow(a)).not.toBeNull();
    expect(await sessionRow(b)).not.toBeNull();
  });

  it("GET / with a live session → 303 to its project's page; without one → the sign-in form", async () => {
    const token = await openSession(f.key.key);
    const r = await callManual("GET", "/", { token: null, headers: sessionHeaders(token, false) });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe(pagePath(f.project));
    const anonymous = await callManual("GET", "/", { token: null });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("content-type")).toMatch(/^text\/html/);
    expect(anonymous.text).toMatch(/<form[^>]*method="post"[^>]*action="\/session"/);
    expect(anonymous.text).toContain('name="project_key"');
    expect(signInError(anonymous.text)).toBeNull();
  });
});

describe("sign-in failures: the form again with the error, no session, no cookie", () => {
  let ingestKey: string;
  let revokedKey: string;

  beforeAll(async () => {
    ingestKey = (await createIngestKey("gpu-host-session")).key;
    const revoked = await createProjectKey(f.project);
    expect((await callManual("DELETE", `/v1/keys/${revoked.key_id}`)).status).toBe(204);
    revokedKey = revoked.key;
  });

  const form = (key: string) => new URLSearchParams({ project_key: key }).toString();
  const formHeaders = { "content-type": "application/x-www-form-urlencoded" };

  const CASES: { label: string; status: number; error: string; send: () => Promise<ApiResponse> }[] = [
    { label: "an empty key", status: 401, error: "Enter your project key", send: () => postSignIn("") },
    { label: "a key of spaces", status: 401, error: "Enter your project key", send: () => postSignIn("   ") },
    {
      label: "no project_key field",
      status: 401,
      error: "Enter your project key",
      send: () => callManual("POST", "/session", { token: null, headers: formHeaders, rawBody: "other=1" }),
    },
    { label: "an ingest key", status: 401, error: "That is not a project key", send: () => postSignIn(ingestKey) },
    { label: "the admin token", status: 401, error: "That is not a project key", send: () => postSignIn(ADMIN) },
    { label: "a well-formed unknown key", status: 401, error: "That project key is not known", send: () => postSignIn(`cmx_pk_${"A".repeat(43)}`) },
    { label: "a revoked key", status: 401, error: "That project key has been revoked", send: () => postSignIn(revokedKey) },
    {
      label: "a JSON body",
      status: 415,
      error: "application/x-www-form-urlencoded",
      send: () => callManual("POST", "/session", { token: null, body: { project_key: f.key.key } }),
    },
    {
      label: "no content type",
      status: 415,
      error: "application/x-www-form-urlencoded",
      send: () => callManual("POST", "/session", { token: null, rawBody: new TextEncoder().encode(form(f.key.key)) }),
    },
    {
      label: "a body over 4096 bytes",
      status: 413,
      error: "4096 bytes",
      send: () => callManual("POST", "/session", { token: null, headers: formHeaders, rawBody: `${form(f.key.key)}&pad=${"x".repeat(4096)}` }),
    },
    {
      label: "a streamed body over 4096 bytes (no Content-Length)",
      status: 413,
      error: "4096 bytes",
      send: () => {
        const bytes = new TextEncoder().encode(`${form(f.key.key)}&pad=${"x".repeat(8192)}`);
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
            controller.close();
          },
        });
        return callManual("POST", "/session", { token: null, headers: formHeaders, rawBody: stream });
      },
    },
    {
      label: "Sec-Fetch-Site: cross-site (a valid key)",
      status: 403,
      error: "another site",
      send: () => postSignIn(f.key.key, { "sec-fetch-site": "cross-site" }),
    },
    {
      label: "Sec-Fetch-Site: same-site (a valid key)",
      status: 403,
      error: "another site",
      send: () => postSignIn(f.key.key, { "sec-fetch-site": "same-site" }),
    },
    {
      // Login CSRF from a browser without Fetch Metadata: only the Origin says where the form was.
      label: "Origin of another site, no Sec-Fetch-Site (a valid key)",
      status: 403,
      error: "another site",
      send: () => postSignIn(f.key.key, { origin: "https://attacker.example" }),
    },
    {
      label: "Origin of this host on another scheme (a valid key)",
      status: 403,
      error: "another site",
      send: () => postSignIn(f.key.key, { origin: "https://edge.test" }),
    },
    {
      label: "Origin of another site with Sec-Fetch-Site: same-origin (a valid key)",
      status: 403,
      error: "another site",
      send: () => postSignIn(f.key.key, { origin: "http://edge.test.attacker.example", "sec-fetch-site": "same-origin" }),
    },
  ];

  for (const c of CASES) {
    it(`${c.label} → ${c.status}`, async () => {
      const before = await sessionRows();
      const r = await c.send();
      expect(r.status, r.text).toBe(c.status);
      expect(r.headers.get("content-type")).toMatch(/^text\/html/);
      expect(r.text).toMatch(/^<!doctype html>/i);
      expect(r.text).toContain('name="project_key"');
      const error = signInError(r.text);
      expect(error, r.text).not.toBeNull();
      expect(error).toContain(c.error);
      expect(r.headers.getSetCookie()).toEqual([]);
      expect(r.headers.get("location")).toBeNull();
      expect(await sessionRows()).toEqual(before);
      // The page never echoes a key it was given.
      expect(r.text).not.toContain(f.key.key);
      expect(r.text).not.toContain(ADMIN);
    });
  }

  it("a form of exactly 4096 bytes is accepted; 4097 bytes is 413", async () => {
    const base = `${form(f.key.key)}&pad=`;
    const exact = base + "x".repeat(4096 - base.length);
    expect(new TextEncoder().encode(exact).byteLength).toBe(4096);
    const ok = await callManual("POST", "/session", { token: null, headers: formHeaders, rawBody: exact });
    expect(ok.status, ok.text).toBe(303);
    expect(setCookieValue(ok.headers, SESSION_COOKIE)).toMatch(TOKEN_FORMAT);
    const over = await callManual("POST", "/session", { token: null, headers: formHeaders, rawBody: exact + "x" });
    expect(over.status).toBe(413);
    expect(over.headers.getSetCookie()).toEqual([]);
  });

  it("Sec-Fetch-Site: same-origin or none still signs in", async () => {
    for (const site of ["same-origin", "none"]) {
      const r = await postSignIn(f.key.key, { "sec-fetch-site": site });
      expect(r.status, site).toBe(303);
      expect(setCookieValue(r.headers, SESSION_COOKIE)).toMatch(TOKEN_FORMAT);
    }
  });

  it("Origin: this origin, or null (what browsers send under Referrer-Policy: no-referrer), still signs in", async () => {
    for (const headers of [{ origin: "http://edge.test" }, { origin: "null" }, { origin: "null", "sec-fetch-site": "same-origin" }] as Record<string, string>[]) {
      const r = await postSignIn(f.key.key, headers);
      expect(r.status, JSON.stringify(headers)).toBe(303);
      expect(setCookieValue(r.headers, SESSION_COOKIE)).toMatch(TOKEN_FORMAT);
    }
  });
});

describe("what the session cookie authenticates", () => {
  it("GET …/metrics-export → 200 without X-Requested-With (a safe method)", async () => {
    const token = await openSession(f.key.key);
    const r = await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token, false) });
    expect(r.status, r.text).toBe(200);
    expect(r.body.error).toBeUndefined();
  });

  it("PATCH with X-Requested-With → 200 and the change is made", async () => {
    await configure(f.project);
    expect((await exportView(f.project)).enabled).toBe(true);
    const token = await openSession(f.key.key);
    const r = await callManual("PATCH", exportPath(f.project), { token: null, headers: sessionHeaders(token), body: { enabled: false } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.enabled).toBe(false);
    expect((await exportView(f.project)).enabled).toBe(false);
  });

  it("PATCH with X-Requested-With and Sec-Fetch-Site: same-origin → 200", async () => {
    await configure(f.project);
    const token = await openSession(f.key.key);
    const r = await callManual("PATCH", exportPath(f.project), {
      token: null,
      headers: { ...sessionHeaders(token), "sec-fetch-site": "same-origin" },
      body: { enabled: false },
    });
    expect(r.status, r.text).toBe(200);
    expect((await exportView(f.project)).enabled).toBe(false);
  });

  const REFUSED: { label: string; headers: (token: string) => Record<string, string> }[] = [
    { label: "without X-Requested-With", headers: (t) => sessionHeaders(t, false) },
    { label: "with an empty X-Requested-With", headers: (t) => ({ ...sessionHeaders(t, false), "x-requested-with": "" }) },
    { label: "with Sec-Fetch-Site: cross-site", headers: (t) => ({ ...sessionHeaders(t), "sec-fetch-site": "cross-site" }) },
    { label: "with Sec-Fetch-Site: same-site", headers: (t) => ({ ...sessionHeaders(t), "sec-fetch-site": "same-site" }) },
  ];

  for (const refused of REFUSED) {
    it(`PATCH ${refused.label} → 403 cross_site_request, nothing changed`, async () => {
      await configure(f.project);
      const token = await openSession(f.key.key);
      const before = await exportView(f.project);
      expect(before.enabled).toBe(true);
      const r = await callManual("PATCH", exportPath(f.project), { token: null, headers: refused.headers(token), body: { enabled: false } });
      expect(r.status, r.text).toBe(403);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.body).toEqual({ error: { code: "cross_site_request", message: expect.any(String) } });
      expect(await exportView(f.project)).toEqual(before);
    });
  }

  it("DELETE and POST without X-Requested-With → 403 cross_site_request, nothing changed", async () => {
    await configure(f.project);
    const token = await openSession(f.key.key);
    const before = await exportView(f.project);
    for (const [method, suffix] of [
      ["DELETE", ""],
      ["PUT", ""],
      ["POST", "/resume"],
      ["POST", "/flush"],
    ] as const) {
      const body = method === "PUT" ? { endpoint: "https://other.example.com", headers: [] } : undefined;
      const r = await callManual(method, `${exportPath(f.project)}${suffix}`, { token: null, headers: sessionHeaders(token, false), body });
      expect(r.status, `${method} ${suffix}: ${r.text}`).toBe(403);
      expect(r.body.error.code).toBe("cross_site_request");
    }
    expect(await exportView(f.project)).toEqual(before);
  });

  it("a session of project A on project B → 403 forbidden, nothing changed", async () => {
    await configure(f.otherProject);
    const token = await openSession(f.key.key);
    const before = await exportView(f.otherProject);
    const get = await callManual("GET", exportPath(f.otherProject), { token: null, headers: sessionHeaders(token) });
    expect(get.status, get.text).toBe(403);
    expect(get.body.error.code).toBe("forbidden");
    const patch = await callManual("PATCH", exportPath(f.otherProject), { token: null, headers: sessionHeaders(token), body: { enabled: false } });
    expect(patch.status, patch.text).toBe(403);
    expect(patch.body.error.code).toBe("forbidden");
    expect(await exportView(f.otherProject)).toEqual(before);
  });

  it("a session cannot use admin routes (403 forbidden)", async () => {
    const token = await openSession(f.key.key);
    const list = await callManual("GET", "/v1/projects", { token: null, headers: sessionHeaders(token) });
    expect(list.status).toBe(403);
    expect(list.body.error.code).toBe("forbidden");
    const key = await callManual("POST", `/v1/projects/${f.project}/keys`, { token: null, headers: sessionHeaders(token), body: {} });
    expect(key.status).toBe(403);
    expect(key.body.error.code).toBe("forbidden");
  });

  it("an Authorization header takes precedence over the cookie", async () => {
    const token = await openSession(f.key.key);
    // A valid cookie does not rescue a bad header.
    const bad = await callManual("GET", exportPath(f.project), { token: "not-a-valid-token-0123456789", headers: sessionHeaders(token) });
    expect(bad.status).toBe(401);
    // Another project's key with this project's cookie: the key decides.
    const other = await callManual("GET", exportPath(f.project), { token: f.otherKey.key, headers: sessionHeaders(token) });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe("forbidden");
    // A key in the header needs no X-Requested-With, whatever cookie comes along.
    await configure(f.project);
    const patch = await callManual("PATCH", exportPath(f.project), { token: f.key.key, headers: sessionHeaders(token, false), body: { enabled: false } });
    expect(patch.status, patch.text).toBe(200);
  });

  it("malformed cookie values are ignored: 401 on the API, 303 to / on the page, never 500", async () => {
    const token = await openSession(f.key.key);
    const values = [
      `${SESSION_COOKIE}=garbage`,
      `${SESSION_COOKIE}=`,
      `${SESSION_COOKIE}`,
      `${SESSION_COOKIE}=cmx_s_short`,
      `${SESSION_COOKIE}=${token}x`,
      `${SESSION_COOKIE}=${token.slice(0, -1)}`,
      `${SESSION_COOKIE}=${token.slice(0, -1)}!`,
      `${SESSION_COOKIE}="${token}"`,
      `${SESSION_COOKIE}=cmx_pk_${"A".repeat(43)}`,
      `${SESSION_COOKIE}=${"%".repeat(5000)}`,
      `__Host-cmx_session=${token}`,
      `other_${SESSION_COOKIE}=${token}`,
      ";;;=;=",
    ];
    for (const cookie of values) {
      const api = await callManual("GET", exportPath(f.project), { token: null, headers: { cookie, "x-requested-with": "fetch" } });
      expect(api.status, cookie.slice(0, 80)).toBe(401);
      expect(api.body.error.code).toBe("unauthorized");
      const page = await callManual("GET", pagePath(f.project), { token: null, headers: { cookie } });
      expect(page.status, cookie.slice(0, 80)).toBe(303);
      expect(page.headers.get("location")).toBe("/");
      const home = await callManual("GET", "/", { token: null, headers: { cookie } });
      expect(home.status, cookie.slice(0, 80)).toBe(200);
    }
  });

  it("the cookie among others, in any position, still authenticates", async () => {
    const token = await openSession(f.key.key);
    for (const cookie of [`a=1; ${SESSION_COOKIE}=${token}`, `${SESSION_COOKIE}=${token}; b=2`, `a=1;${SESSION_COOKIE}=${token};b=2`]) {
      const r = await callManual("GET", exportPath(f.project), { token: null, headers: { cookie } });
      expect(r.status, cookie).toBe(200);
    }
  });
});

describe("ending a session", () => {
  it("sign-out deletes the row, clears the cookie (Max-Age=0) and 303s to /?signed-out; the old cookie no longer works", async () => {
    const token = await openSession(f.key.key);
    // Used once, so it sits in the isolate's cache: sign-out must still end it at once.
    expect((await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) })).status).toBe(200);
    expect(await sessionRow(token)).not.toBeNull();

    const r = await signOut(token);
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/?signed-out");
    const cleared = parseSetCookie(onlySetCookie(r.headers));
    expect(cleared).toMatchObject({ name: SESSION_COOKIE, value: "" });
    expect([...cleared.attributes].sort()).toEqual(["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Strict"]);
    expect(await sessionRow(token)).toBeNull();

    const api = await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) });
    expect(api.status).toBe(401);
    expect(api.body.error.code).toBe("unauthorized");
    const page = await callManual("GET", pagePath(f.project), { token: null, headers: sessionHeaders(token) });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/");
    const home = await callManual("GET", "/?signed-out", { token: null, headers: sessionHeaders(token) });
    expect(home.status).toBe(200);
    expect(home.text).toContain("You are signed out.");
  });

  it("sign-out ends only its own session", async () => {
    const mine = await openSession(f.key.key);
    const other = await openSession(f.key.key);
    expect((await signOut(mine)).status).toBe(303);
    expect((await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(other) })).status).toBe(200);
    expect(await sessionRow(other)).not.toBeNull();
  });

  it("sign-out without a session (or with a bad cookie) still clears the cookie", async () => {
    for (const headers of [{}, { cookie: `${SESSION_COOKIE}=garbage` }] as Record<string, string>[]) {
      const before = await sessionRows();
      const r = await callManual("POST", "/session/sign-out", { token: null, headers });
      expect(r.status).toBe(303);
      expect(r.headers.get("location")).toBe("/?signed-out");
      expect(setCookieValue(r.headers, SESSION_COOKIE)).toBe("");
      expect(await sessionRows()).toEqual(before);
    }
  });

  for (const [label, marker] of [
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["an Origin of another site (no Sec-Fetch-Site)", { origin: "https://attacker.example" }],
  ] as const) {
    it(`a sign-out sent by another site (${label}) is refused (403) and the session survives`, async () => {
      const token = await openSession(f.key.key);
      const r = await callManual("POST", "/session/sign-out", { token: null, headers: { ...sessionHeaders(token), ...marker } });
      expect(r.status).toBe(403);
      expect(r.headers.get("content-type")).toMatch(/^text\/html/);
      expect(r.headers.getSetCookie()).toEqual([]);
      expect(await sessionRow(token)).not.toBeNull();
      expect((await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) })).status).toBe(200);
    });
  }

  it("a sign-out with Origin: this origin or null ends the session", async () => {
    for (const origin of ["http://edge.test", "null"]) {
      const token = await openSession(f.key.key);
      const r = await callManual("POST", "/session/sign-out", { token: null, headers: { ...sessionHeaders(token), origin } });
      expect(r.status, origin).toBe(303);
      expect(await sessionRow(token), origin).toBeNull();
    }
  });

  it("revoking the key (DELETE /v1/keys/:id) ends its sessions at once, even cached ones", async () => {
    const key = await createProjectKey(f.project);
    const used = await openSession(key.key);
    const unused = await openSession(key.key);
    const survivor = await openSession(f.key.key);
    expect((await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(used) })).status).toBe(200);

    expect((await callManual("DELETE", `/v1/keys/${key.key_id}`)).status).toBe(204);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE key_id = ?").bind(key.key_id).first<{ n: number }>())!.n).toBe(0);
    for (const token of [used, unused]) {
      const r = await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
      const page = await callManual("GET", pagePath(f.project), { token: null, headers: sessionHeaders(token) });
      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toBe("/");
    }
    // Another key's session of the same project is untouched.
    expect((await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(survivor) })).status).toBe(200);
  });

  it("an expired session → 401 on the API, 303 to / on the page", async () => {
    // A fresh session, never used, so nothing about it is cached yet.
    const token = await openSession(f.key.key);
    const update = await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE session_hash = ?")
      .bind(Date.now() - 1000, await sha256HexOf(token))
      .run();
    expect(update.meta.changes).toBe(1);
    const r = await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
    const page = await callManual("GET", pagePath(f.project), { token: null, headers: sessionHeaders(token) });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/");
    const home = await callManual("GET", "/", { token: null, headers: sessionHeaders(token) });
    expect(home.status).toBe(200);
  });

  it("a forged token of the right shape → 401", async () => {
    const r = await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(`cmx_s_${"A".repeat(43)}`) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });
});

describe("the pages", () => {
  it("the Metrics Export page with a session: its labels, the project id, no inline script or style", async () => {
    const token = await openSession(f.key.key);
    const r = await callManual("GET", pagePath(f.project), { token: null, headers: sessionHeaders(token, false) });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.text).toMatch(/^<!doctype html>/i);
    for (const label of ["OTLP endpoint", "Destination", "Test Connection", "Save &amp; Enable"]) expect(r.text, label).toContain(label);
    expect(r.text).not.toContain("Save & Enable");
    expect(r.text).toContain(f.project);
    // Scripts only from files (the CSP has no unsafe-inline): every <script> has a src and no content.
    const scripts = [...r.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/[^"]+"/);
      expect(content!.trim()).toBe("");
    }
    expect((r.text.match(/<script\b/gi) ?? []).length).toBe(scripts.length);
    expect(r.text).not.toMatch(/<style\b/i);
    expect(r.text).not.toMatch(/\sstyle\s*=/i);
    expect(r.text).not.toMatch(/\son[a-z]+\s*=/i);
    expect(r.text).not.toMatch(/javascript:/i);
    // The key is never in the page.
    expect(r.text).not.toContain(f.key.key);
  });

  it("the page without a session → 303 to /", async () => {
    const r = await callManual("GET", pagePath(f.project), { token: null });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
  });

  it("the page with a project key in Authorization but no session → 303 to / (the page needs the cookie)", async () => {
    const r = await callManual("GET", pagePath(f.project), { token: f.key.key });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
  });

  it("another project's page with a session → 403, naming the signed-in project, not rendering the other", async () => {
    const token = await openSession(f.key.key);
    const r = await callManual("GET", pagePath(f.otherProject), { token: null, headers: sessionHeaders(token, false) });
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.text).toContain(f.project);
    expect(r.text).not.toContain("OTLP endpoint");
  });

  it("the sign-in page has no inline script or style either", async () => {
    const r = await callManual("GET", "/", { token: null });
    expect(r.status).toBe(200);
    for (const [, attributes, content] of r.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(content!.trim()).toBe("");
    }
    expect(r.text).not.toMatch(/<style\b/i);
    expect(r.text).not.toMatch(/\sstyle\s*=/i);
    expect(r.text).not.toMatch(/\son[a-z]+\s*=/i);
  });

  it("the Grafana dashboard downloads as an attachment equal to dashboards/grafana-metrics-export.json", async () => {
    const r = await callManual("GET", "/dashboards/grafana-metrics-export.json", { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    const disposition = r.headers.get("content-disposition") ?? "";
    expect(disposition).toMatch(/^attachment\s*;/);
    expect(disposition).toMatch(/filename="?grafana-metrics-export\.json"?/);
    expect(JSON.parse(r.text)).toEqual(dashboardFile);
    expectSecurityHeaders(r, "dashboard", r.headers.get("cache-control") ?? "");
    expect(r.headers.get("cache-control")).not.toBeNull();
  });
});

describe("security headers on every worker response", () => {
  it("/, the page, a redirect, an API answer, a 404, a 401, a 403 and the sign-in errors", async () => {
    const token = await openSession(f.key.key);
    const responses: [string, ApiResponse][] = [
      ["GET / (sign-in page)", await callManual("GET", "/", { token: null })],
      ["GET / (303 with a session)", await callManual("GET", "/", { token: null, headers: sessionHeaders(token) })],
      ["the Metrics Export page", await callManual("GET", pagePath(f.project), { token: null, headers: sessionHeaders(token) })],
      ["the page without a session (303)", await callManual("GET", pagePath(f.project), { token: null })],
      ["POST /session (303)", await postSignIn(f.key.key)],
      ["POST /session (401)", await postSignIn("")],
      ["POST /session (415)", await callManual("POST", "/session", { token: null, body: {} })],
      ["API JSON (200)", await callManual("GET", exportPath(f.project), { token: null, headers: sessionHeaders(token) })],
      ["API JSON (admin 200)", await callManual("GET", "/v1/projects")],
      ["/healthz", await callManual("GET", "/healthz", { token: null })],
      ["a 404", await callManual("GET", "/no-such-route", { token: null })],
      ["a 404 with auth", await callManual("GET", "/v1/no-such-route")],
      ["a 401", await callManual("GET", exportPath(f.project), { token: null })],
      ["a 403 cross_site_request", await callManual("PATCH", exportPath(f.project), { token: null, headers: sessionHeaders(token, false), body: {} })],
      ["a 403 forbidden", await callManual("GET", exportPath(f.otherProject), { token: null, headers: sessionHeaders(token) })],
      ["a 400", await callManual("PUT", exportPath(f.project), { rawBody: "{", headers: { "content-type": "application/json" } })],
      ["POST /session/sign-out (303)", await signOut(token)],
    ];
    for (const [label, r] of responses) expectSecurityHeaders(r, `${label} (${r.status})`);
    expect(responses.map(([label, r]) => [label, r.status])).toEqual([
      ["GET / (sign-in page)", 200],
      ["GET / (303 with a session)", 303],
      ["the Metrics Export page", 200],
      ["the page without a session (303)", 303],
      ["POST /session (303)", 303],
      ["POST /session (401)", 401],
      ["POST /session (415)", 415],
      ["API JSON (200)", 200],
      ["API JSON (admin 200)", 200],
      ["/healthz", 200],
      ["a 404", 404],
      ["a 404 with auth", 404],
      ["a 401", 401],
      ["a 403 cross_site_request", 403],
      ["a 403 forbidden", 403],
      ["a 400", 400],
      ["POST /session/sign-out (303)", 303],
    ]);
  });
});
