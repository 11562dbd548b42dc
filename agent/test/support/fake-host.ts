/**
 * A fake GPU host in a temporary folder, for the collector's unit tests and the end-to-end tests: a
 * cgroup v2 tree with the files the agent reads, `/proc/<pid>/cgroup` for GPU processes, readiness
 * files, and the fake nvidia-smi (support/bin/nvidia-smi) answering from captured outputs.
 *
 * The file formats are the kernel's (cpu.stat, memory.stat as in fixtures/gpu-host-h200/cgroup-proc.txt);
 * only the numbers are the test's.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/gpu-host-h200");
export const FAKE_BIN = path.resolve(import.meta.dirname, "bin");
export const BUSY_GPUS = path.join(FIXTURES, "nvidia-smi-query-busy.csv");
export const IDLE_GPUS = path.join(FIXTURES, "nvidia-smi-query-idle.csv");
export const BUSY_APPS = path.join(FIXTURES, "nvidia-smi-compute-apps.csv");

export interface FakeContainer {
  cgroup: string;
  usageUsec: number;
  memoryCurrent: number;
  inactiveFile: number;
  /** PIDs directly in the cgroup (cgroup.procs). */
  pids?: number[];
  populated?: boolean;
}

function cpuStat(usageUsec: number): string {
  const user = Math.floor(usageUsec * 0.6);
  return [
    `usage_usec ${usageUsec}`,
    `user_usec ${user}`,
    `system_usec ${usageUsec - user}`,
    "nice_usec 0",
    "nr_periods 0",
    "nr_throttled 0",
    "throttled_usec 0",
    "nr_bursts 0",
    "burst_usec 0",
    "",
  ].join("\n");
}

function memoryStat(current: number, inactiveFile: number): string {
  const activeFile = Math.floor(inactiveFile / 2);
  const anon = Math.max(0, current - inactiveFile - activeFile);
  return [
    `anon ${anon}`,
    `file ${inactiveFile + activeFile}`,
    "kernel 13533184",
    "kernel_stack 475136",
    "pagetables 2068480",
    "sec_pagetables 0",
    "percpu 482544",
    "sock 0",
    "vmalloc 0",
    "shmem 0",
    "zswap 0",
    "zswapped 0",
    `inactive_anon ${anon}`,
    "active_anon 0",
    `inactive_file ${inactiveFile}`,
    `active_file ${activeFile}`,
    "unevictable 0",
    "",
  ].join("\n");
}

export class FakeHost {
  readonly root = mkdtempSync(path.join(tmpdir(), "agent-fake-host-"));
  readonly cgroupRoot = path.join(this.root, "sys/fs/cgroup");
  readonly procRoot = path.join(this.root, "proc");
  readonly readyDir = path.join(this.root, "run/ready");

  constructor() {
    mkdirSync(this.cgroupRoot, { recursive: true });
    // What marks the root of a cgroup v2 mount (the fixture host's root listing has it too).
    writeFileSync(path.join(this.cgroupRoot, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
    mkdirSync(this.procRoot, { recursive: true });
    mkdirSync(this.readyDir, { recursive: true });
  }

  #dir(cgroup: string): string {
    return path.join(this.cgroupRoot, cgroup);
  }

  addContainer(c: FakeContainer): void {
    const dir = this.#dir(c.cgroup);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "cgroup.procs"), (c.pids ?? [100]).map((p) => `${p}\n`).join(""));
    writeFileSync(path.join(dir, "cgroup.events"), `populated ${c.populated === false ? 0 : 1}\nfrozen 0\n`);
    writeFileSync(path.join(dir, "cpu.stat"), cpuStat(c.usageUsec));
    writeFileSync(path.join(dir, "memory.current"), `${c.memoryCurrent}\n`);
    writeFileSync(path.join(dir, "memory.stat"), memoryStat(c.memoryCurrent, c.inactiveFile));
  }

  /** A cgroup with processes that no rule or mapping names. */
  addUnmapped(cgroup: string, pids: number[]): void {
    const dir = this.#dir(cgroup);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "cgroup.procs"), pids.map((p) => `${p}\n`).join(""));
    writeFileSync(path.join(dir, "cgroup.events"), "populated 1\nfrozen 0\n");
  }

  setCpuUsage(cgroup: string, usageUsec: number): void {
    writeFileSync(path.join(this.#dir(cgroup), "cpu.stat"), cpuStat(usageUsec));
  }

  removeContainer(cgroup: string): void {
    rmSync(this.#dir(cgroup), { recursive: true, force: true });
  }

  /** /proc/<pid>/cgroup as the kernel writes it on a cgroup v2 host. */
  addProcess(pid: number, cgroup: string): void {
    mkdirSync(path.join(this.procRoot, String(pid)), { recursive: true });
    writeFileSync(path.join(this.procRoot, String(pid), "cgroup"), `0::${cgroup}\n`);
  }

  setReady(container: string, ready: boolean): void {
    const file = path.join(this.readyDir, container);
    if (ready) writeFileSync(file, "ok\n");
    else rmSync(file, { force: true });
  }

  /** Readiness-file template for rules: the file exists while the container is ready. */
  get readinessTemplate(): string {
    return path.join(this.readyDir, "{container}");
  }

  /** A capture file in the fixtures' layout (header, rows with units, rows without), written into the host. */
  writeCapture(name: string, header: string, rowsWithUnits: string[], rowsWithoutUnits: string[]): string {
    const file = path.join(this.root, name);
    writeFileSync(file, [header, ...rowsWithUnits, ...rowsWithoutUnits, ""].join("\n"));
    return file;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Environment that puts the fake nvidia-smi first on PATH, answering from these captures. */
export function fakeNvidiaSmiEnv(gpus: string, apps: string, basePath = process.env.PATH ?? ""): Record<string, string> {
  return { PATH: `${FAKE_BIN}:${basePath}`, FAKE_NVIDIA_SMI_GPUS: gpus, FAKE_NVIDIA_SMI_APPS: apps };
}

// ---------------------------------------------------------------------------------------------------
// The scenario of the issue: two apps, three containers, one of them not ready, one GPU process.

export const PROJECT_A = "p-agenta1";
export const PROJECT_B = "p-agentb2";
export const APPS_RULE = "^/apps/(?<project_id>p-[a-z0-9]+)/(?<app_name>[a-z0-9][a-z0-9-]*)/(?<container>[^/]+)$";
export const C1 = `/apps/${PROJECT_A}/my-model/c1`;
export const C2 = `/apps/${PROJECT_A}/my-model/c2`;
export const C3 = `/apps/${PROJECT_B}/other-app/c3`;
export const UNMAPPED = "/apps/unlabelled/job-9";
/** The busy fixture's only GPU process. */
export const GPU_PID = 417;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export const SCENARIO = {
  c1: { cgroup: C1, usageUsec: 50_000_000, memoryCurrent: 8 * GIB, inactiveFile: 1 * GIB, pids: [GPU_PID] },
  c2: { cgroup: C2, usageUsec: 20_000_000, memoryCurrent: 4 * GIB, inactiveFile: 512 * MIB, pids: [501] },
  c3: { cgroup: C3, usageUsec: 7_000_000, memoryCurrent: 2 * GIB, inactiveFile: 0, pids: [601] },
} as const;

/** Builds the scenario: c1 (ready, holds the GPU process) and c2 (not ready) of my-model, c3 (ready) of other-app. */
export function buildScenario(host: FakeHost): void {
  for (const c of Object.values(SCENARIO)) host.addContainer({ ...c, pids: [...c.pids] });
  host.addUnmapped(UNMAPPED, [901]);
  host.addUnmapped("/system.slice/sshd.service", [77]);
  host.addProcess(GPU_PID, C1);
  host.setReady("c1", true);
  host.setReady("c3", true);
}

/** Per-app values of the scenario (CPU aside: it depends on the usage added between two readings). */
export const EXPECTED = {
  "my-model": {
    memoryBytes: 8 * GIB - 1 * GIB + (4 * GIB - 512 * MIB),
    // 20076 MiB in the busy fixture = the 21051211776 bytes NVML reported for the same process.
    gpuMemoryBytes: 20076 * MIB,
    gpuComputePercent: 100,
    gpuCount: 1,
    containersRunning: 2,
    containersReady: 1,
  },
  "other-app": { memoryBytes: 2 * GIB, gpuMemoryBytes: 0, gpuComputePercent: 0, gpuCount: 0, containersRunning: 1, containersReady: 1 },
} as const;

/** my-model's resource sample in the wire format, as the agent sends it for the scenario (less its time). */
export function myModelSample(cpuCores: number, region = "us-east-1") {
  const m = EXPECTED["my-model"];
  return {
    type: "resource",
    project_id: PROJECT_A,
    app_name: "my-model",
    region,
    cpu_cores: cpuCores,
    memory_bytes: m.memoryBytes,
    gpu_memory_bytes: m.gpuMemoryBytes,
    gpu_compute_percent: m.gpuComputePercent,
    gpu_count: m.gpuCount,
    containers_running: m.containersRunning,
    containers_ready: m.containersReady,
  };
}
