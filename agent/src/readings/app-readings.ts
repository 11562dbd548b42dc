/**
 * One reading of the host, summed per (project, app) over that app's containers: what a `resource`
 * sample carries. Pure; the collector does the reading.
 *
 * - CPU cores: the rate of cpu.stat `usage_usec` between this reading and the previous one of the same
 *   container (µs of CPU per µs of wall time). A container seen for the first time, or whose counter went
 *   backwards (a new cgroup at the same path), contributes 0 until its next reading.
 * - Memory: the working set of each container (cgroup-files.ts `workingSetBytes`).
 * - GPU memory: nvidia-smi's per-process `used_gpu_memory`, each process assigned to the container whose
 *   cgroup holds it (or an ancestor of it).
 * - GPU count: the distinct devices the app's processes use. GPU %: the mean `utilization.gpu` of those
 *   devices. A device shared by two apps counts fully for each: `utilization.gpu` is the fraction of time
 *   a kernel ran on the device, and nvidia-smi does not say whose kernel it was (agent/README.md).
 */
import type { ResourceReading } from "../../../src/aggregation/gauges";
import type { GpuDevice, GpuProcess } from "./nvidia-smi-csv";

export interface ContainerReading {
  cgroup: string;
  projectId: string;
  appName: string;
  ready: boolean;
  /** cpu.stat usage_usec; undefined when it could not be read. */
  cpuUsageUsec?: number;
  /** Monotonic clock when cpu.stat was read, µs. */
  readAtUs: number;
  workingSetBytes?: number;
}

export interface CpuBaseline {
  usageUsec: number;
  atUs: number;
}

/** The edge's own type for what one host reports for one app, with the app it is for. */
export interface AppReading extends ResourceReading {
  projectId: string;
  appName: string;
}

export interface HostAggregate {
  apps: AppReading[];
  /** Baselines for the next reading: one per container whose cpu.stat was read. */
  cpuBaselines: Map<string, CpuBaseline>;
  /** PIDs nvidia-smi lists that belong to no known container. */
  unmappedGpuPids: number[];
  /** GPU values nvidia-smi reported as [N/A] for a known app's process or device. */
  gpuValuesMissing: number;
}

/** The container whose cgroup is `cgroup` or the nearest ancestor of it. */
export function owningContainer<T>(byCgroup: ReadonlyMap<string, T>, cgroup: string): T | undefined {
  for (let path = cgroup; path.length > 0; path = path.slice(0, path.lastIndexOf("/"))) {
    const found = byCgroup.get(path);
    if (found !== undefined) return found;
  }
  return byCgroup.get("/");
}

interface AppTotals extends AppReading {
  gpus: Set<string>;
}

export function aggregateApps(
  containers: readonly ContainerReading[],
  gpu: { devices: readonly GpuDevice[]; processes: readonly GpuProcess[] },
  pidCgroups: ReadonlyMap<number, string>,
  previousCpu: ReadonlyMap<string, CpuBaseline>,
): HostAggregate {
  const apps = new Map<string, AppTotals>();
  const byCgroup = new Map<string, AppTotals>();
  const cpuBaselines = new Map<string, CpuBaseline>();
  for (const c of containers) {
    const key = `${c.projectId}/${c.appName}`;
    let app = apps.get(key);
    if (app === undefined) {
      app = { projectId: c.projectId, appName: c.appName, cpuCores: 0, memoryBytes: 0, gpuMemoryBytes: 0, gpuComputePercent: 0, gpuCount: 0, containersRunning: 0, containersReady: 0, gpus: new Set() };
      apps.set(key, app);
    }
    byCgroup.set(c.cgroup, app);
    app.containersRunning += 1;
    if (c.ready) app.containersReady += 1;
    app.memoryBytes += c.workingSetBytes ?? 0;
    if (c.cpuUsageUsec !== undefined) {
      const prev = previousCpu.get(c.cgroup);
      if (prev !== undefined && c.cpuUsageUsec >= prev.usageUsec && c.readAtUs > prev.atUs) {
        app.cpuCores += (c.cpuUsageUsec - prev.usageUsec) / (c.readAtUs - prev.atUs);
      }
      cpuBaselines.set(c.cgroup, { usageUsec: c.cpuUsageUsec, atUs: c.readAtUs });
    }
  }

  const unmappedGpuPids: number[] = [];
  let gpuValuesMissing = 0;
  for (const p of gpu.processes) {
    const cgroup = pidCgroups.get(p.pid);
    const app = cgroup === undefined ? undefined : owningContainer(byCgroup, cgroup);
    if (app === undefined) {
      unmappedGpuPids.push(p.pid);
      continue;
    }
    if (p.usedMemoryBytes === null) gpuValuesMissing += 1;
    else app.gpuMemoryBytes += p.usedMemoryBytes;
    app.gpus.add(p.gpuUuid);
  }

  const utilization = new Map(gpu.devices.map((d) => [d.uuid, d.utilizationPercent]));
  const readings: AppReading[] = [];
  for (const { gpus, ...app } of apps.values()) {
    let sum = 0;
    for (const uuid of gpus) {
      const percent = utilization.get(uuid);
      if (percent === undefined || percent === null) gpuValuesMissing += 1;
      else sum += percent;
    }
    app.gpuCount = gpus.size;
    app.gpuComputePercent = gpus.size > 0 ? Math.min(100, sum / gpus.size) : 0;
    readings.push(app);
  }
  readings.sort((a, b) => (a.projectId === b.projectId ? a.appName.localeCompare(b.appName) : a.projectId.localeCompare(b.projectId)));
  return { apps: readings, cpuBaselines, unmappedGpuPids, gpuValuesMissing };
}
