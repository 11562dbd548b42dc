import { describe, expect, it } from "vitest";
import { applyRun, cumulativeSeries, newSeries, rebucket, snapshotOf } from "../../src/aggregation/series";
import { afterRebucket, deltaSeries, delivered, MAX_UNCONFIRMED, NO_DELTA, unconfirmed } from "../../src/export/delta";

const BOUNDS = [10, 100, 1000];
const T0 = 1_800_000_000_000;
const run = (executionMs: number, success = true) => ({ executionMs, queueMs: 1, responseMs: executionMs, success });

describe("run aggregation", () => {
  it("counts runs, successes and errors and observes durations; cold start only when present", () => {
    const s = newSeries("my-model", "us-east-1", BOUNDS, T0);
    applyRun(s, { executionMs: 120.5, queueMs: 3.1, responseMs: 131, coldstartMs: 2400, success: true });
    applyRun(s, { executionMs: 5, queueMs: 0, responseMs: 9, success: false });
    const e = cumulativeSeries("p-abc12345", s, undefined);
    expect(e).toMatchObject({ appId: "p-abc12345-my-model", runs: 2, successes: 1, errors: 1, countersStartMs: T0 });
    expect(e.execution).toEqual({ count: 2, sum: 125.5, min: 5, max: 120.5, bucketCounts: [1, 0, 1, 0] });
    expect(e.queue).toEqual({ count: 2, sum: 3.1, min: 0, max: 3.1, bucketCounts: [2, 0, 0, 0] });
    expect(e.response).toEqual({ count: 2, sum: 140, min: 9, max: 131, bucketCounts: [1, 0, 1, 0] });
    expect(e.coldstart).toEqual({ count: 1, sum: 2400, min: 2400, max: 2400, bucketCounts: [0, 0, 0, 1] });
    expect(e.gauges).toBeUndefined();
  });

  it("new bucket bounds restart the histograms with a new start time, keeping counters", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, run(50));
    expect(rebucket(s, BOUNDS, T0 + 2000)).toBe(false);
    expect(rebucket(s, [1, 2], T0 + 2000)).toBe(true);
    applyRun(s, { executionMs: 1.5, queueMs: 1, responseMs: 3, success: true });
    const cumulative = cumulativeSeries("p-abcd", s, undefined);
    expect(cumulative).toMatchObject({ runs: 2, countersStartMs: T0, histogramsStartMs: T0 + 2000 });
    expect(cumulative.execution).toEqual({ count: 1, sum: 1.5, min: 1.5, max: 1.5, bucketCounts: [0, 1, 0] });
  });
});

describe("delta points", () => {
  it("cover what happened since the last delivered push, starting at that push", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, run(1));
    const first = deltaSeries("p-abcd", s, NO_DELTA, undefined, T0 + 60_000);
    expect(first.points).toHaveLength(1);
    expect(first.points[0]).toMatchObject({ runs: 1, countersStartMs: T0, histogramsStartMs: T0, timeMs: T0 + 60_000 });
    expect(first.points[0]!.execution).toEqual({ count: 1, sum: 1, bucketCounts: [1, 0, 0, 0] });
    const state = delivered(first.snapshot);
    applyRun(s, run(50, false));
    applyRun(s, run(500));
    const second = deltaSeries("p-abcd", s, state, undefined, T0 + 120_000);
    expect(second.points).toEqual([
      expect.objectContaining({ runs: 2, successes: 1, errors: 1, countersStartMs: T0 + 60_000, histogramsStartMs: T0 + 60_000, timeMs: T0 + 120_000 }),
    ]);
    expect(second.points[0]!.execution).toEqual({ count: 2, sum: 550, bucketCounts: [0, 1, 1, 0] });
    // Cumulative is unaffected by deliveries.
    expect(cumulativeSeries("p-abcd", s, undefined)).toMatchObject({ runs: 3, countersStartMs: T0 });
  });

  it("re-send an interval whose outcome is unknown verbatim, then what came after", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, run(5));
    const p1 = deltaSeries("p-abcd", s, NO_DELTA, undefined, T0 + 60_000);
    const afterTimeout = unconfirmed(NO_DELTA, p1.snapshot);
    applyRun(s, run(50));
    applyRun(s, run(60));
    const p2 = deltaSeries("p-abcd", s, afterTimeout, { cpuCores: 1, memoryBytes: 2, gpuMemoryBytes: 3, gpuComputePercent: 4, containersRunning: 5, containersReady: 6 }, T0 + 120_000);
    expect(p2.points).toHaveLength(2);
    expect(p2.points[0]).toEqual(p1.points[0]); // the same start, time and values as first sent
    expect(p2.points[1]).toMatchObject({ runs: 2, countersStartMs: T0 + 60_000, timeMs: T0 + 120_000 });
    expect(p2.points[0]!.gauges).toBeUndefined();
    expect(p2.points[1]!.gauges).toMatchObject({ cpuCores: 1 });
    // Refused outright: the state does not move, and the next push folds the interval in.
    const p3 = deltaSeries("p-abcd", s, afterTimeout, undefined, T0 + 180_000);
    expect(p3.points.map((p) => [p.countersStartMs, p.timeMs, p.runs])).toEqual([
      [T0, T0 + 60_000, 1],
      [T0 + 60_000, T0 + 180_000, 2],
    ]);
    expect(deltaSeries("p-abcd", s, delivered(p3.snapshot), undefined, T0 + 240_000).points).toEqual([
      expect.objectContaining({ runs: 0, countersStartMs: T0 + 180_000 }),
    ]);
  });

  it("keep at most MAX_UNCONFIRMED unknown intervals", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    let state = NO_DELTA;
    for (let i = 1; i <= MAX_UNCONFIRMED + 3; i++) {
      applyRun(s, run(i));
      state = unconfirmed(state, snapshotOf(s, T0 + i * 60_000));
    }
    expect(state.unconfirmed).toHaveLength(MAX_UNCONFIRMED);
    const points = deltaSeries("p-abcd", s, state, undefined, T0 + 3_600_000).points;
    expect(points).toHaveLength(MAX_UNCONFIRMED + 1);
    expect(points.reduce((sum, p) => sum + p.runs, 0)).toBe(MAX_UNCONFIRMED + 3);
  });

  it("after new bucket bounds, drop unconfirmed intervals and histogram baselines, keep the counters' baseline", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, run(50));
    const state = unconfirmed(delivered(snapshotOf(s, T0 + 1000)), snapshotOf(s, T0 + 1500));
    rebucket(s, [1, 2], T0 + 2000);
    applyRun(s, { executionMs: 1.5, queueMs: 1, responseMs: 3, success: true });
    const after = afterRebucket(state);
    expect(after.unconfirmed).toEqual([]);
    const [point] = deltaSeries("p-abcd", s, after, undefined, T0 + 3000).points;
    expect(point).toMatchObject({ runs: 1, countersStartMs: T0 + 1000, histogramsStartMs: T0 + 2000 });
    expect(point!.execution.count).toBe(1);
  });
});
