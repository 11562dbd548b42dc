import { describe, expect, it } from "vitest";
import { ackedAfterPush, applyRun, newSeries, rebucket, toExportSeries } from "../../src/aggregation/series";

const BOUNDS = [10, 100, 1000];
const T0 = 1_800_000_000_000;

describe("run aggregation", () => {
  it("counts runs, successes and errors and observes durations; cold start only when present", () => {
    const s = newSeries("my-model", "us-east-1", BOUNDS, T0);
    applyRun(s, { executionMs: 120.5, queueMs: 3.1, responseMs: 131, coldstartMs: 2400, success: true });
    applyRun(s, { executionMs: 5, queueMs: 0, responseMs: 9, success: false });
    const e = toExportSeries("p-abc12345", s, undefined, "cumulative");
    expect(e).toMatchObject({ appId: "p-abc12345-my-model", runs: 2, successes: 1, errors: 1, countersStartMs: T0 });
    expect(e.execution).toEqual({ count: 2, sum: 125.5, min: 5, max: 120.5, bucketCounts: [1, 0, 1, 0] });
    expect(e.queue).toEqual({ count: 2, sum: 3.1, min: 0, max: 3.1, bucketCounts: [2, 0, 0, 0] });
    expect(e.response).toEqual({ count: 2, sum: 140, min: 9, max: 131, bucketCounts: [1, 0, 1, 0] });
    expect(e.coldstart).toEqual({ count: 1, sum: 2400, min: 2400, max: 2400, bucketCounts: [0, 0, 0, 1] });
    expect(e.gauges).toBeUndefined();
  });

  it("delta points cover what happened since the last acknowledged push, starting at that push", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, { executionMs: 1, queueMs: 1, responseMs: 1, success: true });
    const first = toExportSeries("p-abcd", s, undefined, "delta");
    expect(first).toMatchObject({ runs: 1, countersStartMs: T0, histogramsStartMs: T0 });
    expect(first.execution).toEqual({ count: 1, sum: 1, bucketCounts: [1, 0, 0, 0] });
    s.acked = ackedAfterPush(s, T0 + 60_000);
    applyRun(s, { executionMs: 50, queueMs: 1, responseMs: 50, success: false });
    applyRun(s, { executionMs: 500, queueMs: 1, responseMs: 500, success: true });
    const second = toExportSeries("p-abcd", s, undefined, "delta");
    expect(second).toMatchObject({ runs: 2, successes: 1, errors: 1, countersStartMs: T0 + 60_000, histogramsStartMs: T0 + 60_000 });
    expect(second.execution).toEqual({ count: 2, sum: 550, bucketCounts: [0, 1, 1, 0] });
    // Cumulative is unaffected by acknowledgements.
    expect(toExportSeries("p-abcd", s, undefined, "cumulative")).toMatchObject({ runs: 3, countersStartMs: T0 });
  });

  it("new bucket bounds restart the histograms with a new start time, keeping counters", () => {
    const s = newSeries("a", "r", BOUNDS, T0);
    applyRun(s, { executionMs: 50, queueMs: 1, responseMs: 50, success: true });
    s.acked = ackedAfterPush(s, T0 + 1000);
    expect(rebucket(s, BOUNDS, T0 + 2000)).toBe(false);
    expect(rebucket(s, [1, 2], T0 + 2000)).toBe(true);
    applyRun(s, { executionMs: 1.5, queueMs: 1, responseMs: 3, success: true });
    const cumulative = toExportSeries("p-abcd", s, undefined, "cumulative");
    expect(cumulative).toMatchObject({ runs: 2, countersStartMs: T0, histogramsStartMs: T0 + 2000 });
    expect(cumulative.execution).toEqual({ count: 1, sum: 1.5, min: 1.5, max: 1.5, bucketCounts: [0, 1, 0] });
    const delta = toExportSeries("p-abcd", s, undefined, "delta");
    expect(delta).toMatchObject({ runs: 1, countersStartMs: T0 + 1000, histogramsStartMs: T0 + 2000 });
    expect(delta.execution.count).toBe(1);
  });
});
