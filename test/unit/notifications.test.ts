import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { describeFailure } from "../../src/export/classify";
import type { SendFailure } from "../../src/export/send-outcome";
import { INITIAL_STATUS, PAUSE_AFTER_FAILURES, recordPush, statusAfterResume, statusAfterSave, type ExportStatus, type PushSummary } from "../../src/export/status";
import { classifyDelivery, DELIVERY_WINDOW_MS, MAX_DELAY_MS, nextAttemptAt, retryAfterMs, retryAt } from "../../src/notifications/delivery-policy";
import { decide, EVENT_TYPES, exportEvents, INITIAL_RUN_STATE, type NotificationEventType, type RunState } from "../../src/notifications/events";
import { jsonBody, slackBody, summary, type NotificationEvent, type NotificationJson } from "../../src/notifications/payload";
import { generateSecret, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader, verifySignature } from "../../src/notifications/signature";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const MIN = 60_000;

const okPush: PushSummary = { ok: true, error: null, warning: null, requests: 1, attempts: 1, dataPoints: 120, bytes: 4_096, durationMs: 85 };
const failedPush = (failure: SendFailure): PushSummary => ({
  ok: false,
  error: describeFailure(failure, "grafana_cloud"),
  warning: null,
  requests: 1,
  attempts: failure.kind === "http" && failure.status === 401 ? 1 : 4,
  dataPoints: 0,
  bytes: 0,
  durationMs: 10_000,
});
const unauthorized = failedPush({ kind: "http", status: 401, bodyExcerpt: "invalid token", retryAfter: null });
const serverError = failedPush({ kind: "http", status: 503, bodyExcerpt: "", retryAfter: null });
const unreadable = failedPush({ kind: "credentials_unreadable", message: "AES-GCM tag mismatch" });

/** Record pushes one minute apart from `start`, returning each push's events. */
function run(start: ExportStatus, pushes: PushSummary[], from = T0): { status: ExportStatus; events: NotificationEventType[][] } {
  let status = start;
  const events: NotificationEventType[][] = [];
  pushes.forEach((push, i) => {
    const after = recordPush(status, push, from + i * MIN);
    events.push(exportEvents(status, after));
    status = after;
  });
  return { status, events };
}

describe("exportEvents", () => {
  it("lists the four event types", () => {
    expect([...EVENT_TYPES]).toEqual(["export.failing", "export.paused", "export.recovered", "export.credentials_unreadable"]);
  });

  it("a first success of a new export emits nothing", () => {
    expect(run(INITIAL_STATUS, [okPush]).events).toEqual([[]]);
  });

  it("the first failure emits export.failing; a second failure emits nothing", () => {
    const { events, status } = run(INITIAL_STATUS, [okPush, unauthorized, unauthorized, serverError]);
    expect(events).toEqual([[], ["export.failing"], [], []]);
    expect(status.consecutiveFailures).toBe(3);
  });

  it(`${PAUSE_AFTER_FAILURES} failures: failing once, then paused exactly once on the ${PAUSE_AFTER_FAILURES}th`, () => {
    const { events, status } = run(INITIAL_STATUS, Array(PAUSE_AFTER_FAILURES + 2).fill(serverError));
    expect(events[0]).toEqual(["export.failing"]);
    expect(events[PAUSE_AFTER_FAILURES - 1]).toEqual(["export.paused"]);
    expect(events.flat().filter((e) => e === "export.paused")).toHaveLength(1);
    expect(events.flat().filter((e) => e === "export.failing")).toHaveLength(1);
    expect(events.flat()).toHaveLength(2);
    expect(status.pausedAt).toBe(T0 + (PAUSE_AFTER_FAILURES - 1) * MIN);
  });

  it("a success after failing emits export.recovered, once", () => {
    const { events } = run(INITIAL_STATUS, [okPush, unauthorized, unauthorized, okPush, okPush]);
    expect(events).toEqual([[], ["export.failing"], [], ["export.recovered"], []]);
  });

  it("a first-ever push failing then succeeding recovers too (no earlier success)", () => {
    expect(run(INITIAL_STATUS, [serverError, okPush]).events).toEqual([["export.failing"], ["export.recovered"]]);
  });

  it("the first success after pause and resume emits export.recovered; a failure after resume starts a new run", () => {
    const paused = run(INITIAL_STATUS, Array(PAUSE_AFTER_FAILURES).fill(unauthorized)).status;
    const resumed = statusAfterResume(paused);
    expect(run(resumed, [okPush], T0 + 60 * MIN).events).toEqual([["export.recovered"]]);
    expect(run(resumed, [unauthorized, okPush], T0 + 60 * MIN).events).toEqual([["export.failing"], ["export.recovered"]]);
  });

  it("the first success after a save (the user's own fix: failures, pause and error cleared) emits export.recovered", () => {
    const failing = run(INITIAL_STATUS, [okPush, unauthorized]).status;
    expect(run(statusAfterSave(failing), [okPush, okPush], T0 + 10 * MIN).events).toEqual([["export.recovered"], []]);
    const paused = run(INITIAL_STATUS, Array(PAUSE_AFTER_FAILURES).fill(serverError)).status;
    expect(run(statusAfterSave(paused), [serverError, okPush], T0 + 60 * MIN).events).toEqual([["export.failing"], ["export.recovered"]]);
  });

  it("a save of an export that never failed: its first success emits nothing; decide never sends an unowed recovery", () => {
    const connected = run(INITIAL_STATUS, [okPush, okPush]).status;
    expect(run(statusAfterSave(connected), [okPush], T0 + 10 * MIN).events).toEqual([[]]);
    expect(decide("export.recovered", INITIAL_RUN_STATE, T0, 0)).toEqual({ send: false, state: INITIAL_RUN_STATE });
  });

  it("unreadable credentials emit export.credentials_unreadable instead of export.failing, once", () => {
    const { events } = run(INITIAL_STATUS, [okPush, unreadable, unreadable, unreadable]);
    expect(events).toEqual([[], ["export.credentials_unreadable"], [], []]);
  });

  it("credentials becoming unreadable in the middle of a failing run are announced", () => {
    const { events } = run(INITIAL_STATUS, [serverError, serverError, unreadable, unreadable]);
    expect(events).toEqual([["export.failing"], [], ["export.credentials_unreadable"], []]);
  });

  it("unreadable credentials until the pause: unreadable, then paused", () => {
    const { events } = run(INITIAL_STATUS, Array(PAUSE_AFTER_FAILURES).fill(unreadable));
    expect(events.flat()).toEqual(["export.credentials_unreadable", "export.paused"]);
  });

  it("a run paused by its first failure lists failing before paused", () => {
    const before = INITIAL_STATUS;
    const after: ExportStatus = { ...recordPush(before, serverError, T0), pausedAt: T0 };
    expect(exportEvents(before, after)).toEqual(["export.failing", "export.paused"]);
    const afterUnreadable: ExportStatus = { ...recordPush(before, unreadable, T0), pausedAt: T0 };
    expect(exportEvents(before, afterUnreadable)).toEqual(["export.credentials_unreadable", "export.paused"]);
  });
});

describe("decide (quiet period)", () => {
  const QUIET = 30 * MIN;
  function play(steps: [NotificationEventType, number][], quietMs = QUIET, start: RunState = INITIAL_RUN_STATE) {
    let state = start;
    const sent: boolean[] = [];
    for (const [type, at] of steps) {
      const d = decide(type, state, at, quietMs);
      sent.push(d.send);
      state = d.state;
    }
    return { sent, state };
  }

  it("sends the first failure and records when", () => {
    expect(decide("export.failing", INITIAL_RUN_STATE, T0, QUIET)).toEqual({ send: true, state: { failingSentAt: T0, announced: true } });
    expect(INITIAL_RUN_STATE).toEqual({ failingSentAt: null, announced: false });
  });

  it("a flapping export: one failing and its recovery, then silence (no recovery for the silenced run), then failing again after the quiet period", () => {
    const { sent, state } = play([
      ["export.failing", T0],
      ["export.recovered", T0 + 2 * MIN],
      ["export.failing", T0 + 4 * MIN],
      ["export.recovered", T0 + 6 * MIN],
      ["export.failing", T0 + 8 * MIN],
      ["export.recovered", T0 + 10 * MIN],
      ["export.failing", T0 + QUIET],
    ]);
    expect(sent).toEqual([true, true, false, false, false, false, true]);
    expect(state).toEqual({ failingSentAt: T0 + QUIET, announced: true });
  });

  it("a silenced failure keeps failingSentAt (the window does not slide)", () => {
    const d = decide("export.failing", { failingSentAt: T0, announced: false }, T0 + QUIET - 1, QUIET);
    expect(d).toEqual({ send: false, state: { failingSentAt: T0, announced: false } });
    expect(decide("export.failing", d.state, T0 + QUIET, QUIET)).toEqual({ send: true, state: { failingSentAt: T0 + QUIET, announced: true } });
  });

  it("credentials_unreadable is sent even inside the quiet period (it needs action), and starts one for failing", () => {
    expect(play([["export.failing", T0], ["export.credentials_unreadable", T0 + MIN]]).sent).toEqual([true, true]);
    expect(play([["export.credentials_unreadable", T0], ["export.failing", T0 + MIN]]).sent).toEqual([true, false]);
    expect(play([["export.failing", T0], ["export.recovered", T0 + MIN], ["export.failing", T0 + 2 * MIN], ["export.credentials_unreadable", T0 + 3 * MIN], ["export.recovered", T0 + 4 * MIN]]).sent).toEqual([
      true,
      true,
      false,
      true,
      true, // its recovery too: the user was told about the unreadable credentials
    ]);
  });

  it("paused is always sent, and makes the next recovery sendable", () => {
    const { sent, state } = play([
      ["export.failing", T0],
      ["export.recovered", T0 + MIN],
      ["export.failing", T0 + 2 * MIN],
      ["export.paused", T0 + 11 * MIN],
      ["export.recovered", T0 + 20 * MIN],
    ]);
    expect(sent).toEqual([true, true, false, true, true]);
    expect(state).toEqual({ failingSentAt: T0, announced: false });
  });

  it("a failure announced, then held-back runs: the one recovery owed is sent at the next success (after a save, say)", () => {
    const { sent, state } = play([
      ["export.failing", T0],
      ["export.failing", T0 + MIN], // a new run after a save, inside the quiet period: held back
      ["export.recovered", T0 + 2 * MIN],
      ["export.recovered", T0 + 3 * MIN],
    ]);
    expect(sent).toEqual([true, false, true, false]);
    expect(state).toEqual({ failingSentAt: T0, announced: false });
  });

  it("quietMs 0 disables the quiet period", () => {
    const { sent } = play(
      [
        ["export.failing", T0],
        ["export.recovered", T0 + 1],
        ["export.failing", T0 + 2],
        ["export.recovered", T0 + 3],
      ],
      0,
    );
    expect(sent).toEqual([true, true, true, true]);
  });

  it("does not mutate the state it is given", () => {
    const state: RunState = { failingSentAt: T0, announced: true };
    decide("export.recovered", state, T0 + MIN, QUIET);
    decide("export.failing", state, T0 + 2 * QUIET, QUIET);
    decide("export.paused", state, T0 + MIN, QUIET);
    expect(state).toEqual({ failingSentAt: T0, announced: true });
  });
});

const pausedEvent: NotificationEvent = {
  id: "evt_01HZX3",
  type: "export.paused",
  occurredAt: T0,
  project: { id: "p-abc12345" },
  export: { id: "exp_7f3a", name: "Grafana" },
  failures: 10,
  pausedAt: T0,
  lastSuccessAt: T0 - 3_600_000,
  error: { classification: "unauthorized", httpStatus: 401, message: "The endpoint answered HTTP 401: invalid token", hint: "Grafana Cloud rejected the credentials." },
  pageUrl: "https://metrics.example.com/projects/p-abc12345/metrics-export?export=exp_7f3a",
};

describe("jsonBody", () => {
  it("a paused event has the documented schema, exactly", () => {
    const body = JSON.parse(jsonBody(pausedEvent)) as NotificationJson;
    expect(body).toStrictEqual({
      schema_version: 1,
      id: "evt_01HZX3",
      type: "export.paused",
      occurred_at: "2026-01-15T12:00:00.000Z",
      test: false,
      project: { id: "p-abc12345" },
      export: { id: "exp_7f3a", name: "Grafana" },
      status: { consecutive_failures: 10, paused_at: "2026-01-15T12:00:00.000Z", last_success_at: "2026-01-15T11:00:00.000Z" },
      error: { classification: "unauthorized", http_status: 401, message: "The endpoint answered HTTP 401: invalid token", hint: "Grafana Cloud rejected the credentials." },
      summary: 'Metrics export "Grafana" of project p-abc12345 is paused after 10 consecutive failed pushes.',
      action: "Fix the cause, then click Re-enable on the Metrics Export page or POST /v1/projects/p-abc12345/metrics-exports/exp_7f3a/resume",
      links: { metrics_export_page: "https://metrics.example.com/projects/p-abc12345/metrics-export?export=exp_7f3a" },
    });
  });

  it("failing: the action is the hint; recovered: no error, no action; test and missing page link", () => {
    const failing = JSON.parse(jsonBody({ ...pausedEvent, type: "export.failing", failures: 1, pausedAt: null })) as NotificationJson;
    expect(failing.action).toBe("Grafana Cloud rejected the credentials.");
    expect(failing.summary).toBe('Metrics export "Grafana" of project p-abc12345 is failing: the latest push failed.');
    expect(failing.status).toEqual({ consecutive_failures: 1, paused_at: null, last_success_at: "2026-01-15T11:00:00.000Z" });

    const recovered = JSON.parse(
      jsonBody({ ...pausedEvent, type: "export.recovered", failures: 0, pausedAt: null, lastSuccessAt: T0, error: null, pageUrl: null, test: true }),
    ) as NotificationJson;
    expect(recovered.error).toBeNull();
    expect(recovered.action).toBeNull();
    expect(recovered.test).toBe(true);
    expect(recovered.links).toEqual({ metrics_export_page: null });
    expect(recovered.summary).toBe('Test notification: Metrics export "Grafana" of project p-abc12345 has recovered: the latest push succeeded.');
  });

  it("carries nothing that is not in the event", () => {
    const text = jsonBody(pausedEvent) + slackBody(pausedEvent);
    for (const word of ["Authorization", "Bearer", "whsec_", "endpoint\":", "headers"]) expect(text).not.toContain(word);
  });
});

describe("slackBody", () => {
  const slack = (event: NotificationEvent) => JSON.parse(slackBody(event)) as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };

  it("a paused event: red circle summary, error, hint, what to do, link", () => {
    const { text, blocks } = slack(pausedEvent);
    const lines = text.split("\n");
    expect(lines[0]).toBe(':red_circle: Metrics export "Grafana" of project p-abc12345 is paused after 10 consecutive failed pushes.');
    expect(lines[1]).toBe("*Error* (unauthorized, HTTP 401): The endpoint answered HTTP 401: invalid token");
    expect(lines[2]).toBe("*Hint:* Grafana Cloud rejected the credentials.");
    expect(lines[3]).toContain("*What to do:* Fix the cause, then click Re-enable");
    expect(lines[3]).toContain("POST /v1/projects/p-abc12345/metrics-exports/exp_7f3a/resume");
    expect(lines[4]).toBe("<https://metrics.example.com/projects/p-abc12345/metrics-export?export=exp_7f3a|Open Metrics Export>");
    expect(lines).toHaveLength(5);
    expect(blocks.map((b) => b.text.text)).toEqual(lines);
    expect(blocks.every((b) => b.type === "section" && b.text.type === "mrkdwn")).toBe(true);
  });

  it.each([
    ["export.failing", ":warning:"],
    ["export.recovered", ":large_green_circle:"],
    ["export.credentials_unreadable", ":closed_lock_with_key:"],
  ] as const)("%s starts with %s", (type, emoji) => {
    const { text } = slack({ ...pausedEvent, type, pausedAt: null });
    expect(text.startsWith(`${emoji} Metrics export "Grafana"`)).toBe(true);
  });

  it("a recovery has no error line and no link when the page is unknown; a test says so", () => {
    const { text } = slack({ ...pausedEvent, type: "export.recovered", error: null, pausedAt: null, pageUrl: null, test: true });
    expect(text).toBe(':large_green_circle: Test notification: Metrics export "Grafana" of project p-abc12345 has recovered: the latest push succeeded.');
  });

  it("escapes &, < and > in a user's name and a destination's message, and keeps each on its line", () => {
    const { text, blocks } = slack({
      ...pausedEvent,
      export: { id: "exp_7f3a", name: "<b>&</b>" },
      error: { ...pausedEvent.error!, message: "bad <!channel>\nsecond line & more" },
    });
    expect(text).toContain('Metrics export "&lt;b&gt;&amp;&lt;/b&gt;" of project');
    expect(text).not.toContain("<b>");
    expect(text).not.toContain("<!channel>");
    expect(text).toContain("bad &lt;!channel&gt; second line &amp; more");
    // The only raw angle brackets left are the page link's.
    expect(text.match(/[<>]/g)).toEqual(["<", ">"]);
    expect(blocks.map((b) => b.text.text).join("\n")).toBe(text);
  });

  it("keeps a long message within Slack's section limit", () => {
    const { blocks } = slack({ ...pausedEvent, error: { ...pausedEvent.error!, message: "<".repeat(10_000) } });
    for (const b of blocks) expect(b.text.text.length).toBeLessThanOrEqual(3000);
  });

  it("summary is Slack's first line without the emoji and escaping", () => {
    const event = { ...pausedEvent, export: { id: "e", name: "A & B" } };
    expect(summary(event)).toBe('Metrics export "A & B" of project p-abc12345 is paused after 10 consecutive failed pushes.');
    expect(slack(event).text.split("\n")[0]).toBe(':red_circle: Metrics export "A &amp; B" of project p-abc12345 is paused after 10 consecutive failed pushes.');
  });
});

describe("signature", () => {
  const secret = "whsec_test-secret";
  const body = '{"schema_version":1,"id":"evt_1"}';
  const t = 1_768_478_400;
  const reference = (s: string, ts: number, b: string) => createHmac("sha256", Buffer.from(s, "utf8")).update(`${ts}.${b}`, "utf8").digest("hex");

  it("header names", () => {
    expect(SIGNATURE_HEADER).toBe("X-Signature");
    expect(IDEMPOTENCY_HEADER).toBe("Idempotency-Key");
  });

  it("matches an independent HMAC-SHA-256 (node:crypto), non-ASCII included", async () => {
    expect(await signatureHeader(secret, t, body)).toBe(`t=${t},v1=${reference(secret, t, body)}`);
    const unicode = '{"name":"Grafana – prod ✓"}';
    expect(await signatureHeader("whsec_ü", t, unicode)).toBe(`t=${t},v1=${reference("whsec_ü", t, unicode)}`);
    expect(await signatureHeader(secret, t, body)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it("verifies the right signature, also with a few seconds of skew and among several v1 entries", async () => {
    const header = await signatureHeader(secret, t, body);
    expect(await verifySignature(secret, header, body, t)).toBe(true);
    expect(await verifySignature(secret, header, body, t + 299)).toBe(true);
    expect(await verifySignature(secret, header, body, t - 299)).toBe(true);
    const rotated = `t=${t},v1=${"0".repeat(64)},v1=${reference(secret, t, body)}`;
    expect(await verifySignature(secret, rotated, body, t)).toBe(true);
    expect(await verifySignature(secret, `${header},v2=future`, body, t)).toBe(true);
  });

  it("rejects a tampered body, a wrong secret, an old or future timestamp and a moved timestamp", async () => {
    const header = await signatureHeader(secret, t, body);
    expect(await verifySignature(secret, header, body.replace("evt_1", "evt_2"), t)).toBe(false);
    expect(await verifySignature("whsec_other", header, body, t)).toBe(false);
    expect(await verifySignature(secret, header, body, t + 301)).toBe(false);
    expect(await verifySignature(secret, header, body, t - 301)).toBe(false);
    expect(await verifySignature(secret, header, body, t + 60, 30)).toBe(false);
    expect(await verifySignature(secret, header.replace(`t=${t}`, `t=${t + 1}`), body, t)).toBe(false);
  });

  it.each([
    "",
    "garbage",
    "v1=abc",
    `t=1768478400`,
    `v1=${"a".repeat(64)}`,
    `t=abc,v1=${"a".repeat(64)}`,
    `t=-5,v1=${"a".repeat(64)}`,
    `t=1768478400,v1=${"a".repeat(63)}`,
    `t=1768478400,v1=${"g".repeat(64)}`,
    `t=1768478400,t=1768478400,v1=${"a".repeat(64)}`,
    `t=1768478400,,v1=${"a".repeat(64)}`,
  ])("rejects the malformed header %j", async (header) => {
    expect(await verifySignature(secret, header, body, t)).toBe(false);
  });

  it("rejects a malformed header even when it holds the right signature", async () => {
    const good = reference(secret, t, body);
    expect(await verifySignature(secret, `t=${t},v1=${good},t=${t}`, body, t)).toBe(false);
    expect(await verifySignature(secret, `v1=${good}`, body, t)).toBe(false);
    expect(await verifySignature(secret, null, body, t)).toBe(false);
  });

  it("generateSecret: whsec_ and 43 base64url characters of 32 random bytes, different every time", () => {
    const secrets = Array.from({ length: 50 }, generateSecret);
    for (const s of secrets) {
      expect(s).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(s.slice(6), "base64url")).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(50);
  });
});

describe("delivery policy", () => {
  it.each([
    [{ kind: "status", status: 200 }, "delivered"],
    [{ kind: "status", status: 202 }, "delivered"],
    [{ kind: "status", status: 204 }, "delivered"],
    [{ kind: "status", status: 299 }, "delivered"],
    [{ kind: "status", status: 408 }, "retry"],
    [{ kind: "status", status: 425 }, "retry"],
    [{ kind: "status", status: 429 }, "retry"],
    [{ kind: "status", status: 500 }, "retry"],
    [{ kind: "status", status: 502 }, "retry"],
    [{ kind: "status", status: 503 }, "retry"],
    [{ kind: "status", status: 599 }, "retry"],
    [{ kind: "network" }, "retry"],
    [{ kind: "timeout" }, "retry"],
    [{ kind: "status", status: 101 }, "give_up"],
    [{ kind: "status", status: 301 }, "give_up"],
    [{ kind: "status", status: 302 }, "give_up"],
    [{ kind: "status", status: 307 }, "give_up"],
    [{ kind: "status", status: 308 }, "give_up"],
    [{ kind: "status", status: 400 }, "give_up"],
    [{ kind: "status", status: 401 }, "give_up"],
    [{ kind: "status", status: 403 }, "give_up"],
    [{ kind: "status", status: 404 }, "give_up"],
    [{ kind: "status", status: 410 }, "give_up"],
    [{ kind: "status", status: 413 }, "give_up"],
  ] as const)("%j → %s", (result, verdict) => {
    expect(classifyDelivery(result)).toBe(verdict);
  });

  const BASE = 10_000;
  const mid = () => 0.5;

  it("backs off exponentially from base", () => {
    const delays = [1, 2, 3, 4, 5].map((n) => nextAttemptAt(T0, n, BASE, T0, mid)! - T0);
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
  });

  it("caps each delay at 10 minutes, jitter included", () => {
    expect(MAX_DELAY_MS).toBe(600_000);
    expect(nextAttemptAt(T0, 7, BASE, T0 + MIN, () => 0.999)! - (T0 + MIN)).toBe(600_000);
    expect(nextAttemptAt(T0, 20, BASE, T0 + MIN, () => 0)! - (T0 + MIN)).toBe(600_000);
    // Below the cap, jitter is untouched: 320 s × 1.1996 and 640 s × 0.8.
    expect(nextAttemptAt(T0, 6, BASE, T0, () => 0.999)! - T0).toBe(383_872);
    expect(nextAttemptAt(T0, 7, BASE, T0, () => 0)! - T0).toBe(512_000);
  });

  it("jitters within ±20%", () => {
    expect(nextAttemptAt(T0, 3, BASE, T0, () => 0)! - T0).toBe(32_000);
    expect(nextAttemptAt(T0, 3, BASE, T0, () => 0.999999)! - T0).toBe(48_000);
    for (let i = 0; i < 200; i++) {
      const d = nextAttemptAt(T0, 3, BASE, T0)! - T0;
      expect(d).toBeGreaterThanOrEqual(32_000);
      expect(d).toBeLessThanOrEqual(48_000);
    }
  });

  it("gives up once the next attempt would fall beyond the hour", () => {
    expect(DELIVERY_WINDOW_MS).toBe(3_600_000);
    const end = T0 + DELIVERY_WINDOW_MS;
    expect(nextAttemptAt(T0, 8, BASE, end - 600_000, mid)).toBe(end);
    expect(nextAttemptAt(T0, 8, BASE, end - 599_999, mid)).toBeNull();
    expect(nextAttemptAt(T0, 1, BASE, end - 5_000, mid)).toBeNull();
    // A whole schedule from creation: attempts stop within the window.
    let now = T0;
    let attempts = 0;
    for (;;) {
      attempts++;
      const next = nextAttemptAt(T0, attempts, BASE, now, mid);
      if (next === null) break;
      expect(next).toBeLessThanOrEqual(end);
      now = next;
    }
    expect(attempts).toBeGreaterThan(5);
    expect(attempts).toBeLessThan(20);
  });

  it.each([
    [null, null],
    [undefined, null],
    ["", null],
    ["soon", null],
    ["1.5", null],
    ["-3", null],
    ["0", 0],
    ["30", 30_000],
    [" 120 ", 120_000],
    ["3600", 600_000],
    [new Date(T0 + 90_000).toUTCString(), 90_000],
    [new Date(T0 - 90_000).toUTCString(), 0],
    [new Date(T0 + 3_600_000).toUTCString(), 600_000],
    ["Wed, 32 Foo 2026 99:00:00 GMT", null],
  ])("Retry-After %j → %j", (value, ms) => {
    expect(retryAfterMs(value, T0)).toBe(ms);
  });

  it("Retry-After takes precedence over the backoff, within the window and never sooner than base", () => {
    expect(retryAt(T0, 1, BASE, T0, "120", mid)).toBe(T0 + 120_000);
    expect(retryAt(T0, 6, BASE, T0, "5", mid)).toBe(T0 + BASE);
    expect(retryAt(T0, 1, BASE, T0, "0", mid)).toBe(T0 + BASE);
    expect(retryAt(T0, 3, BASE, T0, null, mid)).toBe(T0 + 40_000);
    expect(retryAt(T0, 3, BASE, T0, "nonsense", mid)).toBe(T0 + 40_000);
    expect(retryAt(T0, 1, BASE, T0 + DELIVERY_WINDOW_MS - 60_000, "120", mid)).toBeNull();
    expect(retryAt(T0, 1, BASE, T0 + DELIVERY_WINDOW_MS - 60_000, "60", mid)).toBe(T0 + DELIVERY_WINDOW_MS);
  });
});
