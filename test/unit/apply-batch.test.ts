import { describe, expect, it } from "vitest";
import { applyBatch, planBatch, type AggregateState } from "../../src/aggregation/apply-batch";
import { packSamples } from "../../src/aggregation/packed-samples";
import { seriesKey } from "../../src/aggregation/series";
import type { SampleInput } from "../../src/validation/samples";

const T = 1_800_000_000_000;
const BOUNDS = [10, 100];
const run = (index: number, appName: string, executionMs = 5): SampleInput => ({
  index, type: "run", projectId: "p-abcd", appName, region: "r", timeMs: T, executionMs, queueMs: 1, responseMs: executionMs + 1, success: true,
});
const resource = (index: number, appName: string, timeMs: number, cpuCores: number): SampleInput => ({
  index, type: "resource", projectId: "p-abcd", appName, region: "r", timeMs, cpuCores, memoryBytes: 1, gpuMemoryBytes: 1, gpuComputePercent: 1, gpuCount: 1, containersRunning: 1, containersReady: 1,
});
const empty = (): AggregateState => ({ series: new Map(), reports: new Map() });

describe("planBatch", () => {
  it("keeps existing series and new ones up to the limit, in order of appearance; rejects the rest by sample index, without touching the state", () => {
    const state = empty();
    applyBatch(state, "h", packSamples([run(0, "old")]), T, BOUNDS);
    const plan = planBatch(state, packSamples([run(0, "new-1"), run(1, "old"), run(2, "new-2"), resource(3, "new-2", T, 1), run(4, "new-1")]), 2);
    expect(plan.acceptedCount).toBe(3);
    expect(plan.rejected.map((r) => [r.index, r.code])).toEqual([[2, "series_limit"], [3, "series_limit"]]);
    expect(plan.accepted.appNames).toEqual(["new-1", "old"]);
    expect([...state.series.keys()]).toEqual([seriesKey("old", "r")]);
  });

  it("passes a batch without rejections through as it is", () => {
    const packed = packSamples([run(0, "a"), run(1, "b")]);
    expect(planBatch(empty(), packed, 10).accepted).toBe(packed);
  });
});

describe("applyBatch", () => {
  it("creates series at the batch's time, counts runs, and keeps each host's newest report", () => {
    const state = empty();
    const applied = applyBatch(state, "h1", packSamples([run(0, "a", 50), resource(1, "a", T - 10, 2), run(2, "a", 500)]), T, BOUNDS);
    expect(applied).toEqual({ series: [seriesKey("a", "r")], rebucketed: [], reports: true });
    const s = state.series.get(seriesKey("a", "r"))!;
    expect(s).toMatchObject({ runs: 2, countersStartMs: T, lastSampleMs: T });
    expect(s.histograms.execution.buckets).toEqual([0, 1, 1]);
    const older = applyBatch(state, "h1", packSamples([resource(0, "a", T - 20, 9)]), T + 5, BOUNDS);
    expect(older.reports).toBe(false);
    expect(state.reports.get(seriesKey("a", "r"))!.get("h1")!.cpuCores).toBe(2);
    applyBatch(state, "h2", packSamples([resource(0, "a", T + 60_000, 4)]), T + 1000, BOUNDS);
    expect(state.reports.get(seriesKey("a", "r"))!.get("h2")).toMatchObject({ cpuCores: 4, timeMs: T + 1000 }); // clamped to receipt
  });

  it("replaying the same batches onto the same state gives the same state", () => {
    const batches = [packSamples([run(0, "a", 7), run(1, "b", 70)]), packSamples([run(0, "a", 700), resource(1, "b", T, 3)])];
    const once = empty();
    const twice = empty();
    for (const b of batches) applyBatch(once, "h", b, T, BOUNDS);
    for (const b of batches) applyBatch(twice, "h", b, T, BOUNDS);
    expect(twice).toEqual(once);
  });
});
