/**
 * Notification webhooks (issue 14), their settings: CRUD with the URL and the signing secret kept out
 * of every answer and every stored row, the validation of every field, and re-sealing under a rotated
 * encryption key. The events and their delivery: notifications.test.ts.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { verifySignature } from "../../src/notifications/signature";
import { hookRequests, hookUrl, newNamespace, receiverOrigin, receiverUrl, script } from "../receiver/client";
import { call, createProject, leaksOf, objectDump, objectRowsText, projectStub } from "./helpers";
import { DELIVERY_WAIT, EVENT_TYPES, NOTIFICATION_ID, SECRET, deliveries, exporting, failPushes, getNotification, notifications, nowSec, randomHex, sleep, waitForDeliveries, webhook, type Hook } from "./notification-helpers";
// --- CRUD ----------------------------------------------------------------------------------------------

describe("notification settings", () => {
  it("create answers the secret once; GET and the list never show it, and show the URL as its origin + /…", async () => {
    const projectId = await createProject();
    const pathToken = `path-token-${randomHex(10)}`;
    const url = `${receiverOrigin()}/r/${newNamespace()}/hook/${pathToken}?key=query-${randomHex(6)}`;
    const created = await call("POST", notifications(projectId), { body: { name: "Ops pager", url, format: "json", events: ["export.paused"], quiet_period_seconds: 30 } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toEqual({
      notification_id: expect.stringMatching(NOTIFICATION_ID),
      name: "Ops pager",
      format: "json",
      events: ["export.paused"],
      quiet_period_seconds: 30,
      url: `${receiverOrigin()}/…`,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_delivery: null,
      pending_deliveries: 0,
      secret: expect.stringMatching(SECRET),
    });
    const { notification_id: id, secret } = created.body;
    const { secret: _secret, ...view } = created.body;

    const one = await call("GET", `${notifications(projectId)}/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(view);
    const list = await call("GET", notifications(projectId));
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ notifications: [view] });
    // A PATCH that does not rotate answers no secret either.
    const patched = await call("PATCH", `${notifications(projectId)}/${id}`, { body: { name: "Ops pager 2" } });
    expect(patched.status).toBe(200);
    expect(patched.body.secret).toBeUndefined();
    for (const r of [one, list, patched]) {
      expect(leaksOf(r.text, [secret, url, pathToken])).toEqual([]);
      expect(r.text).not.toContain("secret");
    }

    // Stored: the URL and the secret only sealed. Every table, every cell, as text and hex.
    const raw = await objectRowsText(projectId);
    expect(raw).toContain(id); // the scan does see the row
    expect(leaksOf(raw, [secret, url, pathToken, `/hook/${pathToken}`])).toEqual([]);
    expect(leaksOf(await objectDump(projectId), [secret, url, pathToken])).toEqual([]);
  });

  it("defaults: every event type, a 600 s quiet period, and names Webhook, Webhook 2, Slack", async () => {
    const projectId = await createProject();
    const a = await webhook(projectId);
    const b = await webhook(projectId);
    const c = await webhook(projectId, { format: "slack" });
    expect([a, b, c].map((h) => h.created.name)).toEqual(["Webhook", "Webhook 2", "Slack"]);
    for (const h of [a, b, c]) expect(h.created).toMatchObject({ events: EVENT_TYPES, quiet_period_seconds: 600 });
    expect(new Set([a.secret, b.secret, c.secret]).size).toBe(3);
    expect((await call("GET", notifications(projectId))).body.notifications.map((n: any) => n.notification_id)).toEqual([a.id, b.id, c.id]);
  });

  it("at most 3 per project: the 4th is 409 notification_limit_reached and changes nothing", async () => {
    const projectId = await createProject();
    for (let i = 0; i < 3; i++) await webhook(projectId);
    const before = await objectDump(projectId);
    const fourth = await call("POST", notifications(projectId), { body: { url: hookUrl(newNamespace()), format: "json" } });
    expect(fourth.status).toBe(409);
    expect(fourth.body.error.code).toBe("notification_limit_reached");
    expect(await objectDump(projectId)).toBe(before);
    // Deleting one makes room again.
    const [first] = (await call("GET", notifications(projectId))).body.notifications;
    expect((await call("DELETE", `${notifications(projectId)}/${first.notification_id}`)).status).toBe(204);
    expect((await call("POST", notifications(projectId), { body: { url: hookUrl(newNamespace()), format: "json" } })).status).toBe(201);
  });

  it("names are unique in the project, ignoring case: 409 notification_name_taken on create and patch", async () => {
    const projectId = await createProject();
    const a = await webhook(projectId, { name: "Pager" });
    const b = await webhook(projectId, { name: "Chat" });
    const before = await objectDump(projectId);
    const dup = await call("POST", notifications(projectId), { body: { name: "PAGER", url: hookUrl(newNamespace()), format: "json" } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("notification_name_taken");
    const renamed = await call("PATCH", `${notifications(projectId)}/${b.id}`, { body: { name: " pager " } });
    expect(renamed.status).toBe(409);
    expect(renamed.body.error.code).toBe("notification_name_taken");
    expect(await objectDump(projectId)).toBe(before);
    // Its own name (another case) is fine.
    const same = await call("PATCH", `${notifications(projectId)}/${a.id}`, { body: { name: "PAGER" } });
    expect(same.status).toBe(200);
    expect(same.body.name).toBe("PAGER");
  });

  it("PATCH changes only what it names; a new url moves the origin; rotate_secret answers a new secret that signs from then on", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId, { name: "Hook", events: ["export.failing"] });
    const quiet = await call("PATCH", `${notifications(t.projectId)}/${h.id}`, { body: { quiet_period_seconds: 0 } });
    expect(quiet.status).toBe(200);
    expect(quiet.body).toMatchObject({ name: "Hook", format: "json", events: ["export.failing"], quiet_period_seconds: 0, url: `${receiverOrigin()}/…` });
    expect(quiet.body.secret).toBeUndefined();

    // A new URL (another namespace): deliveries go there, signed with the same secret.
    const moved = newNamespace();
    const patched = await call("PATCH", `${notifications(t.projectId)}/${h.id}`, { body: { url: hookUrl(moved) } });
    expect(patched.status).toBe(200);
    expect(patched.body.secret).toBeUndefined();
    await failPushes(t, 1, { status: 400 });
    const [first] = await waitForDeliveries(moved, 1);
    expect(await hookRequests(h.ns)).toEqual([]);
    expect(await verifySignature(h.secret, first!.request.headers["x-signature"], first!.text, nowSec())).toBe(true);

    const rotated = await call("PATCH", `${notifications(t.projectId)}/${h.id}`, { body: { rotate_secret: true } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(SECRET);
    expect(rotated.body.secret).not.toBe(h.secret);
    expect((await call("GET", `${notifications(t.projectId)}/${h.id}`)).body.secret).toBeUndefined();
    // The next failing run is signed with the new secret only.
    await t.ingest();
    expect((await t.flush()).ok).toBe(true);
    await t.ingest();
    await failPushes(t, 1, { status: 400 });
    const all = await waitForDeliveries(moved, 2);
    const second = all.find((d) => d.body.id !== first!.body.id)!;
    expect(second.body.type).toBe("export.failing");
    expect(await verifySignature(rotated.body.secret, second.request.headers["x-signature"], second.text, nowSec())).toBe(true);
    expect(await verifySignature(h.secret, second.request.headers["x-signature"], second.text, nowSec())).toBe(false);
  });

  it("DELETE removes the webhook and its queued deliveries: nothing more is sent to it", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    // The webhook asks to be retried in a second: the event sits in the queue.
    await script(h.ns, [{ status: 503, headers: { "retry-after": "1" } }]);
    await failPushes(t, 1, { status: 400 });
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.state).toBe("retrying"), DELIVERY_WAIT);
    expect((await getNotification(t.projectId, h.id)).pending_deliveries).toBe(1);
    expect((await call("DELETE", `${notifications(t.projectId)}/${h.id}`)).status).toBe(204);
    const left = await runInDurableObject(t.stub, (_i, state) => ({
      notifications: state.storage.sql.exec("SELECT COUNT(*) AS n FROM notifications").one().n,
      outbox: state.storage.sql.exec("SELECT COUNT(*) AS n FROM notification_outbox").one().n,
      runs: state.storage.sql.exec("SELECT COUNT(*) AS n FROM notification_runs").one().n,
    }));
    expect(left).toEqual({ notifications: 0, outbox: 0, runs: 0 });
    await sleep(1_300);
    expect(await hookRequests(h.ns)).toHaveLength(1);
    const gone = await call("GET", `${notifications(t.projectId)}/${h.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("notification_not_found");
    expect((await call("GET", notifications(t.projectId))).body).toEqual({ notifications: [] });
  });

  it("an unknown or malformed id is 404 notification_not_found on every route, and changes nothing", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId);
    const deleted = await webhook(projectId);
    expect((await call("DELETE", `${notifications(projectId)}/${deleted.id}`)).status).toBe(204);
    const before = await objectDump(projectId);
    const ids = [deleted.id, "n-aaaaaaaaaa", "n-AAAAAAAAAA", "n-0000000000", "n-abc", `${h.id}x`, h.id.toUpperCase(), "x", "default", "..%2F..", "n-%00aaaaaaaaa"];
    for (const id of ids) {
      for (const [method, suffix, body] of [
        ["GET", "", undefined],
        ["PATCH", "", { name: "renamed" }],
        ["DELETE", "", undefined],
        ["POST", "/test", undefined],
      ] as const) {
        const r = await call(method, `${notifications(projectId)}/${id}${suffix}`, { body });
        expect(r.status, `${method} ${id}${suffix}: ${r.text}`).toBe(404);
        expect(r.body.error.code, `${method} ${id}${suffix}`).toBe("notification_not_found");
      }
    }
    expect(await objectDump(projectId)).toBe(before);
    expect(await hookRequests(h.ns)).toEqual([]);
  });

  it("a project that does not exist is 404 project_not_found on every notification route (admin token)", async () => {
    const missing = "p-nosuchproject14";
    for (const [method, path, body] of [
      ["GET", notifications(missing), undefined],
      ["POST", notifications(missing), { url: hookUrl(newNamespace()), format: "json" }],
      ["GET", `${notifications(missing)}/n-aaaaaaaaaa`, undefined],
      ["PATCH", `${notifications(missing)}/n-aaaaaaaaaa`, { name: "x" }],
      ["DELETE", `${notifications(missing)}/n-aaaaaaaaaa`, undefined],
      ["POST", `${notifications(missing)}/n-aaaaaaaaaa/test`, undefined],
      ["GET", `/v1/projects/${missing}/audit`, undefined],
    ] as const) {
      const r = await call(method, path, { body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe("project_not_found");
    }
  });
});

// --- validation ------------------------------------------------------------------------------------

const VALID = () => ({ url: hookUrl(newNamespace()), format: "json" });

/** [what, body, the message's field] — every one a 400 invalid_request naming the field. */
const CREATE_CASES: [string, () => unknown, RegExp][] = [
  ["no url", () => ({ format: "json" }), /^url: /],
  ["url as a number", () => ({ ...VALID(), url: 443 }), /^url: /],
  ["url null", () => ({ ...VALID(), url: null }), /^url: /],
  ["a relative url", () => ({ ...VALID(), url: "/hook" }), /^url: must be an absolute/],
  ["a url without a scheme", () => ({ ...VALID(), url: "hooks.example.com/x" }), /^url: must be an absolute/],
  ["url with user and password", () => ({ ...VALID(), url: "https://user:pass@hooks.example.com/x" }), /^url: must not contain user info/],
  ["url with a user only", () => ({ ...VALID(), url: "https://token@hooks.example.com/x" }), /^url: must not contain user info/],
  ["url with an empty user info", () => ({ ...VALID(), url: "https://@hooks.example.com/x" }), /^url: must not contain user info/],
  ["url with a fragment", () => ({ ...VALID(), url: "https://hooks.example.com/x#frag" }), /^url: must not contain a fragment/],
  ["url with an empty fragment", () => ({ ...VALID(), url: "https://hooks.example.com/x#" }), /^url: must not contain a fragment/],
  ["url of 2,049 characters", () => ({ ...VALID(), url: `https://hooks.example.com/${"a".repeat(2049 - 26)}` }), /^url: must be at most 2048 characters/],
  ["url of 20,000 characters", () => ({ ...VALID(), url: `https://hooks.example.com/${"a".repeat(20_000)}` }), /^url: must be at most 2048 characters/],
  ["an ftp: url", () => ({ ...VALID(), url: "ftp://hooks.example.com/x" }), /^url: must use http or https/],
  ["a javascript: url", () => ({ ...VALID(), url: "javascript:alert(1)" }), /^url: must use http or https/],
  ["a url with CR/LF", () => ({ ...VALID(), url: "https://hooks.example.com/x\r\nHost: evil" }), /^url: must not contain spaces or control characters/],
  ["a url with a space", () => ({ ...VALID(), url: "https://hooks.example.com/a b" }), /^url: must not contain spaces/],
  ["no format", () => ({ url: hookUrl(newNamespace()) }), /^format: /],
  ["format teams", () => ({ ...VALID(), format: "teams" }), /^format: must be "slack" or "json"/],
  ["format in upper case", () => ({ ...VALID(), format: "JSON" }), /^format: must be "slack" or "json"/],
  ["format null", () => ({ ...VALID(), format: null }), /^format: /],
  ["events empty", () => ({ ...VALID(), events: [] }), /^events: must list at least one event type/],
  ["events as a string", () => ({ ...VALID(), events: "export.paused" }), /^events: must be an array of event types/],
  ["an unknown event type", () => ({ ...VALID(), events: ["export.paused", "export.deleted"] }), /^events\[1\]: must be one of "export.failing"/],
  ["an event type in upper case", () => ({ ...VALID(), events: ["EXPORT.PAUSED"] }), /^events\[0\]: /],
  ["an event type listed twice", () => ({ ...VALID(), events: ["export.paused", "export.failing", "export.paused"] }), /^events\[2\]: "export.paused" is listed twice/],
  ["events null", () => ({ ...VALID(), events: null }), /^events: /],
  ["a negative quiet period", () => ({ ...VALID(), quiet_period_seconds: -1 }), /^quiet_period_seconds: must be 0/],
  ["a fractional quiet period", () => ({ ...VALID(), quiet_period_seconds: 1.5 }), /^quiet_period_seconds: must be a whole number/],
  ["a quiet period as a string", () => ({ ...VALID(), quiet_period_seconds: "60" }), /^quiet_period_seconds: must be a number of seconds/],
  ["a quiet period over a day", () => ({ ...VALID(), quiet_period_seconds: 86_401 }), /^quiet_period_seconds: must be at most 86400/],
  ["a quiet period of null", () => ({ ...VALID(), quiet_period_seconds: null }), /^quiet_period_seconds: /],
  ["an empty name", () => ({ ...VALID(), name: "" }), /^name: must not be empty/],
  ["a blank name", () => ({ ...VALID(), name: "   " }), /^name: must not be empty/],
  ["a 65-character name", () => ({ ...VALID(), name: "n".repeat(65) }), /^name: must be at most 64 characters/],
  ["a name with a line break", () => ({ ...VALID(), name: "a\nb" }), /^name: must not contain control characters/],
  ["a name with NUL", () => ({ ...VALID(), name: "a\u0000b" }), /^name: must not contain control characters/],
  ["a name as a number", () => ({ ...VALID(), name: 7 }), /^name: must be a string/],
  ["an unknown field", () => ({ ...VALID(), secret: "whsec_mine" }), /Unknown field: "secret"/],
  ["rotate_secret on create", () => ({ ...VALID(), rotate_secret: true }), /Unknown field: "rotate_secret"/],
  ["headers (not a webhook setting)", () => ({ ...VALID(), headers: [{ name: "X-A", value: "b" }] }), /Unknown field: "headers"/],
  ["a JSON array", () => [VALID()], /must be a JSON object/],
];

const PATCH_CASES: [string, unknown, RegExp][] = [
  ["an empty object", {}, /must change at least one field/],
  ["rotate_secret false", { rotate_secret: false }, /^rotate_secret: must be true/],
  ["rotate_secret as a string", { rotate_secret: "yes" }, /^rotate_secret: must be true/],
  ["url with user info", { url: "https://a:b@hooks.example.com/x" }, /^url: must not contain user info/],
  ["url with a fragment", { url: "https://hooks.example.com/x#y" }, /^url: must not contain a fragment/],
  ["url too long", { url: `https://hooks.example.com/${"a".repeat(2100)}` }, /^url: must be at most 2048/],
  ["url null", { url: null }, /^url: /],
  ["format slack-ish", { format: "mattermost" }, /^format: must be "slack" or "json"/],
  ["events empty", { events: [] }, /^events: must list at least one/],
  ["an unknown event", { events: ["export.created"] }, /^events\[0\]: must be one of/],
  ["quiet period fractional", { quiet_period_seconds: 0.25 }, /^quiet_period_seconds: must be a whole number/],
  ["quiet period too long", { quiet_period_seconds: 100_000 }, /^quiet_period_seconds: must be at most 86400/],
  ["name empty", { name: "" }, /^name: must not be empty/],
  ["name null", { name: null }, /^name: must be a string/],
  ["an unknown field", { name: "x", notification_id: "n-aaaaaaaaaa" }, /Unknown field: "notification_id"/],
  ["the secret itself", { secret: "whsec_mine" }, /Unknown field: "secret"/],
];

describe("validation", () => {
  it.each(CREATE_CASES)("POST: %s → 400 invalid_request naming the field, nothing stored", async (_name, body, message) => {
    const projectId = await createProject();
    const existing = await webhook(projectId);
    const before = await objectDump(projectId);
    const r = await call("POST", notifications(projectId), { body: body() });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
    expect(await objectDump(projectId)).toBe(before);
    expect((await call("GET", notifications(projectId))).body.notifications.map((n: any) => n.notification_id)).toEqual([existing.id]);
  });

  it.each(PATCH_CASES)("PATCH: %s → 400 invalid_request naming the field, nothing changed", async (_name, body, message) => {
    const projectId = await createProject();
    const h = await webhook(projectId, { name: "Keep me", events: ["export.paused"], quiet_period_seconds: 5 });
    const before = await objectDump(projectId);
    const r = await call("PATCH", `${notifications(projectId)}/${h.id}`, { body });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
    expect(await objectDump(projectId)).toBe(before);
    const { secret: _s, ...view } = h.created;
    expect(await getNotification(projectId, h.id)).toEqual(view);
  });

  it("bodies that are not JSON objects: invalid_json, 415 or 413, nothing stored", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId);
    const before = await objectDump(projectId);
    for (const [method, path] of [
      ["POST", notifications(projectId)],
      ["PATCH", `${notifications(projectId)}/${h.id}`],
    ] as const) {
      for (const [rawBody, headers, status, code] of [
        ['{"url":', { "content-type": "application/json" }, 400, "invalid_json"],
        ["", { "content-type": "application/json" }, 400, "invalid_json"],
        ["null", { "content-type": "application/json" }, 400, "invalid_request"],
        [JSON.stringify(VALID()), { "content-type": "text/plain" }, 415, "unsupported_media_type"],
        [JSON.stringify({ ...VALID(), name: "x".repeat(40 * 1024) }), { "content-type": "application/json" }, 413, "payload_too_large"],
      ] as const) {
        const r = await call(method, path, { rawBody, headers });
        expect(r.status, `${method} ${rawBody.slice(0, 20)}: ${r.text}`).toBe(status);
        expect(r.body.error.code).toBe(code);
      }
    }
    expect(await objectDump(projectId)).toBe(before);
  });

  it("accepts the boundaries: 64-character name, quiet period 0 and 86400, a 2048-character url, every event type", async () => {
    const projectId = await createProject();
    const base = hookUrl(newNamespace());
    const url = `${base}/${"a".repeat(2048 - base.length - 1)}`;
    expect(url).toHaveLength(2048);
    const a = await call("POST", notifications(projectId), { body: { url, format: "json", name: "n".repeat(64), quiet_period_seconds: 0, events: [...EVENT_TYPES].reverse() } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ name: "n".repeat(64), quiet_period_seconds: 0, events: [...EVENT_TYPES].reverse() });
    const b = await call("POST", notifications(projectId), { body: { url: base, format: "slack", name: "  trimmed  ", quiet_period_seconds: 86_400 } });
    expect(b.status, b.text).toBe(201);
    expect(b.body).toMatchObject({ name: "trimmed", quiet_period_seconds: 86_400 });
    // The long URL works: the test event reaches it.
    expect((await call("POST", `${notifications(projectId)}/${a.body.notification_id}/test`)).body).toMatchObject({ ok: true, http_status: 204 });
  });
});

describe("encryption key rotation", () => {
  it("a webhook sealed under the previous key is re-sealed under the current one by the alarm, and still delivers", async () => {
    const { env } = await import("cloudflare:test");
    const { HeaderCipher } = await import("../../src/crypto/header-crypto");
    const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const projectId = await createProject();
    // An export gives the object its alarm (an object with only webhooks has nothing to notify about).
    expect((await call("PUT", `/v1/projects/${projectId}/metrics-export`, { body: { endpoint: receiverUrl(newNamespace()) } })).status).toBe(200);
    const h = await webhook(projectId);
    const previous = await HeaderCipher.forProject(projectId, bytesOf(env.HEADER_ENCRYPTION_KEY_PREVIOUS!), null);
    const current = await HeaderCipher.forProject(projectId, bytesOf(env.HEADER_ENCRYPTION_KEY), null);
    const origin = new URL(h.url).origin;
    const bind = (what: "url" | "secret") => ({ exportId: `notification:${h.id}`, headerName: what, origin });
    const oldUrl = await previous.seal(bind("url"), h.url);
    const oldSecret = await previous.seal(bind("secret"), h.secret);
    await runInDurableObject(projectStub(projectId), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE notifications SET key_version = ?, url_iv = ?, url_ct = ?, secret_iv = ?, secret_ct = ? WHERE notification_id = ?",
        oldUrl.keyVersion, oldUrl.iv, oldUrl.ciphertext, oldSecret.iv, oldSecret.ciphertext, h.id,
      );
    });
    const version = () =>
      runInDurableObject(projectStub(projectId), (_i, state) => state.storage.sql.exec<{ v: string }>("SELECT key_version AS v FROM notifications").one().v);
    expect(await version()).toBe(previous.currentVersion);
    expect(await runDurableObjectAlarm(projectStub(projectId))).toBe(true);
    expect(await version()).toBe(current.currentVersion);
    const tested = await call("POST", `${notifications(projectId)}/${h.id}/test`);
    expect(tested.body).toMatchObject({ ok: true, message: null });
    const [sent] = await hookRequests(h.ns);
    expect(await verifySignature(h.secret, sent!.headers["x-signature"], sent!.bodyText!, Math.floor(Date.now() / 1000))).toBe(true);
  });
});
