/**
 * Notification webhooks (issue 14), the events: what a push's outcome raises (failing, paused,
 * recovered, credentials unreadable) as the documented JSON (signed) and as Slack text, the durable
 * delivery queue (retries with the same event id, survives an eviction, gives up on a 4xx), the quiet
 * period, the events filter and `…/test`. Settings and validation: notification-settings.test.ts.
 *
 * Webhooks are URLs under the test receiver's `/r/<ns>/hook` (unscripted POSTs there get 204; the
 * receiver keeps each body's raw text, so signatures are verified over the exact bytes sent).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { verifySignature } from "../../src/notifications/signature";
import { hookRequests, hookUrl, newNamespace, receiverUrl, script } from "../receiver/client";
import { call, createProject, leaksOf, objectDump, projectStub } from "./helpers";
import { DELIVERY_WAIT, SECRET, deliveries, exporting, failPushes, getNotification, notifications, nowSec, settled, sleep, waitForDeliveries, webhook } from "./notification-helpers";
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
