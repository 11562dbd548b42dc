/**
 * The project's audit log (issue 14): who changed which export, notification or key setting, what
 * changed field by field (secrets only as "added" / "value replaced" / "removed", a webhook URL only
 * as its origin), newest first, paged with `limit` and the `before` cursor. Refused requests leave no
 * entry, and no secret reaches an entry or a stored audit row.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { hookUrl, newNamespace, receiverOrigin, receiverUrl, script } from "../receiver/client";
import { call, createNamedProjectKey, createProject, leaksOf, objectRowsText, openSession, projectStub, sessionHeaders, type CallOptions } from "./helpers";

const audit = (p: string, query = "") => `/v1/projects/${p}/audit${query}`;
const exportPath = (p: string) => `/v1/projects/${p}/metrics-export`;
const notifications = (p: string) => `/v1/projects/${p}/notifications`;
const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

async function entries(projectId: string, options: CallOptions = {}): Promise<any[]> {
  const r = await call("GET", audit(projectId, "?limit=100"), options);
  expect(r.status, r.text).toBe(200);
  expect(r.body.next_before).toBeNull();
  return r.body.entries;
}

async function ok(method: string, path: string, options: CallOptions = {}, status = 200) {
  const r = await call(method, path, options);
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
  return r;
}

/** The audit fields of an export, in their documented order (src/audit/changes.ts). */
const EXPORT_FIELDS = ["name", "destination", "endpoint", "enabled", "protocol", "compression", "temporality", "histogram_bounds_ms", "filters"];

function expectNewestFirst(list: any[]) {
  for (let i = 1; i < list.length; i++) {
    expect(list[i].id).toBeLessThan(list[i - 1].id);
    expect(Date.parse(list[i].at)).toBeLessThanOrEqual(Date.parse(list[i - 1].at));
  }
}

describe("the issue's scenario", () => {
  it("with a named project key: PUT (creating), PATCH of one header, resume, DELETE → four entries newest first, the key as actor, no secret anywhere", async () => {
    const projectId = await createProject();
    const key = await createNamedProjectKey(projectId, "ci-deployer");
    const secrets = [`Bearer AUDIT-${randomHex(12)}`, `AUDIT-KEY-${randomHex(12)}`, `AUDIT-NEW-${randomHex(12)}`];
    const endpoint = receiverUrl(newNamespace());
    const asKey = { token: key.key };
    await ok("PUT", exportPath(projectId), { ...asKey, body: { name: "Grafana", endpoint, headers: [{ name: "Authorization", value: secrets[0] }, { name: "X-Api-Key", value: secrets[1] }] } });
    await ok("PATCH", exportPath(projectId), { ...asKey, body: { headers: [{ name: "Authorization" }, { name: "X-Api-Key", value: secrets[2] }] } });
    await ok("POST", `${exportPath(projectId)}/resume`, asKey);
    await ok("DELETE", exportPath(projectId), asKey, 204);

    const r = await ok("GET", audit(projectId), asKey);
    const list = r.body.entries as any[];
    expect(r.body.next_before).toBeNull();
    const actor = { kind: "key", key_id: key.key_id, key_name: "ci-deployer" };
    const target = { kind: "export", id: "default", name: "Grafana" };
    expect(list.map((e) => e.action)).toEqual(["export.deleted", "export.resumed", "export.updated", "export.created", "key.created"]);
    expectNewestFirst(list);
    const [deleted, resumed, updated, created, keyCreated] = list;
    expect(deleted).toEqual({ id: expect.any(Number), at: expect.any(String), actor, action: "export.deleted", target, changes: [], outcome: "deleted" });
    expect(resumed).toEqual({ id: expect.any(Number), at: expect.any(String), actor, action: "export.resumed", target, changes: [], outcome: "resumed" });
    expect(updated).toEqual({
      id: expect.any(Number),
      at: expect.any(String),
      actor,
      action: "export.updated",
      target,
      changes: [{ field: "headers.X-Api-Key", change: "value replaced" }],
      outcome: "saved",
    });
    expect(created).toMatchObject({ actor, action: "export.created", target, outcome: "created" });
    expect(created.changes.map((c: any) => c.field)).toEqual([...EXPORT_FIELDS, "headers.Authorization", "headers.X-Api-Key"]);
    expect(created.changes.slice(0, 4)).toEqual([
      { field: "name", new: "Grafana" },
      { field: "destination", new: "custom" },
      { field: "endpoint", new: endpoint },
      { field: "enabled", new: true },
    ]);
    expect(created.changes.slice(-2)).toEqual([
      { field: "headers.Authorization", change: "added" },
      { field: "headers.X-Api-Key", change: "added" },
    ]);
    // The key's own creation was done by the admin.
    expect(keyCreated).toMatchObject({ actor: { kind: "admin" }, action: "key.created", target: { kind: "key", id: key.key_id, name: "ci-deployer" } });

    expect(leaksOf(r.text, secrets)).toEqual([]);
    const raw = await objectRowsText(projectId, ["audit_log"]);
    expect(raw).toContain("headers.X-Api-Key");
    expect(leaksOf(raw, [...secrets, secrets[0]!.slice("Bearer ".length)])).toEqual([]);
  });

  it("with the admin token, on an export that exists: the PUT is export.updated, the actor admin", async () => {
    const projectId = await createProject();
    const endpoint = receiverUrl(newNamespace());
    const secret = `AUDIT-ADMIN-${randomHex(12)}`;
    await ok("PUT", exportPath(projectId), { body: { endpoint, headers: [{ name: "X-Api-Key", value: secret }, { name: "X-Org", value: "org-1" }] } });
    const before = await entries(projectId);
    expect(before.map((e) => e.action)).toEqual(["export.created"]);

    // The headers given by name only: kept, so the PUT's only change is the endpoint.
    await ok("PUT", exportPath(projectId), { body: { endpoint: `${endpoint}/v2`, headers: [{ name: "X-Api-Key" }, { name: "X-Org" }] } });
    await ok("PATCH", exportPath(projectId), { body: { headers: [{ name: "X-Api-Key", value: `${secret}-2` }, { name: "X-Org" }] } });
    await ok("POST", `${exportPath(projectId)}/resume`);
    await ok("DELETE", exportPath(projectId), {}, 204);
    const list = await entries(projectId);
    expect(list.map((e) => e.action)).toEqual(["export.deleted", "export.resumed", "export.updated", "export.updated", "export.created"]);
    expectNewestFirst(list);
    for (const e of list) expect(e.actor).toEqual({ kind: "admin" });
    expect(list[2].changes).toEqual([{ field: "headers.X-Api-Key", change: "value replaced" }]);
    expect(list[3].changes).toEqual([{ field: "endpoint", old: endpoint, new: `${endpoint}/v2` }]);
    expect(list[4].id).toBe(before[0].id);
    expect(leaksOf(JSON.stringify(list), [secret, `${secret}-2`])).toEqual([]);
    expect(leaksOf(await objectRowsText(projectId, ["audit_log"]), [secret, `${secret}-2`])).toEqual([]);
  });

  it("through the page's session, the actor is the key the session was opened with", async () => {
    const projectId = await createProject();
    const key = await createNamedProjectKey(projectId, "Alice's laptop");
    const session = await openSession(key.key);
    await ok("PUT", exportPath(projectId), { token: null, headers: sessionHeaders(session), body: { endpoint: receiverUrl(newNamespace()), enabled: false } });
    const [latest] = await entries(projectId, { token: null, headers: sessionHeaders(session) });
    expect(latest).toMatchObject({ action: "export.created", actor: { kind: "key", key_id: key.key_id, key_name: "Alice's laptop" } });
  });

  it("a resume after a pause says so, and a save that clears the failures says so", async () => {
    const projectId = await createProject();
    const ns = newNamespace();
    await ok("PUT", exportPath(projectId), { body: { endpoint: receiverUrl(ns) } });
    // Pushes need data: one run.
    const hostId = `host-${ns.slice(0, 8)}`;
    const ingest = await ok("POST", "/v1/ingest-keys", { body: { host_id: hostId } }, 201);
    await ok(
      "POST",
      "/v1/samples",
      {
        token: ingest.body.key,
        body: { host_id: hostId, batch_id: "b", samples: [{ type: "run", project_id: projectId, app_name: "a", region: "r", time: Date.now(), execution_ms: 1, queue_ms: 1, response_ms: 1, success: true }] },
      },
      202,
    );
    await script(ns, Array.from({ length: 10 }, () => ({ status: 400 })));
    for (let i = 0; i < 10; i++) expect((await ok("POST", `${exportPath(projectId)}/flush`)).body.ok).toBe(false);
    // The resume's prompt push (the alarm) fails again: one failure to clear.
    await script(ns, [{ status: 400 }]);
    await ok("POST", `${exportPath(projectId)}/resume`);
    await runDurableObjectAlarm(projectStub(projectId));
    await vi.waitFor(async () => expect((await ok("GET", exportPath(projectId))).body.status.consecutive_failures).toBe(1), { timeout: 3_000 });
    await ok("PATCH", exportPath(projectId), { body: { compression: "none" } });
    const [saved, resumed] = await entries(projectId);
    expect(resumed).toMatchObject({ action: "export.resumed", changes: [], outcome: "resumed after 10 consecutive failures" });
    expect(saved).toMatchObject({ action: "export.updated", changes: [{ field: "compression", old: "gzip", new: "none" }], outcome: "saved; failures and pause cleared" });
    // Pushes themselves are not configuration changes.
    expect((await entries(projectId)).map((e) => e.action)).toEqual(["export.updated", "export.resumed", "export.created"]);
  });
});

describe("keys", () => {
  it("creation and revocation of a project key appear as key.created and key.revoked (once), by the admin", async () => {
    const projectId = await createProject();
    const key = await createNamedProjectKey(projectId, "deploy-bot");
    await ok("DELETE", `/v1/keys/${key.key_id}`, {}, 204);
    await ok("DELETE", `/v1/keys/${key.key_id}`, {}, 204); // already revoked: a no-op, no second entry
    const unnamed = await ok("POST", `/v1/projects/${projectId}/keys`, { body: {} }, 201);
    // Ingest keys belong to no project.
    await ok("POST", "/v1/ingest-keys", { body: { host_id: `audit-host-${randomHex(4)}` } }, 201);
    const list = await entries(projectId);
    expect(list).toEqual([
      { id: expect.any(Number), at: expect.any(String), actor: { kind: "admin" }, action: "key.created", target: { kind: "key", id: unnamed.body.key_id, name: "" }, changes: [], outcome: "created" },
      { id: expect.any(Number), at: expect.any(String), actor: { kind: "admin" }, action: "key.revoked", target: { kind: "key", id: key.key_id, name: "deploy-bot" }, changes: [], outcome: "revoked" },
      { id: expect.any(Number), at: expect.any(String), actor: { kind: "admin" }, action: "key.created", target: { kind: "key", id: key.key_id, name: "deploy-bot" }, changes: [], outcome: "created" },
    ]);
    expectNewestFirst(list);
    // The key's secret is nowhere in the log.
    expect(leaksOf(JSON.stringify(list), [key.key, unnamed.body.key])).toEqual([]);
    expect(leaksOf(await objectRowsText(projectId, ["audit_log"]), [key.key, unnamed.body.key])).toEqual([]);
  });

  describe("when the entry cannot be written (the object's audit table hidden for the moment)", () => {
    const hideLog = (projectId: string, hidden: boolean) =>
      runInDurableObject(projectStub(projectId), (_i, state) =>
        state.storage.sql.exec(hidden ? "ALTER TABLE audit_log RENAME TO audit_log_hidden" : "ALTER TABLE audit_log_hidden RENAME TO audit_log"),
      );
    const keyRows = (projectId: string) => env.DB.prepare("SELECT key_id, revoked_at FROM api_keys WHERE project_id = ?").bind(projectId).all();

    it("a key creation fails with 500 and leaves no key behind", async () => {
      const projectId = await createProject();
      await ok("GET", audit(projectId)); // binds the object
      await hideLog(projectId, true);
      const r = await call("POST", `/v1/projects/${projectId}/keys`, { body: { name: "unaudited" } });
      await hideLog(projectId, false);
      expect(r.status).toBe(500);
      expect(r.text).not.toContain("cmx_pk_");
      expect((await keyRows(projectId)).results).toEqual([]);
      expect(await entries(projectId)).toEqual([]);
    });

    it("a revocation is kept (500), and the retried DELETE records exactly one entry", async () => {
      const projectId = await createProject();
      const key = await createNamedProjectKey(projectId, "retried");
      await hideLog(projectId, true);
      const r = await call("DELETE", `/v1/keys/${key.key_id}`);
      await hideLog(projectId, false);
      expect(r.status).toBe(500);
      expect((await keyRows(projectId)).results).toEqual([{ key_id: key.key_id, revoked_at: expect.any(String) }]);
      expect((await call("GET", audit(projectId), { token: key.key })).status).toBe(401); // revoked all the same
      expect((await entries(projectId)).map((e) => e.action)).toEqual(["key.created"]);
      await ok("DELETE", `/v1/keys/${key.key_id}`, {}, 204);
      await ok("DELETE", `/v1/keys/${key.key_id}`, {}, 204);
      expect((await entries(projectId)).map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
    });
  });
});

describe("notifications", () => {
  it("create, patch and delete appear with the URL only as \"value replaced\" and its origin, the secret only as added or replaced", async () => {
    const projectId = await createProject();
    const key = await createNamedProjectKey(projectId, "ops");
    const asKey = { token: key.key };
    const tokens = [`path-${randomHex(10)}`, `path-${randomHex(10)}`, `query-${randomHex(10)}`];
    const port = new URL(receiverOrigin()).port;
    const firstUrl = hookUrl(newNamespace(), `/${tokens[0]}`);
    const created = await ok("POST", notifications(projectId), { ...asKey, body: { name: "Pager", url: firstUrl, format: "json", events: ["export.paused"] } }, 201);
    const id = created.body.notification_id;
    const secrets = [created.body.secret];
    const movedUrl = `http://localhost:${port}/r/${newNamespace()}/hook/${tokens[1]}?k=${tokens[2]}`;
    await ok("PATCH", `${notifications(projectId)}/${id}`, { ...asKey, body: { url: movedUrl, quiet_period_seconds: 60 } });
    const rotated = await ok("PATCH", `${notifications(projectId)}/${id}`, { ...asKey, body: { rotate_secret: true, events: ["export.paused", "export.failing"] } });
    secrets.push(rotated.body.secret);
    await ok("PATCH", `${notifications(projectId)}/${id}`, { ...asKey, body: { events: ["export.failing", "export.paused"] } }); // the same set: no change
    await ok("DELETE", `${notifications(projectId)}/${id}`, asKey, 204);

    const r = await ok("GET", audit(projectId), asKey);
    const list = (r.body.entries as any[]).filter((e) => e.target.kind === "notification");
    const actor = { kind: "key", key_id: key.key_id, key_name: "ops" };
    const target = { kind: "notification", id, name: "Pager" };
    expect(list.map((e) => [e.action, e.outcome])).toEqual([
      ["notification.deleted", "deleted"],
      ["notification.updated", "saved"],
      ["notification.updated", "saved"],
      ["notification.updated", "saved"],
      ["notification.created", "created"],
    ]);
    for (const e of list) expect(e).toMatchObject({ actor, target });
    const [deleted, same, rotation, moved, creation] = list;
    expect(creation.changes).toEqual([
      { field: "name", new: "Pager" },
      { field: "format", new: "json" },
      { field: "events", new: ["export.paused"] },
      { field: "quiet_period_seconds", new: 600 },
      { field: "url", change: "added" },
      { field: "url_origin", new: receiverOrigin() },
      { field: "secret", change: "added" },
    ]);
    expect(moved.changes).toEqual([
      { field: "quiet_period_seconds", old: 600, new: 60 },
      { field: "url", change: "value replaced" },
      { field: "url_origin", old: receiverOrigin(), new: `http://localhost:${port}` },
    ]);
    expect(rotation.changes).toEqual([
      { field: "events", old: ["export.paused"], new: ["export.paused", "export.failing"] },
      { field: "secret", change: "value replaced" },
    ]);
    expect(same.changes).toEqual([]);
    expect(deleted.changes).toEqual([]);

    const needles = [...secrets, firstUrl, movedUrl, ...tokens];
    expect(leaksOf(r.text, needles)).toEqual([]);
    expect(leaksOf(await objectRowsText(projectId, ["audit_log"]), needles)).toEqual([]);
  });
});

describe("paging", () => {
  it("limit and the before cursor give disjoint consecutive pages, newest first, until next_before is null", async () => {
    const projectId = await createProject();
    const h = await ok("POST", notifications(projectId), { body: { url: hookUrl(newNamespace()), format: "json" } }, 201);
    for (let i = 0; i < 6; i++) await ok("PATCH", `${notifications(projectId)}/${h.body.notification_id}`, { body: { quiet_period_seconds: i + 1 } });
    const all = await entries(projectId);
    expect(all).toHaveLength(7);
    expectNewestFirst(all);

    const pages: any[][] = [];
    let before: number | null = null;
    for (;;) {
      const r = await ok("GET", audit(projectId, `?limit=3${before === null ? "" : `&before=${before}`}`));
      pages.push(r.body.entries);
      expect(r.body.entries.length).toBeLessThanOrEqual(3);
      if (r.body.next_before === null) break;
      expect(r.body.next_before).toBe(r.body.entries.at(-1).id);
      before = r.body.next_before;
      expect(pages.length).toBeLessThan(5);
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(all);
    expect(new Set(pages.flat().map((e) => e.id)).size).toBe(7);

    // One at a time, too; a cursor at the oldest entry gives an empty last page.
    const first = await ok("GET", audit(projectId, "?limit=1"));
    expect(first.body).toEqual({ entries: [all[0]], next_before: all[0].id });
    const empty = await ok("GET", audit(projectId, `?before=${all.at(-1).id}`));
    expect(empty.body).toEqual({ entries: [], next_before: null });
    // The default page is 50: all seven, no cursor.
    expect((await ok("GET", audit(projectId))).body).toEqual({ entries: all, next_before: null });
    // A project without entries.
    expect((await ok("GET", audit(await createProject()))).body).toEqual({ entries: [], next_before: null });
  });

  it.each([
    ["limit=0", /limit/],
    ["limit=101", /limit/],
    ["limit=-1", /limit/],
    ["limit=1.5", /limit/],
    ["limit=abc", /limit/],
    ["limit=", /limit/],
    ["limit=1e2", /limit/],
    ["limit=010", /limit/],
    ["before=0", /before/],
    ["before=-1", /before/],
    ["before=abc", /before/],
    ["before=1.5", /before/],
    ["before=", /before/],
    ["before=12345678901234567", /before/],
    ["limit=5&before=x", /before/],
  ])("?%s → 400 invalid_request", async (query, message) => {
    const projectId = await createProject();
    const r = await call("GET", audit(projectId, `?${query}`));
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
  });
});

describe("refused requests", () => {
  it("a 400, 404 or 409 adds no entry", async () => {
    const projectId = await createProject();
    const other = await createProject();
    const endpoint = receiverUrl(newNamespace());
    await ok("POST", `/v1/projects/${projectId}/metrics-exports`, { body: { name: "First", endpoint } }, 201);
    const hooks: string[] = [];
    for (const name of ["A", "B", "C"]) hooks.push((await ok("POST", notifications(projectId), { body: { name, url: hookUrl(newNamespace()), format: "json" } }, 201)).body.notification_id);
    const before = await entries(projectId);
    const rawBefore = await objectRowsText(projectId, ["audit_log"]);
    expect(before).toHaveLength(4);

    const refused: [string, string, unknown, number][] = [
      ["PUT", exportPath(projectId), { endpoint: "ftp://x.example" }, 400],
      ["PUT", exportPath(projectId), { endpoint, headers: [{ name: "X-A", value: "a\r\nb" }] }, 400],
      ["PATCH", exportPath(projectId), {}, 400],
      ["POST", `/v1/projects/${projectId}/metrics-exports`, { name: "first", endpoint }, 409],
      ["PATCH", `/v1/projects/${projectId}/metrics-exports/nope`, { enabled: false }, 404],
      ["POST", `/v1/projects/${projectId}/metrics-exports/nope/resume`, undefined, 404],
      ["DELETE", `/v1/projects/${projectId}/metrics-exports/nope`, undefined, 404],
      ["POST", notifications(projectId), { url: hookUrl(newNamespace()), format: "json" }, 409],
      ["POST", notifications(projectId), { url: "https://u:p@hooks.example.com", format: "json" }, 400],
      ["PATCH", `${notifications(projectId)}/${hooks[1]}`, { name: "a" }, 409],
      ["PATCH", `${notifications(projectId)}/${hooks[1]}`, { events: [] }, 400],
      ["PATCH", `${notifications(projectId)}/n-aaaaaaaaaa`, { name: "x" }, 404],
      ["DELETE", `${notifications(projectId)}/n-aaaaaaaaaa`, undefined, 404],
      ["POST", `/v1/projects/${projectId}/keys`, { name: 7 }, 400],
    ];
    for (const [method, path, body, status] of refused) {
      const r = await call(method, path, { body });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
    }
    // Another project's key is refused before anything happens.
    const otherKey = await createNamedProjectKey(other, "other");
    expect((await call("DELETE", `${notifications(projectId)}/${hooks[0]}`, { token: otherKey.key })).status).toBe(403);
    expect((await call("GET", audit(projectId), { token: otherKey.key })).status).toBe(403);

    expect(await entries(projectId)).toEqual(before);
    expect(await objectRowsText(projectId, ["audit_log"])).toBe(rawBefore);
  });
});

describe("retention", () => {
  const insert = (projectId: string, rows: { at: number; name: string }[]) =>
    runInDurableObject(projectStub(projectId), (_i, state) => {
      for (const r of rows) {
        state.storage.sql.exec(
          "INSERT INTO audit_log (at, actor, action, target_kind, target_id, target_name, changes, outcome) VALUES (?, '{\"kind\":\"admin\"}', 'key.created', 'key', ?, ?, '[]', 'created')",
          r.at,
          r.name,
          r.name,
        );
      }
    });
  const seqs = (projectId: string) =>
    runInDurableObject(projectStub(projectId), (_i, state) => state.storage.sql.exec<{ seq: number; target_id: string }>("SELECT seq, target_id FROM audit_log ORDER BY seq").toArray());

  it("keeps at most 1000 entries per project: each new one beyond drops the oldest", async () => {
    const projectId = await createProject();
    await ok("GET", audit(projectId)); // binds the object
    await insert(projectId, Array.from({ length: 1000 }, (_, i) => ({ at: Date.now(), name: `old-${i}` })));
    expect(await seqs(projectId)).toHaveLength(1000);
    await ok("POST", notifications(projectId), { body: { url: hookUrl(newNamespace()), format: "json" } }, 201);
    const after = await seqs(projectId);
    expect(after).toHaveLength(1000);
    expect(after[0]!.target_id).toBe("old-1");
    expect((await ok("GET", audit(projectId, "?limit=1"))).body.entries[0].action).toBe("notification.created");
  });

  it("bounds an entry's size: a save with the largest filters stores their sizes in place of the values", async () => {
    const projectId = await createProject();
    const globs = (tag: string) => Array.from({ length: 64 }, (_, i) => `${tag}-${i}-`.padEnd(128, "x"));
    const filters = (tag: string) => ({ apps: { include: globs(`${tag}-app`), exclude: globs(`${tag}-noapp`) }, regions: { include: globs(`${tag}-region`) } });
    await ok("PUT", exportPath(projectId), { body: { endpoint: receiverUrl(newNamespace()), filters: filters("a") } });
    await ok("PATCH", exportPath(projectId), { body: { filters: filters("b"), enabled: false } });
    const [updated, created] = await entries(projectId);
    const omitted = (value: unknown) => `[omitted: ${new TextEncoder().encode(JSON.stringify(value)).byteLength} bytes]`;
    expect(updated.changes).toEqual([
      { field: "enabled", old: true, new: false },
      { field: "filters", old: omitted(filters("a")), new: omitted(filters("b")) },
    ]);
    expect(created.changes.find((c: any) => c.field === "filters")).toEqual({ field: "filters", new: omitted(filters("a")) });
    const stored = await runInDurableObject(projectStub(projectId), (_i, state) =>
      state.storage.sql.exec<{ bytes: number }>("SELECT MAX(LENGTH(CAST(changes AS BLOB))) AS bytes FROM audit_log").one().bytes,
    );
    expect(stored).toBeLessThanOrEqual(16 * 1024);
  });

  it("drops entries older than 90 days at housekeeping, keeps younger ones", async () => {
    const projectId = await createProject();
    await ok("GET", audit(projectId));
    const day = 24 * 60 * 60 * 1000;
    await insert(projectId, [
      { at: Date.now() - 91 * day, name: "91-days" },
      { at: Date.now() - 89 * day, name: "89-days" },
    ]);
    await runInDurableObject(projectStub(projectId), (_i, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(projectStub(projectId))).toBe(true);
    expect((await seqs(projectId)).map((r) => r.target_id)).toEqual(["89-days"]);
  });
});
