/**
 * Issue 6, "Faults": whatever the destination or the platform does, every accepted sample is
 * exported exactly once in cumulative totals and at most once in delta mode, the schedule
 * survives, and the status says what happened. Pushes go to the real test receiver; the
 * expected totals come from a ledger of every 202-accepted run (./fault-helpers.ts).
 */
import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pointTimesMs, requestCount, requests, script, type RecordedRequest, type ScriptedResponse } from "../receiver/client";
import {
  alarmAt,
  scheduledPushAt,
  exportingProject,
  isWithin,
  lastWriteWins,
  Ledger,
  newHost,
  pushFromAlarm,
  randomRuns,
  samplesBody,
  seededRandom,
  SERIES,
  sumOf,
  totalsIn,
  waitForRequests,
  type Run,
} from "./fault-helpers";
import { call, preview, projectStub } from "./helpers";

/** EXPORT_REQUEST_TIMEOUT_MS in vitest.config.ts. */
const REQUEST_TIMEOUT_MS = 400;

type Project = Awaited<ReturnType<typeof exportingProject>>;

async function postOk(t: Project, runs: Run[]): Promise<void> {
  const r = await t.post(runs);
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ accepted: runs.length, duplicate: false, rejected: [] });
}

/** The part of the status a platform fault must not change. */
async function exportState(t: Project) {
  const { state, consecutive_failures, paused_at, next_push_at } = (await t.exportView()).status;
  return { state, consecutive_failures, paused_at, next_push_at, push_alarm: await scheduledPushAt(t.projectId) };
}

async function lastRequest(ns: string): Promise<RecordedRequest> {
  const all = await requests(ns);
  return all[all.length - 1]!;
}

/** The flush answer and GET …/metrics-export both carry the same classified error. */
async function expectFailedPush(t: Project, flush: { status: number; body: any }, expected: { http_status: number | null; classification: string; hint: string; attempts: number }) {
  expect(flush.status).toBe(200);
  expect(flush.body).toMatchObject({ ok: false, requests: 1, attempts: expected.attempts, data_points: 0 });
  expect(flush.body.error).toMatchObject({ http_status: expected.http_status, classification: expected.classification });
  expect(flush.body.error.hint).toContain(expected.hint);
  const { status } = await t.exportView();
  expect(status).toMatchObject({ state: "failing", consecutive_failures: 1, paused_at: null });
  expect(status.totals).toMatchObject({ pushes_succeeded: 0, pushes_failed: 1, retries: expected.attempts - 1 });
  const { at, ...lastError } = status.last_error;
  expect(Date.parse(at)).toBeGreaterThan(0);
  expect(lastError).toEqual(flush.body.error);
  expect(await requestCount(t.ns)).toBe(expected.attempts);
}

describe("outage and recovery", () => {
  const OUTAGE_PUSHES = 15;
  const outage = (): ScriptedResponse[] => Array.from({ length: OUTAGE_PUSHES * 4 }, () => ({ status: 503 }));

  it("cumulative: pauses at exactly the 10th of 15 failed pushes, sends nothing while paused, and the first push after resume carries every run", async () => {
    const t = await exportingProject();
    const random = seededRandom(101);
    await postOk(t, randomRuns(random, 20));
    expect(await pushFromAlarm(t.projectId)).toBe(true);
    expect(await requestCount(t.ns)).toBe(1);

    await script(t.ns, outage());
    for (let push = 1; push <= OUTAGE_PUSHES; push++) {
      await postOk(t, randomRuns(random, 10));
      const ran = await pushFromAlarm(t.projectId);
      const { status } = await t.exportView();
      if (push < 10) {
        expect(ran).toBe(true);
        expect(status).toMatchObject({ state: "failing", consecutive_failures: push, paused_at: null });
        expect(await alarmAt(t.projectId)).not.toBeNull();
      } else if (push === 10) {
        expect(ran).toBe(true);
        expect(status).toMatchObject({ state: "paused", consecutive_failures: 10, next_push_at: null });
        expect(status.paused_at).not.toBeNull();
        expect(status.last_error).toMatchObject({ http_status: 503, classification: "server_error" });
        expect(await scheduledPushAt(t.projectId)).toBeNull();
      } else {
        // Paused: no push is scheduled (only idle housekeeping), and a stray alarm (or Send now) sends nothing either.
        expect(ran).toBe(true);
        await runInDurableObject(projectStub(t.projectId), (_i, state) => state.storage.setAlarm(Date.now()));
        expect(await runDurableObjectAlarm(projectStub(t.projectId))).toBe(true);
        expect(await scheduledPushAt(t.projectId)).toBeNull();
        const flush = await t.flush();
        expect(flush.status).toBe(409);
        expect(flush.body.error.code).toBe("export_paused");
        expect(status).toMatchObject({ state: "paused", consecutive_failures: 10 });
      }
      expect(await requestCount(t.ns)).toBe(1 + 4 * Math.min(push, 10));
    }

    await script(t.ns, []); // the destination is back
    const resumed = await t.resume();
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toMatchObject({ consecutive_failures: 0, paused_at: null });
    expect(await runDurableObjectAlarm(projectStub(t.projectId))).toBe(true);
    expect(await requestCount(t.ns)).toBe(42);
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);

    const { status } = await t.exportView();
    expect(status).toMatchObject({ state: "connected", consecutive_failures: 0, paused_at: null });
    expect(status.totals).toMatchObject({ pushes_succeeded: 2, pushes_failed: 10, retries: 30 });
    expect(await alarmAt(t.projectId)).toBe(Date.parse(status.next_push_at));
  });

  it("the first successful push after failures clears last_error", async () => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(102), 3));
    await script(t.ns, Array.from({ length: 4 }, () => ({ status: 503 })));
    expect((await t.flush()).body.ok).toBe(false);
    expect((await t.exportView()).status.last_error).toMatchObject({ http_status: 503 });
    expect((await t.flush()).body.ok).toBe(true);
    const { status } = await t.exportView();
    expect(status).toMatchObject({ state: "connected", consecutive_failures: 0 });
    expect(status.last_error).toBeNull();
  });

  it("delta (datadog): over the same outage, pause and resume, the deltas received add up to exactly what was ingested", async () => {
    const t = await exportingProject({ destination: "datadog" });
    expect((await t.exportView()).temporality).toBe("delta");
    const random = seededRandom(202);
    const delivered: RecordedRequest[] = [];
    const pushHealthy = async () => {
      expect(await pushFromAlarm(t.projectId)).toBe(true);
      expect((await t.exportView()).status.state).toBe("connected");
      delivered.push(await lastRequest(t.ns));
    };

    await postOk(t, randomRuns(random, 20));
    await pushHealthy();
    await postOk(t, randomRuns(random, 5));
    await pushHealthy();

    await script(t.ns, outage());
    for (let push = 1; push <= OUTAGE_PUSHES; push++) {
      await postOk(t, randomRuns(random, 10));
      // Paused from the 10th on: the alarm still runs (idle housekeeping) but sends nothing (request count below).
      expect(await pushFromAlarm(t.projectId)).toBe(true);
    }
    const paused = (await t.exportView()).status;
    expect(paused).toMatchObject({ state: "paused", consecutive_failures: 10 });
    expect(await requestCount(t.ns)).toBe(2 + 40);

    await script(t.ns, []);
    expect((await t.resume()).status).toBe(200);
    expect(await runDurableObjectAlarm(projectStub(t.projectId))).toBe(true);
    delivered.push(await lastRequest(t.ns));
    // The first push after resume carries the whole outage, nothing before it.
    expect(sumOf(delivered)).toEqual(t.ledger.totals);

    await postOk(t, randomRuns(random, 7));
    await pushHealthy();
    expect(await requestCount(t.ns)).toBe(2 + 40 + 2);
    expect(sumOf(delivered)).toEqual(t.ledger.totals);
    expect((await t.exportView()).status.totals).toMatchObject({ pushes_succeeded: 4, pushes_failed: 10 });
  });
});

describe("each failure mode", () => {
  it.each<[string, ScriptedResponse]>([
    ["429 with Retry-After: 1", { status: 429, headers: { "retry-after": "1" } }],
    ["502", { status: 502 }],
    ["503", { status: 503 }],
    ["504", { status: 504 }],
  ])("%s is retried and the fourth attempt succeeds: one push, four requests, no failure counted", async (name, failure) => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(3), 8));
    await script(t.ns, [failure, failure, failure]);
    const flush = await t.flush();
    expect(flush.status).toBe(200);
    expect(flush.body).toMatchObject({ ok: true, requests: 1, attempts: 4 });
    expect(flush.body.error).toBeUndefined();

    const sent = await requests(t.ns);
    expect(sent).toHaveLength(4);
    for (const r of sent) expect(totalsIn(r)).toEqual(t.ledger.totals);
    if (name.startsWith("429")) {
      for (let i = 1; i < 4; i++) expect(sent[i]!.receivedAtMs - sent[i - 1]!.receivedAtMs).toBeGreaterThanOrEqual(140);
    }
    const { status } = await t.exportView();
    expect(status).toMatchObject({ state: "connected", consecutive_failures: 0, last_error: null, paused_at: null });
    expect(status.totals).toMatchObject({ pushes_succeeded: 1, pushes_failed: 0, retries: 3 });
  });

  it.each([
    [429, "rate_limited", "rate limiting"],
    [502, "server_error", "internal error"],
    [503, "server_error", "internal error"],
    [504, "server_error", "internal error"],
  ])("%i on every attempt fails the push after four requests as %s", async (httpStatus, classification, hint) => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(4), 3));
    await script(t.ns, Array.from({ length: 4 }, () => ({ status: httpStatus })));
    const flush = await t.flush();
    await expectFailedPush(t, flush, { http_status: httpStatus, classification, hint, attempts: 4 });
    expect(flush.body.error.message).toContain(`HTTP ${httpStatus}`);
  });

  it("a destination that never answers times out on each of four attempts, while ingest keeps answering 202 at once", async () => {
    const t = await exportingProject({ destination: "prometheus" });
    const random = seededRandom(5);
    await postOk(t, randomRuns(random, 4));
    await script(t.ns, Array.from({ length: 4 }, (): ScriptedResponse => ({ hang: true })));

    let flushDone = false;
    const flushing = t.flush().finally(() => (flushDone = true));
    await waitForRequests(t.ns, 1);
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await postOk(t, randomRuns(random, 5));
      // Ingest never waits for the push: well under one attempt's timeout.
      expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS);
    }
    expect(flushDone).toBe(false);

    const flush = await flushing;
    await expectFailedPush(t, flush, { http_status: null, classification: "timeout", hint: "4318", attempts: 4 });
    expect(flush.body.duration_ms).toBeGreaterThanOrEqual(4 * REQUEST_TIMEOUT_MS);
    const sent = await requests(t.ns);
    for (let i = 1; i < 4; i++) expect(sent[i]!.receivedAtMs - sent[i - 1]!.receivedAtMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 20);

    // Runs posted during the hung push are in the next one.
    expect((await t.flush()).body.ok).toBe(true);
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);
  });

  it("a refused connection is a network failure, retried three times", async () => {
    const t = await exportingProject({ endpoint: "http://127.0.0.1:9" });
    await postOk(t, randomRuns(seededRandom(6), 3));
    const flush = await t.flush();
    expect(flush.body).toMatchObject({ ok: false, requests: 1, attempts: 4, error: { classification: "network", http_status: null } });
    expect(flush.body.error.hint).toContain("Could not connect");
    expect(flush.body.error.message).toMatch(/^Could not connect: /);
    const { status } = await t.exportView();
    expect(status).toMatchObject({ state: "failing", consecutive_failures: 1 });
    const { at: _at, ...lastError } = status.last_error;
    expect(lastError).toEqual(flush.body.error);
    expect(status.totals).toMatchObject({ pushes_failed: 1, retries: 3 });
  });

  it("a connection reset in the middle of a 502's body is still that 502: classified by its status line, retried three times", async () => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(7), 3));
    // A 502 status line, then the socket dies mid-body. (After a 2xx status line the destination
    // has accepted the push: see the delta test below.)
    await script(t.ns, Array.from({ length: 4 }, (): ScriptedResponse => ({ status: 502, reset: true })));
    const flush = await t.flush();
    await expectFailedPush(t, flush, { http_status: 502, classification: "server_error", hint: "internal error", attempts: 4 });
  });

  it("delta: a push whose 200 status line arrived before the connection reset is not sent again", async () => {
    const t = await exportingProject({ destination: "datadog" });
    await postOk(t, randomRuns(seededRandom(19), 6));
    await script(t.ns, [{ reset: true }]);
    await t.flush();
    await postOk(t, randomRuns(seededRandom(20), 6));
    expect((await t.flush()).body.ok).toBe(true);
    // Every request was answered "200 OK" by the destination, so each one counts there.
    expect(sumOf(await requests(t.ns))).toEqual(t.ledger.totals);
  });

  it.each([
    [401, "unauthorized", "authentication headers"],
    [403, "unauthorized", "authentication headers"],
    [404, "not_found", "OTLP endpoint URL is incorrect"],
    [400, "bad_request", "OTLP/HTTP metrics endpoint"],
    [413, "payload_too_large", "request-size limit"],
  ])("%i fails at once, one request, as %s", async (httpStatus, classification, hint) => {
    const t = await exportingProject();
    // One series: a 413 for several would be split in halves and sent again (see exports.test.ts).
    await postOk(t, randomRuns(seededRandom(8), 3, [SERIES[0]!]));
    await script(t.ns, [{ status: httpStatus, body: "refused by test" }]);
    const flush = await t.flush();
    await expectFailedPush(t, flush, { http_status: httpStatus, classification, hint, attempts: 1 });
    expect(flush.body.error.message).toBe(`The endpoint answered HTTP ${httpStatus}: refused by test`);
  });

  it("a partial success counts as success and leaves its message as the warning until a clean push", async () => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(9), 3));
    await script(t.ns, [{ partialSuccess: { rejectedDataPoints: 3, errorMessage: "3 points out of order" } }]);
    const flush = await t.flush();
    expect(flush.body).toMatchObject({ ok: true, requests: 1, attempts: 1 });
    expect(flush.body.error).toBeUndefined();
    let { status } = await t.exportView();
    expect(status).toMatchObject({ state: "connected", consecutive_failures: 0, last_error: null });
    expect(status.warning).toContain("rejected 3 data point(s)");
    expect(status.warning).toContain("3 points out of order");

    expect((await t.flush()).body.ok).toBe(true);
    ({ status } = await t.exportView());
    expect(status.warning).toBeNull();
  });
});

describe("the platform's faults", () => {
  /** Two failed pushes first, so "failure count as before" means something. */
  async function failingProject(config: Record<string, unknown> = {}) {
    const t = await exportingProject(config);
    await postOk(t, randomRuns(seededRandom(10), 6));
    await script(t.ns, [{ status: 400 }, { status: 400 }]);
    await t.flush();
    await t.flush();
    expect((await t.exportView()).status).toMatchObject({ state: "failing", consecutive_failures: 2 });
    return t;
  }

  it("eviction and abort between ingest and push lose nothing and change no export state", async () => {
    const t = await failingProject();
    const random = seededRandom(11);
    await postOk(t, randomRuns(random, 10));
    const before = await exportState(t);
    expect(before.push_alarm).not.toBeNull();

    await evictDurableObject(projectStub(t.projectId));
    expect(await exportState(t)).toEqual(before);
    await postOk(t, randomRuns(random, 10));

    await abortAllDurableObjects();
    expect(await exportState(t)).toEqual(before);
    await postOk(t, randomRuns(random, 10));

    const flush = await t.flush();
    expect(flush.body).toMatchObject({ ok: true, attempts: 1 });
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);
  });

  it.each(["custom", "datadog"])("%s: eviction during a push waits for it to finish; runs posted meanwhile go in the next push", async (destination) => {
    const t = await failingProject({ destination });
    const random = seededRandom(12);
    await postOk(t, randomRuns(random, 10));
    await script(t.ns, [{ delayMs: 250 }]);
    const flushing = t.flush();
    await waitForRequests(t.ns, 3);
    await postOk(t, randomRuns(random, 10));
    await evictDurableObject(projectStub(t.projectId));
    expect((await flushing).body).toMatchObject({ ok: true, attempts: 1 });
    expect((await exportState(t)).consecutive_failures).toBe(0);
    expect(await alarmAt(t.projectId)).not.toBeNull();

    await postOk(t, randomRuns(random, 10));
    expect((await t.flush()).body.ok).toBe(true);
    const [, , ...delivered] = await requests(t.ns); // the first two were answered 400
    if (destination === "datadog") expect(sumOf(delivered)).toEqual(t.ledger.totals);
    else expect(totalsIn(delivered[delivered.length - 1]!)).toEqual(t.ledger.totals);
  });

  it("abort during a cumulative push: its outcome is never recorded, failures and schedule are as before, the next push carries everything", async () => {
    const t = await failingProject();
    const random = seededRandom(13);
    await postOk(t, randomRuns(random, 10));
    const before = await exportState(t);
    // Hung: the request stays in flight (up to the 400 ms attempt timeout) until the abort.
    await script(t.ns, [{ hang: true }]);
    const flushing = t.flush().catch((err: unknown) => err);
    await waitForRequests(t.ns, 3);
    await postOk(t, randomRuns(random, 10)); // accepted while the push is in flight
    await abortAllDurableObjects();
    const cut = await flushing;
    expect(cut instanceof Error || (cut as { status: number }).status === 500).toBe(true);
    expect(await requestCount(t.ns)).toBe(3);
    expect(await exportState(t)).toEqual(before);

    await postOk(t, randomRuns(random, 10));
    expect((await t.flush()).body).toMatchObject({ ok: true, attempts: 1 });
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);
  });

  it("abort during a delta push the receiver got: its interval is re-sent verbatim, so a last-write-wins receiver counts it once", async () => {
    const t = await exportingProject({ destination: "datadog" });
    const random = seededRandom(14);
    await postOk(t, randomRuns(random, 10));
    expect((await t.flush()).body.ok).toBe(true);
    const inBatch = new Ledger();
    const b = randomRuns(random, 10);
    inBatch.add(b);
    await postOk(t, b);
    const before = await exportState(t);

    await script(t.ns, [{ hang: true }]);
    const flushing = t.flush().catch((err: unknown) => err);
    await waitForRequests(t.ns, 2);
    // Accepted while the push is in flight: after its snapshot, so not part of its interval.
    await postOk(t, randomRuns(random, 10));
    await abortAllDurableObjects();
    await flushing;
    expect(await exportState(t)).toEqual(before);

    await postOk(t, randomRuns(random, 10));
    expect((await t.flush()).body.ok).toBe(true);
    const [first, inFlight, next] = await requests(t.ns);
    expect(sumOf([inFlight!])).toEqual(inBatch.totals);
    // The next push carries the in-flight interval again, as it was (same times, same values), and
    // what came after: exact whether or not the receiver had applied the first copy.
    expect(lastWriteWins([first!, inFlight!, next!])).toEqual(t.ledger.totals);
    expect(lastWriteWins([first!, next!])).toEqual(t.ledger.totals);
  });

  // (evictDurableObject lets a request in flight finish in the test runtime; an abort does not.)
  it(
    "a delta request in flight when the object is aborted: its journal record counts as unknown, re-sent verbatim, counted once",
    async () => {
      const t = await exportingProject({ destination: "datadog" });
      const random = seededRandom(15);
      await postOk(t, randomRuns(random, 10));
      expect((await t.flush()).body.ok).toBe(true);
      await postOk(t, randomRuns(random, 10));
      const before = await exportState(t);

      await script(t.ns, [{ hang: true }]);
      const flushing = t.flush().catch((err: unknown) => err);
      await waitForRequests(t.ns, 2);
      await abortAllDurableObjects();
      await flushing;
      expect(await exportState(t)).toEqual(before);
      const sent = await runInDurableObject(projectStub(t.projectId), (_i, state) =>
        state.storage.sql.exec("SELECT state FROM delta_journal ORDER BY seq").toArray().map((r) => r.state),
      );
      expect(sent.at(-1)).toBe("sent"); // written before the request, never settled

      await postOk(t, randomRuns(random, 10));
      expect((await t.flush()).body.ok).toBe(true);
      const [first, inFlight, next] = await requests(t.ns);
      // Whether the interrupted request reached the destination or not, a last-write-wins receiver is exact.
      expect(lastWriteWins([first!, inFlight!, next!])).toEqual(t.ledger.totals);
      expect(lastWriteWins([first!, next!])).toEqual(t.ledger.totals);
      const left = await runInDurableObject(projectStub(t.projectId), (_i, state) =>
        state.storage.sql.exec("SELECT seq, state FROM delta_journal").toArray().map((r) => r.state),
      );
      expect(left).toEqual(["delivered"]); // the superseded records are gone
    },
  );

  describe("a delta push split into several requests (datadog: 512,000 bytes each)", () => {
    const SERIES_COUNT = 1200;
    const manySeries = Array.from({ length: SERIES_COUNT }, (_, i) => ({ app: `app-${i}`, region: "us-east-1" }));

    async function splitProject() {
      const t = await exportingProject({ destination: "datadog" });
      const random = seededRandom(18);
      await postOk(t, randomRuns(random, SERIES_COUNT, manySeries));
      const chunks = await t.flush();
      expect(chunks.body).toMatchObject({ ok: true });
      expect(chunks.body.requests).toBeGreaterThanOrEqual(3);
      await postOk(t, randomRuns(random, 1000, manySeries));
      return { t, random, requestsPerPush: chunks.body.requests as number };
    }

    it("fails on its second request: the first request's points stay delivered, the rest folds into the next push", async () => {
      const { t, random, requestsPerPush } = await splitProject();
      await script(t.ns, [{}, { status: 400 }]);
      const failed = await t.flush();
      expect(failed.body).toMatchObject({ ok: false, requests: 2, error: { classification: "bad_request" } });
      await postOk(t, randomRuns(random, 500, manySeries));
      expect((await t.flush()).body.ok).toBe(true);

      const all = await requests(t.ns);
      const rejected = all[requestsPerPush + 1]!;
      const delivered = all.filter((r) => r !== rejected);
      expect(sumOf(delivered)).toEqual(t.ledger.totals);
    });

    it("aborted while its second request is in flight: nothing lost, and a last-write-wins receiver counts nothing twice", async () => {
      const { t, random, requestsPerPush } = await splitProject();
      await script(t.ns, [{}, { hang: true }]);
      const flushing = t.flush().catch((err: unknown) => err);
      await waitForRequests(t.ns, requestsPerPush + 2);
      await postOk(t, randomRuns(random, 300, manySeries));
      await abortAllDurableObjects();
      await flushing;
      expect(await requestCount(t.ns)).toBe(requestsPerPush + 2);
      await postOk(t, randomRuns(random, 300, manySeries));
      expect((await t.flush()).body.ok).toBe(true);

      const all = await requests(t.ns);
      const inFlight = all[requestsPerPush + 1]!;
      expect(lastWriteWins(all.filter((r) => r !== inFlight))).toEqual(t.ledger.totals);
      expect(lastWriteWins(all)).toEqual(t.ledger.totals);
    });
  });

  it("a scheduled push cut off by an abort is retried by the platform's alarm retry, and the schedule goes on", async () => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(16), 10));
    await script(t.ns, [{ hang: true }]);
    // A real alarm (not runDurableObjectAlarm, which deletes it before running it).
    await runInDurableObject(projectStub(t.projectId), async (_i, state) => {
      state.storage.sql.exec("UPDATE export_status SET next_push_at = ?", Date.now() - 1);
      await state.storage.setAlarm(Date.now() + 20);
    });
    await waitForRequests(t.ns, 1);
    await abortAllDurableObjects();
    expect(await alarmAt(t.projectId)).not.toBeNull();
    await waitForRequests(t.ns, 2, 10_000);
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);
    await expect.poll(async () => (await t.exportView()).status.state, { timeout: 2000 }).toBe("connected");
    const { status } = await t.exportView();
    expect(Date.parse(status.next_push_at)).toBeGreaterThan(Date.now());
    expect(await alarmAt(t.projectId)).toBe(Date.parse(status.next_push_at));
  });

  it("a paused export stays paused across eviction and abort: no alarm, nothing sent, failure count kept", async () => {
    const t = await exportingProject();
    await postOk(t, randomRuns(seededRandom(17), 5));
    await script(t.ns, Array.from({ length: 10 }, () => ({ status: 401 })));
    for (let i = 0; i < 10; i++) await t.flush();
    const before = await exportState(t);
    expect(before).toMatchObject({ state: "paused", consecutive_failures: 10, push_alarm: null });

    await evictDurableObject(projectStub(t.projectId));
    expect(await exportState(t)).toEqual(before);
    await abortAllDurableObjects();
    expect(await exportState(t)).toEqual(before);
    expect((await t.flush()).status).toBe(409);
    expect(await requestCount(t.ns)).toBe(10);

    expect((await t.resume()).status).toBe(200);
    expect(await runDurableObjectAlarm(projectStub(t.projectId))).toBe(true);
    expect(totalsIn(await lastRequest(t.ns))).toEqual(t.ledger.totals);
  });
});

describe("concurrency", () => {
  it("hosts re-sending batches whose answer an abort cut off: every batch is counted exactly once", async () => {
    const HOSTS = 10;
    const BATCHES = 30;
    const t = await exportingProject();
    const random = seededRandom(405);
    const hosts = await Promise.all(Array.from({ length: HOSTS }, () => newHost()));
    const expected = new Ledger();
    let cutAnswers = 0;
    await Promise.all(
      hosts.map(async (host, h) => {
        for (let b = 0; b < BATCHES; b++) {
          // One host pulls the plug now and then, while the others' batches are in flight.
          // (Timers do not fire while the hosts keep the isolate busy, so it is done inline.)
          if (h === 0 && b % 3 === 1) {
            await abortAllDurableObjects();
          }
          const batchId = crypto.randomUUID();
          const runs = randomRuns(random, 5);
          expected.add(runs);
          // A host retries the same batch until it gets 202, as a real agent does.
          for (let attempt = 1; ; attempt++) {
            const r = await call("POST", "/v1/samples", { token: host.key, body: samplesBody(t.projectId, host, batchId, runs) });
            if (r.status === 202) {
              expect(r.body).toMatchObject({ accepted: 5, rejected: [] });
              break;
            }
            cutAnswers += 1;
            expect(r.status).toBe(500);
            expect(attempt).toBeLessThan(5);
          }
        }
      }),
    );
    // The aborts really cut answers off (each cut answer was re-sent and then counted once, below).
    expect(cutAnswers).toBeGreaterThan(0);

    expect((await call("GET", `/v1/projects/${t.projectId}/stats`)).body.batches).toBe(HOSTS * BATCHES);
    expect((await t.flush()).body.ok).toBe(true);
    expect(totalsIn(await lastRequest(t.ns))).toEqual(expected.totals);
  }, 30_000);

  it("50 hosts post 100 batches each, a third of them twice: the export equals the distinct batches exactly", async () => {
    const HOSTS = 50;
    const BATCHES = 100;
    const RUNS_PER_BATCH = 5;
    const SEED = 404;
    const t = await exportingProject();
    const random = seededRandom(SEED);
    const hosts = await Promise.all(Array.from({ length: HOSTS }, (_, i) => newHost(`gpu-${i}-${crypto.randomUUID().slice(0, 8)}`)));
    const expected = new Ledger();

    // Per host: its batches in order; a third are sent again, half of those at the same time as
    // the original (a client retry racing its first try), half later in the host's sequence.
    type Send = { batchId: string; runs: Run[]; twin: boolean };
    let resends = 0;
    const plans = hosts.map(() => {
      const steps: Send[][] = [];
      const later: Send[] = [];
      for (let b = 0; b < BATCHES; b++) {
        const send: Send = { batchId: crypto.randomUUID(), runs: randomRuns(random, RUNS_PER_BATCH), twin: false };
        expected.add(send.runs);
        const step: Send[] = [send];
        if (random() < 1 / 3) {
          resends += 1;
          if (random() < 0.5) step.push({ ...send, twin: true });
          else later.push({ ...send, twin: true });
        }
        steps.push(step);
        if (later.length > 0 && random() < 0.3) steps.push([later.shift()!]);
      }
      for (const s of later) steps.push([s]);
      return steps;
    });

    let duplicates = 0;
    await Promise.all(
      hosts.map(async (host, h) => {
        for (const step of plans[h]!) {
          const answers = await Promise.all(
            step.map((s) => call("POST", "/v1/samples", { token: host.key, body: samplesBody(t.projectId, host, s.batchId, s.runs) })),
          );
          for (const r of answers) {
            expect(r.status).toBe(202);
            expect(r.body).toMatchObject({ accepted: RUNS_PER_BATCH, rejected: [] });
            if (r.body.duplicate) duplicates += 1;
          }
        }
      }),
    );
    expect(duplicates).toBe(resends);

    const stats = await call("GET", `/v1/projects/${t.projectId}/stats`);
    expect(stats.body.batches).toBe(HOSTS * BATCHES);
    const flush = await t.flush();
    expect(flush.body).toMatchObject({ ok: true, requests: 1 });
    expect(totalsIn(await lastRequest(t.ns))).toEqual(expected.totals);
  }, 60_000);
});
