import { describe, expect, it } from "vitest";
import { packSamples, RESOURCE_FIELDS, RUN_FIELDS, sampleCount } from "../../src/aggregation/packed-samples";
import type { SampleInput } from "../../src/validation/samples";

const common = { projectId: "p-abcd1234", timeMs: 1_800_000_000_000 };

describe("packSamples", () => {
  it("packs runs and resource reports into columns, series in order of first appearance", () => {
    const samples: SampleInput[] = [
      { ...common, index: 0, type: "run", appName: "b", region: "r1", executionMs: 1.5, queueMs: 2, responseMs: 3.5, success: true },
      { ...common, index: 2, type: "resource", appName: "a", region: "r2", cpuCores: 3.2, memoryBytes: 2 ** 40, gpuMemoryBytes: 7, gpuComputePercent: 87.5, gpuCount: 2, containersRunning: 3, containersReady: 1 },
      { ...common, index: 5, type: "run", appName: "a", region: "r2", executionMs: 10, queueMs: 0, responseMs: 11, coldstartMs: 2400, success: false },
      { ...common, index: 7, type: "run", appName: "b", region: "r1", executionMs: 4, queueMs: 1, responseMs: 5, success: true },
    ];
    const p = packSamples(samples);
    expect(p.appNames).toEqual(["b", "a"]);
    expect(p.regions).toEqual(["r1", "r2"]);
    expect([...p.runSeries]).toEqual([0, 1, 0]);
    expect([...p.runIndex]).toEqual([0, 5, 7]);
    expect([...p.runSuccess]).toEqual([1, 0, 1]);
    expect(p.runValues.length).toBe(3 * RUN_FIELDS);
    expect([...p.runValues.slice(0, 4)]).toEqual([1.5, 2, 3.5, NaN]);
    expect([...p.runValues.slice(4, 8)]).toEqual([10, 0, 11, 2400]);
    expect([...p.resourceSeries]).toEqual([1]);
    expect([...p.resourceIndex]).toEqual([2]);
    expect(p.resourceValues.length).toBe(RESOURCE_FIELDS);
    expect([...p.resourceValues]).toEqual([1_800_000_000_000, 3.2, 2 ** 40, 7, 87.5, 2, 3, 1]);
    expect(sampleCount(p)).toBe(4);
  });

  it("survives structured cloning unchanged (the RPC hand-off)", () => {
    const samples: SampleInput[] = Array.from({ length: 500 }, (_, i) => ({
      ...common,
      index: i,
      type: "run" as const,
      appName: `app-${i % 7}`,
      region: "us-east-1",
      executionMs: i * 1.25,
      queueMs: i % 3,
      responseMs: i * 1.5,
      success: i % 10 !== 0,
    }));
    const p = packSamples(samples);
    expect(structuredClone(p)).toEqual(p);
    expect(p.appNames).toHaveLength(7);
  });
});
