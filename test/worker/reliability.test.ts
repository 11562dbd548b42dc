/**
 * Reliability promises that held only in the common case (issue 10): a 4xx is a prompt 4xx, Send
 * now cannot multiply traffic, a push in flight obeys the configuration that replaced it, rejections
 * cost bounded storage, series expire, and delta is exact at a last-write-wins receiver that
 * applies a request but answers too late.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_STORED_REJECTIONS } from "../../src/aggregation/ledger-entry";
import { findMetric, newNamespace, receiverUrl, requestCount, requests, script } from "../receiver/client";
import {
  exportingProject,
  lastWriteWins,
  newHost,
  pushFromAlarm,
  randomRuns,
  samplesBody,
  scheduledPushAt,
  seededRandom,
  sumOf,
  waitForRequests,
  type Run,
} from "./fault-helpers";
import { call, projectStub } from "./helpers";

/** EXPORT_REQUEST_TIMEOUT_MS in vitest.config.ts. */
const TIMEOUT_MS = 400;
const exportPath = (p: string) => `/v1/projects/${p}/metrics-export`;

async function postRuns(t: Awaited<ReturnType<typeof exportingProject>>, runs: Run[]): Promise<void> {
  const r = await t.post(runs);
  expect(r.status).toBe(202);
  expect(r.body.rejected).toEqual([]);
}

describe("a 4xx is a 4xx", () => {
  it("a 400 whose body trickles in is classified at once from its status line and not retried", async () => {
    const t = await exportingProject();
    await postRuns(t, randomRuns(seededRandom(1), 5));
    await script(t.ns, [{ status: 400, trickleMs: 50 }]);
    const started = Date.now();
    const flush = await t.flush();
    const took = Date.now() - started;
    expect(flush.body).toMatchObject({ ok: false, requests: 1, attempts: 1, error: { http_status: 400, classification: "bad_request" } });
    expect(flush.body.error.message).toMatch(/\.+ …\(body cut off\)/);
    expect(await requestCount(t.ns)).toBe(1);
    // One request whose body got its own short deadline, not four attempts timing out.
    expect(took).toBeLessThan(4 * TIMEOUT_MS);
  });
});

describe("Send now cannot multiply traffic", () => {
  it("20 concurrent flushes while a push runs join it: one request reaches the destination", async () => {
    const t = await exportingProject();
    await postRuns(t, randomRuns(seededRandom(2), 20));
    await script(t.ns, [{ delayMs: 200 }]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.flush()));
    for (const a of answers) expect(a.body).toMatchObject({ ok: true, requests: 1, attempts: 1 });
    expect(await requestCount(t.ns)).toBe(1);
    expect((await t.exportView()).status.totals).toMatchObject({ pushes_succeeded: 1 });
  });

  it("the preview is bounded: counts for every series, OTLP/JSON for the first 20 (or ?limit= up to 100)", async () => {
    const t = await exportingProject();
    const series = Array.from({ length: 150 }, (_, i) => ({ app: `app-${i}`, region: "us-east-1" }));
    await postRuns(t, series.map((s): Run => ({ ...s, execution_ms: 1, queue_ms: 1, response_ms: 2, success: true })));
    const shown = (body: any) => new Set(findMetric(body.request, "cerebrium_run_total")!.sum!.dataPoints!.map((p) => JSON.stringify(p.attributes))).size;
    const preview = await call("GET", `${exportPath(t.projectId)}/preview`);
    expect(preview.body).toMatchObject({ series: 150, data_points: 150 * 7, shown_series: 20, truncated: true });
    expect(shown(preview.body)).toBe(20);
    const hundred = await call("GET", `${exportPath(t.projectId)}/preview?limit=100`);
    expect(hundred.body).toMatchObject({ shown_series: 100, truncated: true });
    expect(shown(hundred.body)).toBe(100);
    for (const bad of ["0", "101", "abc", "1.5"]) {
      const r = await call("GET", `${exportPath(t.projectId)}/preview?limit=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
    }
  });
});

describe("a push in flight obeys the configuration that replaced it", () => {
  /** A project whose destination hangs: its push is in its first attempt when the change arrives. */
  async function retrying() {
    const t = await exportingProject();
    await postRuns(t, randomRuns(seededRandom(4), 5));
    await script(t.ns, [{ hang: true }, { hang: true }, { hang: true }, { hang: true }]);
    const flushing = t.flush();
    await waitForRequests(t.ns, 1);
    return { t, flushing };
  }

  it("DELETE: the push stops at once, sends nothing more, and its outcome is not recorded", async () => {
    const { t, flushing } = await retrying();
    expect((await call("DELETE", exportPath(t.projectId))).status).toBe(204);
    const flush = await flushing;
    expect(flush.body).toMatchObject({ ok: false, abandoned: true });
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT_MS));
    expect(await requestCount(t.ns)).toBe(1);
    expect((await t.exportView()).status).toMatchObject({ state: "unconfigured", last_error: null, consecutive_failures: 0 });
  });

  it("PUT to another endpoint: the old destination gets no more requests, the new configuration's status stays fresh", async () => {
    const { t, flushing } = await retrying();
    const next = newNamespace();
    const put = await call("PUT", exportPath(t.projectId), {
      body: { endpoint: receiverUrl(next), headers: [{ name: "Authorization", value: "Bearer the-new-one" }] },
    });
    expect(put.status).toBe(200);
    expect((await flushing).body).toMatchObject({ abandoned: true });
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT_MS));
    expect(await requestCount(t.ns)).toBe(1);
    expect((await t.exportView()).status).toMatchObject({ state: "pending", last_error: null, consecutive_failures: 0 });
    expect((await t.flush()).body.ok).toBe(true);
    const [sent] = await requests(next);
    expect(sent!.headers.authorization).toBe("Bearer the-new-one");
  });

  it('{"enabled": false}: the push stops, nothing is counted toward pausing', async () => {
    const { t, flushing } = await retrying();
    expect((await call("PATCH", exportPath(t.projectId), { body: { enabled: false } })).status).toBe(200);
    expect((await flushing).body).toMatchObject({ abandoned: true });
    expect(await requestCount(t.ns)).toBe(1);
    expect((await t.exportView()).status).toMatchObject({ state: "disabled", consecutive_failures: 0, totals: { pushes_failed: 0 } });
    expect(await scheduledPushAt(t.projectId)).toBeNull();
  });
});

describe("rejections cost bounded storage", () => {
  it("a 5,000-sample batch rejected for series_limit stores a count and a few examples; a re-send answers them", async () => {
    const t = await exportingProject();
    const host = await newHost();
    const full = Array.from({ length: 2000 }, (_, i): Run => ({ app: `fill-${i}`, region: "r1", execution_ms: 1, queue_ms: 1, response_ms: 1, success: true }));
    const filled = await t.post(full, host);
    expect(filled.body).toMatchObject({ accepted: 2000, rejected: [] });
    const over = Array.from({ length: 5000 }, (_, i): Run => ({ app: `over-${i}`, region: "r1", execution_ms: 1, queue_ms: 1, response_ms: 1, success: true }));
    const first = await call("POST", "/v1/samples", { token: host.key, body: samplesBody(t.projectId, host, "over-1", over) });
    expect(first.body.accepted).toBe(0);
    expect(first.body.rejected).toHaveLength(5000);
    expect(first.body.rejected[0]).toMatchObject({ index: 0, code: "series_limit" });

    const stored = await runInDurableObject(projectStub(t.projectId), (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT length(rejected) AS n FROM batches WHERE batch_id = 'over-1'").one().n,
    );
    expect(stored).toBeLessThan(2_000); // the whole list was ~650,000 bytes

    const again = await call("POST", "/v1/samples", { token: host.key, body: samplesBody(t.projectId, host, "over-1", over) });
    expect(again.body).toMatchObject({ accepted: 0, duplicate: true, rejected_total: 5000 });
    expect(again.body.rejected).toEqual(first.body.rejected.slice(0, MAX_STORED_REJECTIONS));
  });
});

describe("series expire", () => {
  /** Housekeeping (compaction included) now, as the alarm does. */
  async function housekeepNow(projectId: string): Promise<void> {
    await runInDurableObject(projectStub(projectId), (_i, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(projectStub(projectId))).toBe(true);
  }

  /** The injected clock: the series' compacted row says its last sample is `hoursAgo` old. */
  async function ageSeries(projectId: string, app: string, hoursAgo: number): Promise<void> {
    await housekeepNow(projectId); // fold the logged batches into the rows first
    await runInDurableObject(projectStub(projectId), (_i, state) => {
      state.storage.sql.exec("UPDATE aggregates SET last_sample_ms = ? WHERE app_name = ?", Date.now() - hoursAgo * 3_600_000, app);
    });
    await evictDurableObject(projectStub(projectId)); // the next instance loads the aged series
  }

  it("a series silent for SERIES_RETENTION_HOURS is pushed once with NoRecordedValue, then deleted; it comes back with new start times", async () => {
    const t = await exportingProject();
    const gone = { app: "gone-app", region: "us-east-1" };
    const kept = { app: "kept-app", region: "us-east-1" };
    await postRuns(t, randomRuns(seededRandom(5), 10, [gone, kept]));
    expect((await t.flush()).body.ok).toBe(true);
    const startBefore = (await requests(t.ns))[0]!;
    await ageSeries(t.projectId, gone.app, 25);

    expect(await pushFromAlarm(t.projectId)).toBe(true);
    const last = (await requests(t.ns)).at(-1)!;
    const flagsOf = (name: string, app: string) =>
      (findMetric(last, name)?.sum?.dataPoints ?? findMetric(last, name)?.histogram?.dataPoints ?? [])
        .filter((p) => p.attributes?.some((a) => a.key === "app_name" && a.value?.stringValue === app))
        .map((p) => (p as { flags?: number }).flags ?? 0);
    expect(flagsOf("cerebrium_run_total", gone.app)).toEqual([1]);
    expect(flagsOf("cerebrium_run_response_time_ms", gone.app)).toEqual([1]);
    expect(flagsOf("cerebrium_run_total", kept.app)).toEqual([0]);
    expect((await call("GET", `/v1/projects/${t.projectId}/stats`)).body.series).toBe(1);

    await postRuns(t, [{ ...gone, execution_ms: 1, queue_ms: 1, response_ms: 1, success: true }]);
    expect((await t.flush()).body.ok).toBe(true);
    const back = (await requests(t.ns)).at(-1)!;
    const start = (r: typeof back) =>
      Number(findMetric(r, "cerebrium_run_total")!.sum!.dataPoints!.find((p) => p.attributes?.some((a) => a.value?.stringValue === gone.app))!.startTimeUnixNano);
    expect(start(back)).toBeGreaterThan(start(startBefore));
    expect(sumOf([back])[`${gone.app}/${gone.region}`]!.runs).toBe(1);
  });

  it("while export is disabled an expired series is deleted without a push, freeing its slot", async () => {
    const t = await exportingProject();
    await postRuns(t, randomRuns(seededRandom(6), 4, [{ app: "idle-app", region: "r1" }]));
    expect((await call("PATCH", exportPath(t.projectId), { body: { enabled: false } })).status).toBe(200);
    await ageSeries(t.projectId, "idle-app", 25);
    await housekeepNow(t.projectId);
    expect((await call("GET", `/v1/projects/${t.projectId}/stats`)).body.series).toBe(0);
    expect(await requestCount(t.ns)).toBe(0);
  });

  it("a series that gets a sample before its last push is not ended", async () => {
    const t = await exportingProject();
    const app = { app: "revived", region: "r1" };
    await postRuns(t, randomRuns(seededRandom(7), 3, [app]));
    await ageSeries(t.projectId, app.app, 25);
    await call("GET", exportPath(t.projectId)); // load the aged state
    await postRuns(t, randomRuns(seededRandom(8), 2, [app]));
    expect(await pushFromAlarm(t.projectId)).toBe(true);
    expect(sumOf([(await requests(t.ns)).at(-1)!])[`${app.app}/${app.region}`]!.runs).toBe(5);
    expect((await call("GET", `/v1/projects/${t.projectId}/stats`)).body.series).toBe(1);
  });
});

describe("delta with a destination that applies a request but answers too late", () => {
  it("a last-write-wins receiver ends with exact totals: the unanswered interval is re-sent verbatim", async () => {
    const t = await exportingProject({ destination: "datadog" });
    const random = seededRandom(9);
    await postRuns(t, randomRuns(random, 20));
    expect((await t.flush()).body.ok).toBe(true);
    await postRuns(t, randomRuns(random, 15));
    // Applies each request (the receiver records it) and answers after the client gave up.
    await script(t.ns, Array.from({ length: 4 }, () => ({ delayMs: TIMEOUT_MS + 200 })));
    const late = await t.flush();
    expect(late.body).toMatchObject({ ok: false, attempts: 4, error: { classification: "timeout" } });
    await postRuns(t, randomRuns(random, 10));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the late answers go out meanwhile
    expect((await t.flush()).body.ok).toBe(true);

    const all = await requests(t.ns);
    expect(all).toHaveLength(6);
    // A summing receiver would count the late interval five times; last-write-wins keeps one copy.
    expect(lastWriteWins(all)).toEqual(t.ledger.totals);
    const [, lateOne, , , , recovered] = all;
    const times = (r: typeof lateOne) => findMetric(r!, "cerebrium_run_total")!.sum!.dataPoints!.map((p) => String(p.timeUnixNano));
    // The recovering push carries the late interval with its original end time, then a newer point.
    expect(new Set(times(recovered)).size).toBe(2);
    for (const time of times(lateOne)) expect(times(recovered)).toContain(time);
  });
});
