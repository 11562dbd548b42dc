/** A deployment with a missing or malformed secret fails every request with a 500 naming the setting. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { ADMIN } from "./helpers";

const REQUESTS: [string, string, string | null][] = [
  ["GET", "/healthz", null],
  ["GET", "/v1/projects", ADMIN],
  ["POST", "/v1/projects", ADMIN],
  ["GET", "/v1/projects/p-abcd1234/metrics-export", ADMIN],
  ["PUT", "/v1/projects/p-abcd1234/metrics-export", ADMIN],
  ["POST", "/v1/samples", "cmx_ik_" + "A".repeat(43)],
  ["GET", "/no/such/route", null],
];

async function fetchWith(brokenEnv: Record<string, unknown>, method: string, path: string, token: string | null) {
  const headers = new Headers({ "content-type": "application/json" });
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  const body = method === "GET" ? undefined : JSON.stringify({ endpoint: "https://otlp.example.com" });
  const response = await app.fetch(new Request(`http://edge.test${path}`, { method, headers, body }), brokenEnv as never);
  return { status: response.status, body: (await response.json()) as { error: { code: string; message: string } } };
}

describe("misconfigured environment", () => {
  const cases: [string, Record<string, unknown>, string, string?][] = [
    ["HEADER_ENCRYPTION_KEY missing", { ...env, HEADER_ENCRYPTION_KEY: undefined }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY of the wrong length", { ...env, HEADER_ENCRYPTION_KEY: btoa("sixteen-byte-key") }, "HEADER_ENCRYPTION_KEY", btoa("sixteen-byte-key")],
    ["HEADER_ENCRYPTION_KEY not base64", { ...env, HEADER_ENCRYPTION_KEY: "***" }, "HEADER_ENCRYPTION_KEY"],
    ["ADMIN_TOKEN missing", { ...env, ADMIN_TOKEN: undefined }, "ADMIN_TOKEN"],
    ["EXPORT_INTERVAL_SECONDS malformed", { ...env, EXPORT_INTERVAL_SECONDS: "a minute" }, "EXPORT_INTERVAL_SECONDS"],
  ];

  for (const [label, brokenEnv, setting, secret] of cases) {
    it(`${label}: every request, even /healthz and unknown routes, is a 500 naming ${setting}`, async () => {
      for (const [method, path, token] of REQUESTS) {
        const r = await fetchWith(brokenEnv, method, path, token);
        expect(r.status, `${method} ${path}`).toBe(500);
        expect(r.body.error.code).toBe("misconfigured");
        expect(r.body.error.message).toContain(setting);
        if (secret !== undefined) expect(r.body.error.message).not.toContain(secret);
      }
    });
  }

  it("the same requests succeed with the real environment (the broken copies above are the only difference)", async () => {
    const r = await app.fetch(new Request("http://edge.test/healthz"), env as never);
    expect(r.status).toBe(200);
    const projects = await app.fetch(new Request("http://edge.test/v1/projects", { headers: { authorization: `Bearer ${ADMIN}` } }), env as never);
    expect(projects.status).toBe(200);
  });
});
