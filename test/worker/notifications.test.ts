/**
 * Notification webhooks (issue 14): settings CRUD with the URL and the signing secret kept out of
 * every answer and every stored row, the events a push's outcome raises (failing, paused, recovered)
 * as the documented JSON (signed) and as Slack text, the durable delivery queue (retries with the
 * same event id, survives an eviction, gives up on a 4xx), the quiet period, the events filter,
 * `…/test`, and the validation of every field.
 *
 * Webhooks are URLs under the test receiver's `/r/<ns>/hook` (unscripted POSTs there get 204; the
 * receiver keeps each body's raw text, so signatures are verified over the exact bytes sent).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { verifySignature } from "../../src/notifications/signature";
import { hookRequests, hookUrl, newNamespace, receiverOrigin, receiverUrl, script, type RecordedRequest, type ScriptedResponse } from "../receiver/client";
import { call, createIngestKey, createProject, leaksOf, objectDump, objectRowsText, projectStub } from "./helpers";

const notifications = (p: string) => `/v1/projects/${p}/notifications`;
const EVENT_TYPES = ["export.failing", "export.paused", "export.recovered", "export.credentials_unreadable"];
const NOTIFICATION_ID = /^n-[a-z2-7]{10}$/;
const SECRET = /^whsec_[A-Za-z0-9_-]{43}$/;
/** Deliveries are asynchronous (after the push's transaction); a few seconds cover retries too. */
const DELIVERY_WAIT = { timeout: 6_000, interval: 25 };

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSec = () => Math.floor(Date.now() / 1000);

/** A project exporting to the receiver with a distinctive header value, and data ingested. */
async function exporting() {
  const projectId = await createProject();
  const ns = newNamespace();
  const hostId = `host-${ns.slice(0, 8)}`;
  const { key } = await createIngestKey(hostId);
  const headerValue = `NOTIFY-HEADER-${randomHex(12)}`;
  const put = await call("PUT", `/v1/projects/${projectId}/metrics-export`, {
    body: { name: "Grafana prod", endpoint: receiverUrl(ns), headers: [{ name: "X-Scope-Token", value: headerValue }] },
  });
  expect(put.status, put.text).toBe(200);
  const ingest = async () => {
    const r = await call("POST", "/v1/samples", {
      token: key,
      body: {
        host_id: hostId,
        batch_id: crypto.randomUUID(),
        samples: [{ type: "run", project_id: projectId, app_name: "my-model", region: "us-east-1", time: Date.now(), execution_ms: 10, queue_ms: 1, response_ms: 12, success: true }],
      },
    });
    expect(r.status).toBe(202);
  };
  await ingest();
  const flush = async () => {
    const r = await call("POST", `/v1/projects/${projectId}/metrics-export/flush`);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const exportView = async () => (await call("GET", `/v1/projects/${projectId}/metrics-export`)).body;
  return { projectId, ns, headerValue, ingest, flush, exportView, stub: projectStub(projectId) };
}

interface Hook {
  id: string;
  secret: string;
  ns: string;
  url: string;
  created: any;
}

/** Creates a webhook under a fresh receiver namespace (or `url` when given). */
async function webhook(projectId: string, body: Record<string, unknown> = {}, suffix = ""): Promise<Hook> {
  const ns = newNamespace();
  const url = (body.url as string | undefined) ?? hookUrl(ns, suffix);
  const r = await call("POST", notifications(projectId), { body: { format: "json", ...body, url } });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.notification_id, secret: r.body.secret, ns, url, created: r.body };
}

interface Delivery {
  request: RecordedRequest;
  text: string;
  body: any;
}

async function deliveries(ns: string): Promise<Delivery[]> {
  return (await hookRequests(ns)).map((request) => ({ request, text: request.bodyText ?? "", body: JSON.parse(request.bodyText ?? "null") }));
}

/** Waits until the namespace has received exactly `n` deliveries (and returns them). */
async function waitForDeliveries(ns: string, n: number): Promise<Delivery[]> {
  await vi.waitFor(async () => expect((await hookRequests(ns)).length).toBe(n), DELIVERY_WAIT);
  return deliveries(ns);
}

const getNotification = async (projectId: string, id: string) => (await call("GET", `${notifications(projectId)}/${id}`)).body;

/** Waits until no webhook of the project has a delivery queued. */
async function settled(projectId: string): Promise<void> {
  await vi.waitFor(async () => {
    const list = (await call("GET", notifications(projectId))).body.notifications as any[];
    expect(list.map((n) => n.pending_deliveries)).toEqual(list.map(() => 0));
  }, DELIVERY_WAIT);
}

/** The JSON body of a push failing with the receiver's answer `failure` `n` times in a row. */
async function failPushes(t: Awaited<ReturnType<typeof exporting>>, n: number, failure: ScriptedResponse = { status: 400, echoHeaders: true }) {
  await script(t.ns, Array.from({ length: n }, () => failure));
  for (let i = 0; i < n; i++) expect((await t.flush()).ok).toBe(false);
}

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

// --- events ----------------------------------------------------------------------------------------

describe("a paused export", () => {
  it("sends one export.failing at the first failure and exactly one export.paused, signed, with the reason and no header value; recovery sends export.recovered", { timeout: 30_000 }, async () => {
    const t = await exporting();
    const json = await webhook(t.projectId, { name: "JSON" });
    const pausedOnly = await webhook(t.projectId, { name: "Paused only", events: ["export.paused"] });
    const slack = await webhook(t.projectId, { name: "Slack", format: "slack" });

    // The first failure: export.failing to the webhooks that want it, at once.
    await failPushes(t, 1);
    const [failing] = await waitForDeliveries(json.ns, 1);
    expect(failing!.body).toMatchObject({ type: "export.failing", status: { consecutive_failures: 1, paused_at: null }, test: false });
    expect(failing!.request.headers["idempotency-key"]).toBe(failing!.body.id);
    expect(await verifySignature(json.secret, failing!.request.headers["x-signature"], failing!.text, nowSec())).toBe(true);
    const [slackFailing] = await waitForDeliveries(slack.ns, 1);
    expect(slackFailing!.body.text).toMatch(/^:warning: Metrics export "Grafana prod" of project .* is failing: the latest push failed\./);

    // Failures 2..10: nothing new until the pause.
    await failPushes(t, 9);
    const view = await t.exportView();
    expect(view.status).toMatchObject({ state: "paused", consecutive_failures: 10 });
    const lastError = view.status.last_error;
    expect(lastError).toMatchObject({ classification: "bad_request", http_status: 400 });

    const jsonAll = await waitForDeliveries(json.ns, 2);
    const paused = jsonAll[1]!;
    expect(jsonAll.map((d) => d.body.type)).toEqual(["export.failing", "export.paused"]);
    expect(paused.request.headers["content-type"]).toBe("application/json");
    expect(paused.request.headers["idempotency-key"]).toBe(paused.body.id);
    expect(paused.body.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(paused.body.id).not.toBe(failing!.body.id);
    // The signature covers the exact body with the secret answered at creation, and nothing else.
    const signature = paused.request.headers["x-signature"];
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verifySignature(json.secret, signature, paused.text, nowSec())).toBe(true);
    expect(await verifySignature(pausedOnly.secret, signature, paused.text, nowSec())).toBe(false);
    expect(await verifySignature(json.secret, signature, paused.text.replace('"export.paused"', '"export.recovered"'), nowSec())).toBe(false);
    expect(paused.body).toEqual({
      schema_version: 1,
      id: paused.body.id,
      type: "export.paused",
      occurred_at: expect.any(String),
      test: false,
      project: { id: t.projectId },
      export: { id: "default", name: "Grafana prod" },
      status: { consecutive_failures: 10, paused_at: view.status.paused_at, last_success_at: null },
      error: { classification: lastError.classification, http_status: lastError.http_status, message: lastError.message, hint: lastError.hint },
      summary: `Metrics export "Grafana prod" of project ${t.projectId} is paused after 10 consecutive failed pushes.`,
      action: `Fix the cause, then click Re-enable on the Metrics Export page or POST /v1/projects/${t.projectId}/metrics-exports/default/resume`,
      links: { metrics_export_page: `http://edge.test/projects/${t.projectId}/integrations/metrics-export` },
    });
    // The destination echoed the request headers into its error: the message carries their names, never the value.
    expect(paused.body.error.message).toContain('"x-scope-token":"[redacted]"');

    // The events filter: the paused-only webhook got the pause and nothing else.
    const [onlyPause] = await waitForDeliveries(pausedOnly.ns, 1);
    expect(onlyPause!.body.type).toBe("export.paused");
    expect(await verifySignature(pausedOnly.secret, onlyPause!.request.headers["x-signature"], onlyPause!.text, nowSec())).toBe(true);

    // Slack: readable text (and blocks), no signature.
    const slackAll = await waitForDeliveries(slack.ns, 2);
    const slackPaused = slackAll[1]!;
    expect(slackPaused.request.headers["x-signature"]).toBeUndefined();
    expect(slackPaused.request.headers["idempotency-key"]).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(Object.keys(slackPaused.body).sort()).toEqual(["blocks", "text"]);
    const lines = (slackPaused.body.text as string).split("\n");
    expect(lines[0]).toBe(`:red_circle: Metrics export "Grafana prod" of project ${t.projectId} is paused after 10 consecutive failed pushes.`);
    expect(lines[1]).toMatch(/^\*Error\* \(bad_request, HTTP 400\): /);
    expect(lines).toContain(`*Hint:* ${lastError.hint}`);
    expect(lines.some((l) => l.startsWith("*What to do:* Fix the cause"))).toBe(true);
    expect(lines.at(-1)).toBe(`<http://edge.test/projects/${t.projectId}/integrations/metrics-export|Open Metrics Export>`);
    expect(slackPaused.body.blocks.map((b: any) => b.text.text)).toEqual(lines);

    // No webhook body or header anywhere carries the export's header value, in any encoding.
    await settled(t.projectId);
    for (const d of [...jsonAll, ...slackAll, onlyPause!]) {
      expect(leaksOf(d.text, [t.headerValue])).toEqual([]);
      expect(leaksOf(JSON.stringify(d.request.headers), [t.headerValue])).toEqual([]);
    }
    // Exactly one pause: nothing else arrives.
    await sleep(300);
    expect((await hookRequests(json.ns)).length).toBe(2);
    expect((await hookRequests(pausedOnly.ns)).length).toBe(1);
    expect((await getNotification(t.projectId, json.id)).last_delivery).toMatchObject({ event_id: paused.body.id, type: "export.paused", ok: true, http_status: 204, attempts: 1, state: "delivered", error: null, next_attempt_at: null });

    // Resume, then a successful push: export.recovered (not to the paused-only webhook).
    expect((await call("POST", `/v1/projects/${t.projectId}/metrics-export/resume`)).status).toBe(200);
    await runDurableObjectAlarm(t.stub);
    await vi.waitFor(async () => expect((await t.exportView()).status.state).toBe("connected"), DELIVERY_WAIT);
    const withRecovery = await waitForDeliveries(json.ns, 3);
    const recovered = withRecovery[2]!;
    expect(recovered.body).toMatchObject({
      type: "export.recovered",
      export: { id: "default", name: "Grafana prod" },
      status: { consecutive_failures: 0, paused_at: null, last_success_at: expect.any(String) },
      error: null,
      action: null,
      summary: `Metrics export "Grafana prod" of project ${t.projectId} has recovered: the latest push succeeded.`,
    });
    expect(await verifySignature(json.secret, recovered.request.headers["x-signature"], recovered.text, nowSec())).toBe(true);
    const slackRecovered = (await waitForDeliveries(slack.ns, 3))[2]!;
    expect(slackRecovered.body.text).toMatch(/^:large_green_circle: Metrics export "Grafana prod" of project .* has recovered/);
    await settled(t.projectId);
    expect((await hookRequests(pausedOnly.ns)).length).toBe(1);
  });
});

describe("a fix saved while paused", () => {
  it("is followed by export.recovered at the first successful push, once, to the webhooks told of the failure", { timeout: 20_000 }, async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await failPushes(t, 10);
    expect((await waitForDeliveries(h.ns, 2)).map((d) => d.body.type)).toEqual(["export.failing", "export.paused"]);
    // A webhook created after the failure was announced is owed nothing.
    const late = await webhook(t.projectId, { name: "Late" });
    // The user's fix: a save clears failures, pause and error (no Re-enable needed).
    const patch = await call("PATCH", `/v1/projects/${t.projectId}/metrics-export`, { body: { compression: "none" } });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.body.status).toMatchObject({ state: "pending", consecutive_failures: 0, paused_at: null, last_error: null });
    expect((await t.flush()).ok).toBe(true);
    expect((await t.flush()).ok).toBe(true);
    const all = await waitForDeliveries(h.ns, 3);
    expect(all[2]!.body).toMatchObject({ type: "export.recovered", status: { consecutive_failures: 0, paused_at: null, last_success_at: expect.any(String) }, error: null });
    expect(await verifySignature(h.secret, all[2]!.request.headers["x-signature"], all[2]!.text, nowSec())).toBe(true);
    await settled(t.projectId);
    await sleep(300);
    expect((await hookRequests(h.ns)).length).toBe(3);
    expect((await hookRequests(late.ns)).length).toBe(0);
  });
});

describe("delivery", () => {
  it("a webhook failing 3 times (503) gets the same event each time, survives an eviction between tries, and is delivered exactly once", { timeout: 20_000 }, async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    // The first 503 asks for a second's wait (room to look at the queue and evict); the next two use the backoff.
    await script(h.ns, [{ status: 503, headers: { "retry-after": "1" } }, { status: 503 }, { status: 503 }]);
    await failPushes(t, 1, { status: 400 });

    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.attempts).toBe(1), DELIVERY_WAIT);
    const retrying = await getNotification(t.projectId, h.id);
    expect(retrying.pending_deliveries).toBe(1);
    expect(retrying.last_delivery).toMatchObject({ type: "export.failing", ok: false, http_status: 503, attempts: 1, state: "retrying", error: "the webhook answered HTTP 503" });
    const nextAt = Date.parse(retrying.last_delivery.next_attempt_at);
    expect(nextAt - Date.parse(retrying.last_delivery.at)).toBeGreaterThanOrEqual(1_000);

    // The object goes away between tries; the queue is durable and the alarm brings the delivery back.
    await evictDurableObject(t.stub);
    const queued = await runInDurableObject(t.stub, (_i, state) => state.storage.sql.exec("SELECT event_id, attempts FROM notification_outbox").toArray());
    expect(queued).toEqual([{ event_id: retrying.last_delivery.event_id, attempts: 1 }]);
    await evictDurableObject(t.stub);
    // An alarm before the time asked for sends nothing early (Retry-After is honoured).
    await runDurableObjectAlarm(t.stub);
    expect(await hookRequests(h.ns)).toHaveLength(1);

    const all = await waitForDeliveries(h.ns, 4);
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.state).toBe("delivered"), DELIVERY_WAIT);
    expect(all[1]!.request.receivedAtMs).toBeGreaterThanOrEqual(nextAt - 50);
    const ids = all.map((d) => d.body.id);
    expect(new Set(ids)).toEqual(new Set([retrying.last_delivery.event_id]));
    expect(all.map((d) => d.request.headers["idempotency-key"])).toEqual(ids);
    // The same bytes every time, each signed.
    expect(new Set(all.map((d) => d.text)).size).toBe(1);
    for (const d of all) expect(await verifySignature(h.secret, d.request.headers["x-signature"], d.text, nowSec())).toBe(true);
    const done = await getNotification(t.projectId, h.id);
    expect(done.pending_deliveries).toBe(0);
    expect(done.last_delivery).toMatchObject({ event_id: ids[0], ok: true, http_status: 204, attempts: 4, state: "delivered", error: null, next_attempt_at: null });
    // Nothing after the delivery.
    await sleep(400);
    await runDurableObjectAlarm(t.stub);
    expect(await hookRequests(h.ns)).toHaveLength(4);
  });

  it.each([400, 404, 410])("a %i answer gives up at once: one attempt, state \"gave up\", nothing more", async (status) => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await script(h.ns, [{ status }]);
    await failPushes(t, 1, { status: 400 });
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.state).toBe("gave up"), DELIVERY_WAIT);
    const n = await getNotification(t.projectId, h.id);
    expect(n.last_delivery).toMatchObject({ type: "export.failing", ok: false, http_status: status, attempts: 1, state: "gave up", error: `the webhook answered HTTP ${status}`, next_attempt_at: null });
    expect(n.pending_deliveries).toBe(0);
    await sleep(300);
    await runDurableObjectAlarm(t.stub);
    expect(await hookRequests(h.ns)).toHaveLength(1);
  });

  it("a redirect is not followed and gives up", async () => {
    const t = await exporting();
    const elsewhere = newNamespace();
    const h = await webhook(t.projectId);
    await script(h.ns, [{ status: 307, headers: { location: hookUrl(elsewhere) } }]);
    await failPushes(t, 1, { status: 400 });
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.state).toBe("gave up"), DELIVERY_WAIT);
    expect((await getNotification(t.projectId, h.id)).last_delivery).toMatchObject({ http_status: 307, attempts: 1 });
    expect(await hookRequests(elsewhere)).toEqual([]);
  });

  it("a slow webhook does not keep the object's alarm firing while its delivery runs", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    let alarms = 0;
    await runInDurableObject(t.stub, (instance) => {
      const object = instance as unknown as { alarm: () => Promise<void> };
      const alarm = object.alarm.bind(object);
      object.alarm = async () => {
        alarms++;
        return alarm();
      };
    });
    await script(h.ns, [{ delayMs: 300 }]);
    await failPushes(t, 1, { status: 400 });
    await waitForDeliveries(h.ns, 1);
    await settled(t.projectId);
    // The flush's own re-arm may wake it once; an alarm per event loop turn while the webhook took 300 ms was the bug.
    expect(alarms).toBeLessThanOrEqual(2);
  });
});

describe("more delivery paths", () => {
  it("an object evicted in the middle of a delivery delivers the same event again (the queue row outlives the attempt)", { timeout: 15_000 }, async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await script(h.ns, [{ hang: true }]);
    await failPushes(t, 1, { status: 400 });
    await waitForDeliveries(h.ns, 1);
    // Still in its first attempt (the request timeout is 400 ms): nothing recorded yet.
    expect((await getNotification(t.projectId, h.id)).last_delivery).toBeNull();
    await evictDurableObject(t.stub);
    const [first, second] = await waitForDeliveries(h.ns, 2);
    expect(second!.body.id).toBe(first!.body.id);
    expect(second!.request.headers["idempotency-key"]).toBe(first!.body.id);
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery).toMatchObject({ event_id: first!.body.id, state: "delivered", ok: true }), DELIVERY_WAIT);
    await settled(t.projectId);
    expect(await hookRequests(h.ns)).toHaveLength(2);
  });

  it("a webhook that does not answer in time is retried, then delivered", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await script(h.ns, [{ hang: true }]);
    await failPushes(t, 1, { status: 400 });
    const [first, second] = await waitForDeliveries(h.ns, 2);
    expect(second!.body.id).toBe(first!.body.id);
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery).toMatchObject({ state: "delivered", attempts: 2, http_status: 204 }), DELIVERY_WAIT);
  });

  it("a webhook that cannot be reached: …/test says so (no HTTP status)", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId, { url: "http://127.0.0.1:1/hook" });
    const r = await call("POST", `${notifications(projectId)}/${h.id}/test`);
    expect(r.body).toMatchObject({ ok: false, http_status: null, message: "the webhook could not be reached" });
    expect(r.text).not.toContain("127.0.0.1:1");
  });

  it("each export of a project has its own events and its own quiet period", async () => {
    const t = await exporting();
    const otherNs = newNamespace();
    const other = await call("POST", `/v1/projects/${t.projectId}/metrics-exports`, { body: { name: "Datadog EU", endpoint: receiverUrl(otherNs) } });
    expect(other.status, other.text).toBe(201);
    const h = await webhook(t.projectId, { quiet_period_seconds: 600 });
    await script(t.ns, [{ status: 400 }]);
    await script(otherNs, [{ status: 400 }]);
    expect((await call("POST", `/v1/projects/${t.projectId}/metrics-exports/default/flush`)).body.ok).toBe(false);
    expect((await call("POST", `/v1/projects/${t.projectId}/metrics-exports/${other.body.export_id}/flush`)).body.ok).toBe(false);
    const got = await waitForDeliveries(h.ns, 2);
    expect(got.map((d) => [d.body.type, d.body.export]).sort()).toEqual(
      [
        ["export.failing", { id: "default", name: "Grafana prod" }],
        ["export.failing", { id: other.body.export_id, name: "Datadog EU" }],
      ].sort(),
    );
  });

  it("an export whose stored credentials cannot be opened raises export.credentials_unreadable (not export.failing)", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await runInDurableObject(t.stub, (_i, state) => {
      state.storage.sql.exec("UPDATE export_headers SET key_version = '0123456789abcdef'");
    });
    const flushed = await t.flush();
    expect(flushed.error.classification).toBe("credentials_unreadable");
    const [sent] = await waitForDeliveries(h.ns, 1);
    expect(sent!.body).toMatchObject({ type: "export.credentials_unreadable", error: { classification: "credentials_unreadable", http_status: null } });
    expect(sent!.body.summary).toMatch(/cannot decrypt its stored credentials/);
    await settled(t.projectId);
    expect(await hookRequests(h.ns)).toHaveLength(1);
  });

  it("a webhook whose stored URL cannot be opened: deliveries give up, PATCH needs the url again and answers a new secret", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId);
    await runInDurableObject(t.stub, (_i, state) => {
      state.storage.sql.exec("UPDATE notifications SET url_iv = ?", new Uint8Array(12).fill(9));
    });
    await failPushes(t, 1, { status: 400 });
    await vi.waitFor(async () => expect((await getNotification(t.projectId, h.id)).last_delivery?.state).toBe("gave up"), DELIVERY_WAIT);
    expect((await getNotification(t.projectId, h.id)).last_delivery).toMatchObject({ ok: false, http_status: null, attempts: 1, error: expect.stringMatching(/cannot be decrypted/) });
    expect(await hookRequests(h.ns)).toEqual([]);
    expect((await call("POST", `${notifications(t.projectId)}/${h.id}/test`)).body).toMatchObject({ ok: false, http_status: null, message: expect.stringMatching(/cannot be decrypted/) });

    const rename = await call("PATCH", `${notifications(t.projectId)}/${h.id}`, { body: { name: "Renamed" } });
    expect(rename.status).toBe(409);
    expect(rename.body.error.code).toBe("credentials_unreadable");
    const again = await call("PATCH", `${notifications(t.projectId)}/${h.id}`, { body: { url: h.url } });
    expect(again.status, again.text).toBe(200);
    expect(again.body.secret).toMatch(SECRET);
    expect(again.body.secret).not.toBe(h.secret);
    const tested = await call("POST", `${notifications(t.projectId)}/${h.id}/test`);
    expect(tested.body.ok).toBe(true);
    const [sent] = await deliveries(h.ns);
    expect(await verifySignature(again.body.secret, sent!.request.headers["x-signature"], sent!.text, nowSec())).toBe(true);
  });
});

describe("the quiet period", () => {
  it("a flapping export: one failing per quiet period, and no recovered for a run nobody was told about", { timeout: 20_000 }, async () => {
    const t = await exporting();
    const minute = await webhook(t.projectId, { name: "60 s", quiet_period_seconds: 60 });
    const none = await webhook(t.projectId, { name: "none", quiet_period_seconds: 0 });
    const second = await webhook(t.projectId, { name: "1 s", quiet_period_seconds: 1 });
    const fail = async () => {
      await t.ingest();
      await failPushes(t, 1, { status: 400 });
    };
    const recover = async () => {
      await t.ingest();
      expect((await t.flush()).ok).toBe(true);
    };
    await fail();
    await recover();
    await fail(); // within every quiet period but "none"
    await recover();
    await sleep(1_200); // past the 1 s quiet period, within the 60 s one
    await fail();
    await recover();
    await settled(t.projectId);
    await sleep(200);
    const types = async (ns: string) =>
      (await deliveries(ns))
        .map((d) => d.body)
        .sort((a, b) => Date.parse(a.occurred_at) - Date.parse(b.occurred_at))
        .map((b) => b.type);
    expect(await types(minute.ns)).toEqual(["export.failing", "export.recovered"]);
    expect(await types(none.ns)).toEqual(["export.failing", "export.recovered", "export.failing", "export.recovered", "export.failing", "export.recovered"]);
    expect(await types(second.ns)).toEqual(["export.failing", "export.recovered", "export.failing", "export.recovered"]);
  });
});

describe("the quiet period of a deleted export", () => {
  it("does not silence a new export that gets the same id (a project's first export is always \"default\")", async () => {
    const t = await exporting();
    const h = await webhook(t.projectId, { quiet_period_seconds: 600 });
    await failPushes(t, 1, { status: 400 });
    await waitForDeliveries(h.ns, 1);
    const runs = () => runInDurableObject(projectStub(t.projectId), (_i, state) => state.storage.sql.exec("SELECT export_id FROM notification_runs").toArray());
    expect(await runs()).toEqual([{ export_id: "default" }]);
    expect((await call("DELETE", `/v1/projects/${t.projectId}/metrics-export`)).status).toBe(204);
    expect(await runs()).toEqual([]); // deleted with the export
    const put = await call("PUT", `/v1/projects/${t.projectId}/metrics-export`, { body: { name: "Replacement", endpoint: receiverUrl(t.ns) } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.export_id).toBe("default");
    await t.ingest();
    await failPushes(t, 1, { status: 400 });
    const [first, second] = await waitForDeliveries(h.ns, 2);
    expect([first!.body.export, second!.body.export]).toEqual([
      { id: "default", name: "Grafana prod" },
      { id: "default", name: "Replacement" },
    ]);
    expect(second!.body.type).toBe("export.failing");
  });
});

describe("…/test", () => {
  it("sends one signed sample event now (test: true) and records it as the last delivery", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId);
    const r = await call("POST", `${notifications(projectId)}/${h.id}/test`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true, event_id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), http_status: 204, latency_ms: expect.any(Number), message: null });
    const [sent] = await deliveries(h.ns);
    expect(await hookRequests(h.ns)).toHaveLength(1);
    expect(sent!.body).toMatchObject({ id: r.body.event_id, type: "export.paused", test: true, project: { id: projectId } });
    expect(sent!.body.summary).toMatch(/^Test notification: /);
    expect(sent!.request.headers["idempotency-key"]).toBe(r.body.event_id);
    expect(await verifySignature(h.secret, sent!.request.headers["x-signature"], sent!.text, nowSec())).toBe(true);
    const n = await getNotification(projectId, h.id);
    expect(n.last_delivery).toMatchObject({ event_id: r.body.event_id, type: "export.paused", ok: true, http_status: 204, attempts: 1, state: "delivered" });
    expect(n.pending_deliveries).toBe(0);
    // An empty JSON object is the same as no body.
    expect((await call("POST", `${notifications(projectId)}/${h.id}/test`, { body: {} })).body.ok).toBe(true);
    expect(await hookRequests(h.ns)).toHaveLength(2);
  });

  it("to Slack: readable text marked as a test, no signature", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId, { format: "slack" });
    expect((await call("POST", `${notifications(projectId)}/${h.id}/test`)).body.ok).toBe(true);
    const [sent] = await deliveries(h.ns);
    expect(sent!.body.text).toMatch(/^:red_circle: Test notification: Metrics export "Test export" of project .* is paused/);
    expect(sent!.request.headers["x-signature"]).toBeUndefined();
  });

  it("a failing webhook: the answer says so, it is tried once, and the last delivery records it", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId);
    await script(h.ns, [{ status: 503 }]);
    const r = await call("POST", `${notifications(projectId)}/${h.id}/test`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: false, http_status: 503, message: "the webhook answered HTTP 503" });
    expect((await getNotification(projectId, h.id)).last_delivery).toMatchObject({ event_id: r.body.event_id, ok: false, http_status: 503, state: "gave up" });
    await sleep(200);
    expect(await hookRequests(h.ns)).toHaveLength(1);
  });

  it("takes no fields", async () => {
    const projectId = await createProject();
    const h = await webhook(projectId);
    const before = await objectDump(projectId);
    const r = await call("POST", `${notifications(projectId)}/${h.id}/test`, { body: { event: "export.failing" } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(/event/);
    expect(await objectDump(projectId)).toBe(before);
    expect(await hookRequests(h.ns)).toEqual([]);
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
