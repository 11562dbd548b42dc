/**
 * A 500 is an answer like any other: it carries every security header (src/page/security-headers.ts)
 * and no-store. Two ways the worker fails: a misconfigured environment (settings are checked before
 * anything else runs) and an unexpected exception (onError's generic `internal` answer), on a page
 * route and on an API route alike.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { SECURITY_HEADERS } from "../../src/page/security-headers";
import { ADMIN } from "./helpers";

/** A D1 binding that fails every statement, as a D1 outage would (the worker's one external dependency here). */
const failingDb = new Proxy(
  {},
  {
    get() {
      return () => {
        throw new Error("D1_ERROR: simulated outage");
      };
    },
  },
);

async function fetchWith(testEnv: Record<string, unknown>, path: string, init: RequestInit = {}) {
  const response = await app.fetch(new Request(`http://edge.test${path}`, init), testEnv as never, { waitUntil() {}, passThroughOnException() {}, props: {} } as never);
  return { status: response.status, headers: response.headers, body: (await response.json()) as { error: { code: string; message: string } } };
}

function expectEverySecurityHeader(headers: Headers, label: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(headers.get(name), `${label}: ${name}`).toBe(value);
  expect(headers.get("cache-control"), `${label}: Cache-Control`).toBe("no-store");
}

describe("500 answers carry the security headers", () => {
  const cases: { label: string; env: Record<string, unknown>; path: string; init?: RequestInit; code: string }[] = [
    { label: "misconfigured: no HEADER_ENCRYPTION_KEY, the sign-in page", env: { ...env, HEADER_ENCRYPTION_KEY: undefined }, path: "/", code: "misconfigured" },
    { label: "misconfigured: no ADMIN_TOKEN, an API route", env: { ...env, ADMIN_TOKEN: undefined }, path: "/v1/projects", init: { headers: { authorization: `Bearer ${ADMIN}` } }, code: "misconfigured" },
    {
      label: "unexpected exception (D1 down): an API route",
      env: { ...env, DB: failingDb },
      path: "/v1/projects/p-abcd1234/metrics-export",
      init: { headers: { authorization: `Bearer cmx_pk_${"A".repeat(43)}` } },
      code: "internal",
    },
    {
      label: "unexpected exception (D1 down): the sign-in form",
      env: { ...env, DB: failingDb },
      path: "/session",
      init: { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `project_key=cmx_pk_${"A".repeat(43)}` },
      code: "internal",
    },
  ];

  for (const c of cases) {
    it(c.label, async () => {
      const r = await fetchWith(c.env, c.path, c.init);
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe(c.code);
      // The generic answer says nothing of what failed.
      if (c.code === "internal") expect(r.body.error.message).not.toContain("D1");
      expectEverySecurityHeader(r.headers, c.label);
    });
  }

  it("the same requests with the real environment are not 500s (the broken binding is what fails)", async () => {
    const r = await fetchWith(env as never, "/v1/projects/p-abcd1234/metrics-export", { headers: { authorization: `Bearer cmx_pk_${"A".repeat(43)}` } });
    expect(r.status).toBe(401);
    expectEverySecurityHeader(r.headers, "401");
  });
});
