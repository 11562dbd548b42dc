/**
 * One reading of the host: the containers (discover.ts), their cgroup files, nvidia-smi, and the
 * cgroup of every GPU process, summed per app (app-readings.ts). Keeps the CPU baselines between
 * readings. Nothing here throws for a missing or unreadable file: the value is left out and counted in
 * `skipped`.
 */
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { identityProblem } from "../edge-rules";
import type { MappingFile } from "../mapping/mapping-file";
import type { MappingRule } from "../mapping/rules";
import { aggregateApps, type AppReading, type ContainerReading, type CpuBaseline } from "./app-readings";
import { cgroupV2Path, cpuUsageUsec, isPopulated, workingSetBytes } from "./cgroup-files";
import { discover, type Candidate } from "./discover";
import type { GpuDevice } from "./nvidia-smi-csv";
import { readGpus, type NvidiaSmiFailure } from "./nvidia-smi";

export interface CollectorOptions {
  cgroupRoot: string;
  containersUnder: string;
  procRoot: string;
  nvidiaSmi: string;
  nvidiaSmiTimeoutMs: number;
  region: string;
  rules: readonly MappingRule[];
  mappingFile?: MappingFile;
  readinessFile?: string;
  monotonicUs?: () => number;
  nowMs?: () => number;
}

export interface SkippedReadings {
  /** A container's cpu.stat, memory.current or memory.stat that could not be read or parsed. */
  cgroup: number;
  /** A GPU process's /proc/<pid>/cgroup that could not be read. */
  proc: number;
  /** GPU values nvidia-smi could not give (its call failed, [N/A] values, unreadable lines). */
  gpu: number;
}

export interface HostReading {
  apps: AppReading[];
  containers: { cgroup: string; projectId: string; appName: string; ready: boolean }[];
  unmappedContainers: string[];
  /** Containers whose project_id or app_name the edge would refuse, with its reason. */
  invalidContainers: { cgroup: string; problem: string }[];
  unmappedGpuPids: number[];
  devices: GpuDevice[];
  gpuFailure?: NvidiaSmiFailure;
  /** Problems of the cgroup walk (too many cgroups, a folder it could not list). */
  walkProblems: string[];
  skipped: SkippedReadings;
}

/** Whether `cgroupRoot` is a cgroup v2 (unified) mount: only its root has cgroup.controllers next to the tree. */
export function isCgroupV2(cgroupRoot: string): Promise<boolean> {
  return access(path.join(cgroupRoot, "cgroup.controllers")).then(
    () => true,
    () => false,
  );
}

const readText = (file: string) => readFile(file, "utf8").then((t) => t, (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : undefined));

export class Collector {
  #o: CollectorOptions;
  #cpu: ReadonlyMap<string, CpuBaseline> = new Map();
  #monotonicUs: () => number;
  #nowMs: () => number;
  #identityProblems = new Map<string, string | null>();

  constructor(options: CollectorOptions) {
    this.#o = options;
    this.#monotonicUs = options.monotonicUs ?? (() => performance.now() * 1000);
    this.#nowMs = options.nowMs ?? Date.now;
  }

  async read(): Promise<HostReading> {
    const o = this.#o;
    const skipped: SkippedReadings = { cgroup: 0, proc: 0, gpu: 0 };
    const entries = o.mappingFile === undefined ? new Map() : await o.mappingFile.entries();
    const [found, gpu] = await Promise.all([
      discover({ cgroupRoot: o.cgroupRoot, containersUnder: o.containersUnder, rules: o.rules, entries, ...(o.readinessFile === undefined ? {} : { readinessFile: o.readinessFile }) }),
      readGpus(o.nvidiaSmi, o.nvidiaSmiTimeoutMs),
    ]);
    const invalidContainers: HostReading["invalidContainers"] = [];
    const valid = found.candidates.filter((c) => {
      const problem = this.#identityProblem(c.projectId, c.appName);
      if (problem !== null) invalidContainers.push({ cgroup: c.cgroup, problem });
      return problem === null;
    });
    const [containers, pidCgroups] = await Promise.all([
      Promise.all(valid.map((c) => this.#readContainer(c, skipped))),
      this.#pidCgroups(gpu.processes.map((p) => p.pid), skipped),
    ]);
    const running = containers.filter((c): c is ContainerReading => c !== undefined);
    const aggregate = aggregateApps(running, gpu, pidCgroups, this.#cpu);
    this.#cpu = aggregate.cpuBaselines;
    skipped.gpu += gpu.problems.length + aggregate.gpuValuesMissing + (gpu.failure === undefined ? 0 : 1);
    return {
      apps: aggregate.apps,
      containers: running.map(({ cgroup, projectId, appName, ready }) => ({ cgroup, projectId, appName, ready })),
      unmappedContainers: found.unmapped,
      invalidContainers,
      unmappedGpuPids: aggregate.unmappedGpuPids,
      devices: gpu.devices,
      ...(gpu.failure === undefined ? {} : { gpuFailure: gpu.failure }),
      walkProblems: found.incomplete,
      skipped,
    };
  }

  #identityProblem(projectId: string, appName: string): string | null {
    const key = `${projectId}/${appName}`;
    let problem = this.#identityProblems.get(key);
    if (problem === undefined) {
      problem = identityProblem(projectId, appName, this.#o.region, this.#nowMs());
      this.#identityProblems.set(key, problem);
    }
    return problem;
  }

  /** undefined when the container is not running (its cgroup is gone or holds no process). */
  async #readContainer(c: Candidate, skipped: SkippedReadings): Promise<ContainerReading | undefined> {
    const dir = path.join(this.#o.cgroupRoot, c.cgroup);
    const [events, cpuStat, memoryCurrent, memoryStat, ready] = await Promise.all([
      readText(path.join(dir, "cgroup.events")),
      readText(path.join(dir, "cpu.stat")).then((text) => ({ text, atUs: this.#monotonicUs() })),
      readText(path.join(dir, "memory.current")),
      readText(path.join(dir, "memory.stat")),
      typeof c.readiness === "string" ? access(c.readiness).then(() => true, () => false) : Promise.resolve(c.readiness ?? true),
    ]);
    // cgroup.events exists in every non-root cgroup; without it the cgroup is gone.
    if (events === null || (events !== undefined && isPopulated(events) === false)) return undefined;
    const reading: ContainerReading = { cgroup: c.cgroup, projectId: c.projectId, appName: c.appName, ready, readAtUs: cpuStat.atUs };
    const usage = cpuStat.text ? cpuUsageUsec(cpuStat.text) : undefined;
    if (usage === undefined) skipped.cgroup += 1;
    else reading.cpuUsageUsec = usage;
    const workingSet = memoryCurrent && memoryStat ? workingSetBytes(memoryCurrent, memoryStat) : undefined;
    if (workingSet === undefined) skipped.cgroup += 1;
    else reading.workingSetBytes = workingSet;
    return reading;
  }

  async #pidCgroups(pids: number[], skipped: SkippedReadings): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    await Promise.all(
      pids.map(async (pid) => {
        const text = await readText(path.join(this.#o.procRoot, String(pid), "cgroup"));
        const cgroup = text ? cgroupV2Path(text) : undefined;
        if (cgroup === undefined) skipped.proc += 1;
        else out.set(pid, cgroup);
      }),
    );
    return out;
  }
}
