/** Per-app sums of one reading (pure): CPU rates between readings, GPU attribution, unmapped processes. */
import { describe, expect, it } from "vitest";
import { aggregateApps, owningContainer, type ContainerReading } from "../../src/readings/app-readings";
import type { GpuDevice, GpuProcess } from "../../src/readings/nvidia-smi-csv";

const G0 = "GPU-0";
const G1 = "GPU-1";
const device = (uuid: string, utilizationPercent: number | null): GpuDevice => ({ index: 0, uuid, utilizationPercent, memoryUsedBytes: 0, memoryTotalBytes: 0 });
const container = (cgroup: string, appName: string, extra: Partial<ContainerReading> = {}): ContainerReading => ({
  cgroup,
  projectId: "p-abcd",
  appName,
  ready: true,
  readAtUs: 0,
  ...extra,
});
const noGpu = { devices: [], processes: [] };

describe("CPU cores", () => {
  it("is the usage_usec rate between two readings of each container, summed per app", () => {
    const first = aggregateApps(
      [container("/a/1", "a", { cpuUsageUsec: 1_000_000, readAtUs: 10_000_000 }), container("/a/2", "a", { cpuUsageUsec: 0, readAtUs: 10_000_100 })],
      noGpu,
      new Map(),
      new Map(),
    );
    expect(first.apps[0]!.cpuCores).toBe(0);
    const second = aggregateApps(
      [container("/a/1", "a", { cpuUsageUsec: 16_000_000, readAtUs: 25_000_000 }), container("/a/2", "a", { cpuUsageUsec: 7_500_000, readAtUs: 25_000_100 })],
      noGpu,
      new Map(),
      first.cpuBaselines,
    );
    // 15 s of CPU in 15 s plus 7.5 s in 15 s.
    expect(second.apps[0]!.cpuCores).toBe(1.5);
  });

  it("a counter that went backwards (a new cgroup at the same path) counts 0 and re-baselines", () => {
    const previous = new Map([["/a/1", { usageUsec: 9_000_000, atUs: 0 }]]);
    const r = aggregateApps([container("/a/1", "a", { cpuUsageUsec: 100, readAtUs: 1_000_000 })], noGpu, new Map(), previous);
    expect(r.apps[0]!.cpuCores).toBe(0);
    expect(r.cpuBaselines.get("/a/1")).toEqual({ usageUsec: 100, atUs: 1_000_000 });
  });

  it("a container whose cpu.stat was unreadable adds nothing and keeps no baseline", () => {
    const previous = new Map([["/a/1", { usageUsec: 0, atUs: 0 }]]);
    const r = aggregateApps([container("/a/1", "a")], noGpu, new Map(), previous);
    expect(r.apps[0]!.cpuCores).toBe(0);
    expect(r.cpuBaselines.size).toBe(0);
  });
});

describe("GPU attribution", () => {
  const containers = [container("/a/1", "a"), container("/b/1", "b")];
  const pids = new Map([
    [1, "/a/1"],
    [2, "/b/1/nested"],
    [3, "/elsewhere"],
  ]);

  it("memory per process, devices per app, full utilisation of a shared device to each app", () => {
    const processes: GpuProcess[] = [
      { pid: 1, gpuUuid: G0, usedMemoryBytes: 30 },
      { pid: 1, gpuUuid: G1, usedMemoryBytes: 5 },
      { pid: 2, gpuUuid: G0, usedMemoryBytes: 10 },
      { pid: 3, gpuUuid: G1, usedMemoryBytes: 99 },
      { pid: 4, gpuUuid: G1, usedMemoryBytes: 99 },
    ];
    const r = aggregateApps(containers, { devices: [device(G0, 90), device(G1, 30)], processes }, pids, new Map());
    expect(r.apps.map(({ appName, gpuMemoryBytes, gpuCount, gpuComputePercent }) => ({ appName, gpuMemoryBytes, gpuCount, gpuComputePercent }))).toEqual([
      { appName: "a", gpuMemoryBytes: 35, gpuCount: 2, gpuComputePercent: 60 },
      { appName: "b", gpuMemoryBytes: 10, gpuCount: 1, gpuComputePercent: 90 },
    ]);
    // pid 3 is in no container, pid 4's cgroup could not be read.
    expect(r.unmappedGpuPids).toEqual([3, 4]);
    expect(r.gpuValuesMissing).toBe(0);
  });

  it("[N/A] memory or utilisation counts as missing and adds 0", () => {
    const processes: GpuProcess[] = [{ pid: 1, gpuUuid: G0, usedMemoryBytes: null }];
    const r = aggregateApps(containers, { devices: [device(G0, null)], processes }, pids, new Map());
    expect(r.apps[0]).toMatchObject({ gpuMemoryBytes: 0, gpuCount: 1, gpuComputePercent: 0 });
    expect(r.gpuValuesMissing).toBe(2);
  });
});

describe("owningContainer", () => {
  const byCgroup = new Map([
    ["/apps/p/m/c1", "c1"],
    ["/", "root"],
  ]);
  it.each([
    ["/apps/p/m/c1", "c1"],
    ["/apps/p/m/c1/init.scope/x", "c1"],
    ["/apps/p/m/c10", "root"],
    ["/other", "root"],
  ])("%s → %s", (cgroup, owner) => {
    expect(owningContainer(byCgroup, cgroup)).toBe(owner);
  });
  it("undefined when no container holds the path", () => {
    expect(owningContainer(new Map([["/a", 1]]), "/b/c")).toBeUndefined();
  });
});

it("counts running and ready containers and sums the working set; apps come sorted", () => {
  const r = aggregateApps(
    [
      container("/z/1", "zeta", { workingSetBytes: 5 }),
      container("/a/1", "alpha", { workingSetBytes: 1, ready: false }),
      container("/a/2", "alpha", { workingSetBytes: 2 }),
    ],
    noGpu,
    new Map(),
    new Map(),
  );
  expect(r.apps.map((a) => [a.appName, a.memoryBytes, a.containersRunning, a.containersReady])).toEqual([
    ["alpha", 3, 2, 1],
    ["zeta", 5, 1, 1],
  ]);
});
