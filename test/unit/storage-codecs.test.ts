import { describe, expect, it } from "vitest";
import { decodePacked, encodePacked, packSamples } from "../../src/aggregation/packed-samples";
import { applyRun, newSeries, snapshotOf } from "../../src/aggregation/series";
import {
  decodeBounds,
  decodeHistograms,
  decodeHostReports,
  decodeSnapshots,
  encodeBounds,
  encodeHistograms,
  encodeHostReports,
  encodeSnapshots,
} from "../../src/aggregation/state-codec";
import type { SampleInput } from "../../src/validation/samples";

const BOUNDS = [5, 10, 25.5, 1e6];

describe("stored state codecs give back exactly what they were given", () => {
  it("histograms (empty ones keep their ±Infinity min/max) and bounds", () => {
    const s = newSeries("a", "r", BOUNDS, 1);
    applyRun(s, { executionMs: 7.25, queueMs: 0.1, responseMs: 2e6, coldstartMs: 3, success: true });
    expect(decodeHistograms(encodeHistograms(s.histograms), BOUNDS.length + 1)).toEqual(s.histograms);
    const empty = newSeries("b", "r", BOUNDS, 1).histograms;
    expect(decodeHistograms(encodeHistograms(empty), BOUNDS.length + 1)).toEqual(empty);
    expect(decodeBounds(encodeBounds(BOUNDS))).toEqual(BOUNDS);
  });

  it("one host's reports, with non-ASCII-free names of every allowed length", () => {
    const reports = [
      { hostId: "h", appName: "a".repeat(63), region: "r".repeat(32), timeMs: 1_800_000_000_123, cpuCores: 3.25, memoryBytes: 2 ** 53 - 1, gpuMemoryBytes: 0, gpuComputePercent: 99.5, gpuCount: 8, containersRunning: 3, containersReady: 2 },
      { hostId: "h", appName: "b", region: "eu", timeMs: 5, cpuCores: 0, memoryBytes: 1, gpuMemoryBytes: 2, gpuComputePercent: 0, gpuCount: 1, containersRunning: 0, containersReady: 0 },
    ];
    expect(decodeHostReports("h", encodeHostReports(reports))).toEqual(reports);
    expect(decodeHostReports("h", encodeHostReports([]))).toEqual([]);
  });

  it("delta snapshots with and without histograms", () => {
    const s = newSeries("a", "r", BOUNDS, 1);
    applyRun(s, { executionMs: 1, queueMs: 1, responseMs: 1, success: false });
    const entries = [
      { key: "a\u0000r", snapshot: snapshotOf(s, 42) },
      { key: "b\u0000r", snapshot: { atMs: 7, runs: 3, successes: 2, errors: 1 } },
    ];
    expect(decodeSnapshots(encodeSnapshots(entries))).toEqual(entries);
  });

  it("a batch's accepted samples (the ledger's log) without their indices", () => {
    const time = 1_800_000_000_000;
    const samples: SampleInput[] = [
      { index: 0, type: "run", projectId: "p-abcd", appName: "a", region: "r", timeMs: time, executionMs: 1.5, queueMs: 2, responseMs: 3, coldstartMs: 4, success: true },
      { index: 1, type: "resource", projectId: "p-abcd", appName: "b", region: "r", timeMs: time, cpuCores: 1, memoryBytes: 2, gpuMemoryBytes: 3, gpuComputePercent: 4, gpuCount: 5, containersRunning: 6, containersReady: 7 },
      { index: 2, type: "run", projectId: "p-abcd", appName: "a", region: "r", timeMs: time, executionMs: 9, queueMs: 0, responseMs: 9, success: false },
    ];
    const packed = packSamples(samples);
    const back = decodePacked(encodePacked(packed));
    expect({ ...back, runIndex: undefined, resourceIndex: undefined }).toEqual({ ...packed, runIndex: undefined, resourceIndex: undefined });
    expect(Number.isNaN(back.runValues[7])).toBe(true); // no cold start stays "none"
  });
});
