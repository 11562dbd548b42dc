import { describe, expect, it } from "vitest";
import { computeGauges, SILENT_ZEROS_MS, type HostReport } from "../../src/aggregation/gauges";

const INTERVAL = 60_000;
const T0 = 1_800_000_000_000;

function report(hostId: string, timeMs: number, over: Partial<HostReport> = {}): HostReport {
  return {
    hostId,
    appName: "my-model",
    region: "us-east-1",
    timeMs,
    cpuCores: 2,
    memoryBytes: 1000,
    gpuMemoryBytes: 5000,
    gpuComputePercent: 50,
    gpuCount: 1,
    containersRunning: 1,
    containersReady: 1,
    ...over,
  };
}

describe("resource gauges", () => {
  it("sums over hosts and weights GPU utilisation by gpu_count", () => {
    const g = computeGauges(
      [
        report("a", T0, { cpuCores: 3.2, memoryBytes: 100, gpuMemoryBytes: 10, gpuComputePercent: 90, gpuCount: 3, containersRunning: 2, containersReady: 1 }),
        report("b", T0 - 1000, { cpuCores: 0.8, memoryBytes: 50, gpuMemoryBytes: 30, gpuComputePercent: 10, gpuCount: 1, containersRunning: 1, containersReady: 1 }),
      ],
      T0 + 5000,
      INTERVAL,
    );
    expect(g).toEqual({
      cpuCores: 4,
      memoryBytes: 150,
      gpuMemoryBytes: 40,
      gpuComputePercent: (90 * 3 + 10 * 1) / 4, // 70
      containersRunning: 3,
      containersReady: 2,
    });
  });

  it("hosts with gpu_count 0 do not weigh in; all zero gives 0 percent", () => {
    expect(computeGauges([report("a", T0, { gpuCount: 0, gpuComputePercent: 80 })], T0, INTERVAL)!.gpuComputePercent).toBe(0);
    expect(
      computeGauges([report("a", T0, { gpuCount: 0, gpuComputePercent: 80 }), report("b", T0, { gpuCount: 2, gpuComputePercent: 30 })], T0, INTERVAL)!
        .gpuComputePercent,
    ).toBe(30);
  });

  it("a host counts only while its latest report is younger than two intervals", () => {
    const reports = [report("a", T0), report("b", T0 - 2 * INTERVAL + 1)];
    expect(computeGauges(reports, T0, INTERVAL)!.cpuCores).toBe(4);
    expect(computeGauges(reports, T0 + 1, INTERVAL)!.cpuCores).toBe(2); // b is exactly two intervals old
  });

  it("exports explicit zeros for 15 minutes after the last host goes silent, then stops", () => {
    const reports = [report("a", T0)];
    const silentAt = T0 + 2 * INTERVAL;
    expect(computeGauges(reports, silentAt - 1, INTERVAL)!.cpuCores).toBe(2);
    expect(computeGauges(reports, silentAt, INTERVAL)).toEqual({
      cpuCores: 0,
      memoryBytes: 0,
      gpuMemoryBytes: 0,
      gpuComputePercent: 0,
      containersRunning: 0,
      containersReady: 0,
    });
    expect(computeGauges(reports, silentAt + SILENT_ZEROS_MS - 1, INTERVAL)!.memoryBytes).toBe(0);
    expect(computeGauges(reports, silentAt + SILENT_ZEROS_MS, INTERVAL)).toBeUndefined();
  });

  it("an app with no reports has no gauges", () => {
    expect(computeGauges([], T0, INTERVAL)).toBeUndefined();
  });

  it("follows the export interval setting", () => {
    expect(computeGauges([report("a", T0)], T0 + 3999, 2000)!.cpuCores).toBe(2);
    expect(computeGauges([report("a", T0)], T0 + 4000, 2000)!.cpuCores).toBe(0);
  });
});
