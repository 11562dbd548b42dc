/** The project registry and API keys: POST/GET /v1/projects, project and ingest keys, revocation, storage as hashes. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createIngestKey, createProject, createProjectKey, uniqueProjectId } from "./helpers";

const PROJECT_ID = /^p-[a-z0-9]{4,32}$/;
const KEY_ID = /^key_[0-9a-f]{16}$/;
const PROJECT_KEY = /^cmx_pk_[A-Za-z0-9_-]{43}$/;
const INGEST_KEY = /^cmx_ik_[A-Za-z0-9_-]{43}$/;

function base64urlBytes(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function expectError(r: { status: number; body: any; text: string }, status: number, code: string, mentions?: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
  if (mentions !== undefined) expect(r.body.error.message).toContain(mentions);
}

describe("POST /v1/projects", () => {
  it("generates a project id matching ^p-[a-z0-9]{4,32}$ when none is given", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await call("POST", "/v1/projects", { body: {} });
      expect(r.status).toBe(201);
      expect(r.body.project_id).toMatch(PROJECT_ID);
      expect(r.body.name).toBe("");
      expect(new Date(r.body.created_at).toISOString()).toBe(r.body.created_at);
      ids.add(r.body.project_id);
    }
    expect(ids.size).toBe(5);
  });

  it("creates a project without a body at all", async () => {
    const r = await call("POST", "/v1/projects");
    expect(r.status).toBe(201);
    expect(r.body.project_id).toMatch(PROJECT_ID);
  });

  it("creates a project with the given id and name", async () => {
    const id = uniqueProjectId();
    const r = await call("POST", "/v1/projects", { body: { project_id: id, name: "Inference prod" } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ project_id: id, name: "Inference prod", created_at: expect.any(String) });
    const row = await env.DB.prepare("SELECT name FROM projects WHERE project_id = ?").bind(id).first<{ name: string }>();
    expect(row?.name).toBe("Inference prod");
  });

  it("accepts ids of 4 and of 32 characters after the prefix", async () => {
    const short = `p-${crypto.randomUUID().replace(/-/g, "").slice(0, 4)}`;
    const long = `p-${crypto.randomUUID().replace(/-/g, "")}`;
    expect(long.length).toBe(34);
    for (const id of [short, long]) expect((await call("POST", "/v1/projects", { body: { project_id: id } })).status).toBe(201);
  });

  it("answers 409 project_exists for an id that exists, and keeps the original", async () => {
    const id = uniqueProjectId();
    expect((await call("POST", "/v1/projects", { body: { project_id: id, name: "first" } })).status).toBe(201);
    const r = await call("POST", "/v1/projects", { body: { project_id: id, name: "second" } });
    expectError(r, 409, "project_exists", id);
    const row = await env.DB.prepare("SELECT name FROM projects WHERE project_id = ?").bind(id).first<{ name: string }>();
    expect(row?.name).toBe("first");
  });

  const invalid: [string, unknown, string][] = [
    ["upper case", { project_id: "p-ABCD1234" }, "project_id"],
    ["too short", { project_id: "p-abc" }, "project_id"],
    ["too long (33 after the prefix)", { project_id: `p-${"a".repeat(33)}` }, "project_id"],
    ["wrong prefix", { project_id: "x-abcd1234" }, "project_id"],
    ["an underscore", { project_id: "p-abc_d1234" }, "project_id"],
    ["a hyphen after the prefix", { project_id: "p-abc-d1234" }, "project_id"],
    ["not a string", { project_id: 12345 }, "project_id"],
    ["an empty string", { project_id: "" }, "project_id"],
    ["an empty name", { name: "   " }, "name"],
    ["a name over 200 characters", { name: "n".repeat(201) }, "name"],
    ["a name that is not a string", { name: ["x"] }, "name"],
    ["an unknown field", { project_id: "p-abcd9876", owner: "me" }, '"owner"'],
    ["a JSON array body", [], "body must be a JSON object"],
  ];
  it.each(invalid)("refuses %s with 400 invalid_request naming the field", async (_label, body, field) => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM projects").first<{ n: number }>();
    const r = await call("POST", "/v1/projects", { body });
    expectError(r, 400, "invalid_request", field);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM projects").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("refuses a JSON null body (only an absent body means defaults)", async () => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM projects").first<{ n: number }>();
    const r = await call("POST", "/v1/projects", { rawBody: "null", headers: { "content-type": "application/json" } });
    expectError(r, 400, "invalid_request", "body must be a JSON object");
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM projects").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("refuses malformed JSON (400 invalid_json), a non-JSON content type (415) and a body over 32 KiB (413)", async () => {
    expectError(await call("POST", "/v1/projects", { rawBody: "{", headers: { "content-type": "application/json" } }), 400, "invalid_json");
    expectError(
      await call("POST", "/v1/projects", { rawBody: '{"name":"x"}', headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
      "Content-Type",
    );
    expectError(await call("POST", "/v1/projects", { body: { name: "x".repeat(33 * 1024) } }), 413, "payload_too_large");
  });
});

describe("GET /v1/projects", () => {
  it("lists the created projects with name and creation time", async () => {
    const a = uniqueProjectId();
    const b = uniqueProjectId();
    await call("POST", "/v1/projects", { body: { project_id: a, name: "alpha" } });
    await call("POST", "/v1/projects", { body: { project_id: b, name: "beta" } });
    const r = await call("GET", "/v1/projects");
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(["projects"]);
    expect(r.body.projects).toContainEqual({ project_id: a, name: "alpha", created_at: expect.any(String) });
    expect(r.body.projects).toContainEqual({ project_id: b, name: "beta", created_at: expect.any(String) });
  });
});

describe("project keys", () => {
  it("creates a cmx_pk_ key of at least 128 random bits, shown once", async () => {
    const project = await createProject();
    const r = await call("POST", `/v1/projects/${project}/keys`, { body: { name: "ci" } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ key_id: expect.stringMatching(KEY_ID), key: expect.stringMatching(PROJECT_KEY), scope: "project", project_id: project });
    expect(base64urlBytes(r.body.key.slice("cmx_pk_".length)).length * 8).toBeGreaterThanOrEqual(128);
    // Never shown again: no other response carries it.
    for (const path of ["/v1/projects", `/v1/projects/${project}/metrics-export`]) {
      expect((await call("GET", path)).text).not.toContain(r.body.key);
    }
    // The key works for its project.
    expect((await call("GET", `/v1/projects/${project}/metrics-export`, { token: r.body.key })).status).toBe(200);
  });

  it("never issues the same key or key id twice", async () => {
    const project = await createProject();
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const k = await createProjectKey(project);
      keys.add(k.key);
      ids.add(k.key_id);
    }
    expect(keys.size).toBe(20);
    expect(ids.size).toBe(20);
  });

  it("creates a key without a body", async () => {
    const project = await createProject();
    const r = await call("POST", `/v1/projects/${project}/keys`);
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(PROJECT_KEY);
  });

  it("answers 404 project_not_found for an unknown or malformed project id", async () => {
    expectError(await call("POST", `/v1/projects/${uniqueProjectId()}/keys`, { body: {} }), 404, "project_not_found");
    expectError(await call("POST", "/v1/projects/NOT-AN-ID/keys", { body: {} }), 404, "project_not_found");
  });

  it.each([
    ["an unknown field", { name: "x", scope: "ingest" }, '"scope"'],
    ["a name over 200 characters", { name: "n".repeat(201) }, "name"],
    ["a name that is not a string", { name: 5 }, "name"],
    ["a JSON null body", null, "body must be a JSON object"],
  ])("refuses %s with 400 naming the field", async (_label, body, field) => {
    const project = await createProject();
    expectError(await call("POST", `/v1/projects/${project}/keys`, { body }), 400, "invalid_request", field);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE project_id = ?").bind(project).first<{ n: number }>();
    expect(n?.n).toBe(0);
  });
});

describe("ingest keys", () => {
  it("creates a cmx_ik_ key for a host", async () => {
    const r = await call("POST", "/v1/ingest-keys", { body: { host_id: "gpu-host-17.us-east", name: "rack 4" } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ key_id: expect.stringMatching(KEY_ID), key: expect.stringMatching(INGEST_KEY), scope: "ingest", host_id: "gpu-host-17.us-east" });
    expect(base64urlBytes(r.body.key.slice("cmx_ik_".length)).length * 8).toBeGreaterThanOrEqual(128);
    const row = await env.DB.prepare("SELECT scope, host_id, project_id FROM api_keys WHERE key_id = ?").bind(r.body.key_id).first();
    expect(row).toEqual({ scope: "ingest", host_id: "gpu-host-17.us-east", project_id: null });
  });

  it("accepts a host_id of 128 printable characters", async () => {
    expect((await call("POST", "/v1/ingest-keys", { body: { host_id: "h".repeat(128) } })).status).toBe(201);
  });

  it.each([
    ["a missing host_id", {}, "host_id"],
    ["an empty host_id", { host_id: "" }, "host_id"],
    ["a host_id with a space", { host_id: "gpu host" }, "host_id"],
    ["a host_id over 128 characters", { host_id: "h".repeat(129) }, "host_id"],
    ["a non-ASCII host_id", { host_id: "höst" }, "host_id"],
    ["a host_id that is not a string", { host_id: 17 }, "host_id"],
    ["an unknown field", { host_id: "h1", project_id: "p-abcd1234" }, '"project_id"'],
  ])("refuses %s with 400 naming the field", async (_label, body, field) => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>();
    expectError(await call("POST", "/v1/ingest-keys", { body }), 400, "invalid_request", field);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("needs a body (400 invalid_json when empty)", async () => {
    expectError(await call("POST", "/v1/ingest-keys"), 400, "invalid_json");
  });
});

describe("DELETE /v1/keys/:key_id", () => {
  it("revokes a project key: 204, then 401 with that key", async () => {
    const project = await createProject();
    const key = await createProjectKey(project);
    const path = `/v1/projects/${project}/metrics-export`;
    expect((await call("GET", path, { token: key.key })).status).toBe(200);
    const r = await call("DELETE", `/v1/keys/${key.key_id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expectError(await call("GET", path, { token: key.key }), 401, "unauthorized");
    const row = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE key_id = ?").bind(key.key_id).first<{ revoked_at: string }>();
    expect(row?.revoked_at).toEqual(expect.any(String));
  });

  it("revokes an ingest key: 204, then 401 with that key", async () => {
    const key = await createIngestKey("gpu-host-revoke");
    expect((await call("DELETE", `/v1/keys/${key.key_id}`)).status).toBe(204);
    const r = await call("POST", "/v1/samples", { token: key.key, body: { host_id: "gpu-host-revoke", batch_id: "b", samples: [{}] } });
    expectError(r, 401, "unauthorized");
  });

  it("leaves other keys of the same project working", async () => {
    const project = await createProject();
    const revoked = await createProjectKey(project);
    const kept = await createProjectKey(project);
    expect((await call("DELETE", `/v1/keys/${revoked.key_id}`)).status).toBe(204);
    expect((await call("GET", `/v1/projects/${project}/metrics-export`, { token: kept.key })).status).toBe(200);
  });

  it("revoking twice is harmless (204) and keeps the first revocation time", async () => {
    const project = await createProject();
    const key = await createProjectKey(project);
    expect((await call("DELETE", `/v1/keys/${key.key_id}`)).status).toBe(204);
    const first = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE key_id = ?").bind(key.key_id).first<{ revoked_at: string }>();
    expect((await call("DELETE", `/v1/keys/${key.key_id}`)).status).toBe(204);
    const second = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE key_id = ?").bind(key.key_id).first<{ revoked_at: string }>();
    expect(second?.revoked_at).toBe(first?.revoked_at);
  });

  it("answers 404 key_not_found for an unknown or malformed key id", async () => {
    expectError(await call("DELETE", "/v1/keys/key_0000000000000000"), 404, "key_not_found");
    expectError(await call("DELETE", "/v1/keys/not-a-key-id"), 404, "key_not_found");
  });

  it("does not accept the key itself in place of its id", async () => {
    const project = await createProject();
    const key = await createProjectKey(project);
    expectError(await call("DELETE", `/v1/keys/${key.key}`), 404, "key_not_found");
    expect((await call("GET", `/v1/projects/${project}/metrics-export`, { token: key.key })).status).toBe(200);
  });
});

describe("key storage", () => {
  it("stores keys only as SHA-256 hashes: no api_keys row holds the key or its secret part", async () => {
    const project = await createProject();
    const projectKey = await createProjectKey(project);
    const ingestKey = await createIngestKey("gpu-host-hash");
    const rows = (await env.DB.prepare("SELECT * FROM api_keys").all<Record<string, unknown>>()).results;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const dump = JSON.stringify(rows);
    for (const { key, key_id } of [projectKey, ingestKey]) {
      const secret = key.slice("cmx_xx_".length);
      expect(dump).not.toContain(secret);
      expect(dump.toLowerCase()).not.toContain(secret.toLowerCase());
      const row = rows.find((r) => r.key_id === key_id);
      expect(row?.key_hash).toBe(await sha256Hex(key));
      for (const value of Object.values(row ?? {})) {
        if (typeof value === "string") expect(value).not.toContain(secret.slice(0, 16));
      }
    }
  });
});

describe("names are printable", () => {
  it.each([
    ["POST", "/v1/projects", { name: "bad\nname" }, "name"],
    ["POST", "/v1/projects", { name: "nul\u0000" }, "name"],
  ])("%s %s %j → 400 naming %s", async (method, path, body, field) => {
    const r = await call(method, path, { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toContain(field);
  });

  it("a key name with a control character is refused", async () => {
    const project = await createProject();
    const r = await call("POST", `/v1/projects/${project}/keys`, { body: { name: "tab\there" } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("name");
  });
});
