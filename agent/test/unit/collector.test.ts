/**
 * The collector against a fake cgroup v2 tree built here (two apps, three containers, one not ready)
 * with the fake nvidia-smi first on PATH printing the H200 fixtures: exact per-app values.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log";
import { MappingFile } from "../../src/mapping/mapping-file";
import { compileRule, type MappingRule } from "../../src/mapping/rules";
import { Collector, type CollectorOptions } from "../../src/readings/collector";
import {
  APPS_RULE, BUSY_APPS, BUSY_GPUS, buildScenario, C1, C2, C3, EXPECTED, FakeHost, fakeNvidiaSmiEnv, GPU_PID, IDLE_GPUS, PROJECT_A, PROJECT_B, SCENARIO, UNMAPPED,
} from "../support/fake-host";

const UUID = "GPU-00000000-1111-2222-3333-444444444444";
const MIB = 1024 * 1024;
const savedEnv = { ...process.env };
let host: FakeHost;
let lines: string[];

function rule(pattern = APPS_RULE, readiness?: string): MappingRule {
  const compiled = compileRule(pattern, readiness);
  if (typeof compiled === "string") throw new Error(compiled);
  return compiled;
}

/** A collector over the fake host with a clock the test moves: µs of the monotonic clock per reading. */
function collector(overrides: Partial<CollectorOptions> = {}, clock = { us: 1_000_000 }) {
  return new Collector({
    cgroupRoot: host.cgroupRoot,
    containersUnder: "/apps",
    procRoot: host.procRoot,
    nvidiaSmi: "nvidia-smi",
    nvidiaSmiTimeoutMs: 10_000,
    region: "us-east-1",
    rules: [rule(APPS_RULE, host.readinessTemplate)],
    monotonicUs: () => clock.us,
    ...overrides,
  });
}

beforeEach(() => {
  host = new FakeHost();
  buildScenario(host);
  lines = [];
  Object.assign(process.env, fakeNvidiaSmiEnv(BUSY_GPUS, BUSY_APPS));
});

afterEach(() => {
  host.remove();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

describe("collector on the fake host", () => {
  it("sums each app over its containers: CPU rate, working set, GPU memory, utilisation, counts", async () => {
    const clock = { us: 1_000_000 };
    const c = collector({}, clock);
    const first = await c.read();
    // First sight of every container: no CPU rate yet.
    expect(first.apps.map((a) => [a.appName, a.cpuCores])).toEqual([
      ["my-model", 0],
      ["other-app", 0],
    ]);

    // Two seconds later: c1 used 3 s of CPU, c2 1 s, c3 0.5 s.
    clock.us += 2_000_000;
    host.setCpuUsage(C1, SCENARIO.c1.usageUsec + 3_000_000);
    host.setCpuUsage(C2, SCENARIO.c2.usageUsec + 1_000_000);
    host.setCpuUsage(C3, SCENARIO.c3.usageUsec + 500_000);
    const r = await c.read();
    expect(r.apps).toEqual([
      { projectId: PROJECT_A, appName: "my-model", cpuCores: 2, ...EXPECTED["my-model"] },
      { projectId: PROJECT_B, appName: "other-app", cpuCores: 0.25, ...EXPECTED["other-app"] },
    ]);
    expect(r.containers).toEqual([
      { cgroup: C1, projectId: PROJECT_A, appName: "my-model", ready: true },
      { cgroup: C2, projectId: PROJECT_A, appName: "my-model", ready: false },
      { cgroup: C3, projectId: PROJECT_B, appName: "other-app", ready: true },
    ]);
    expect(r.unmappedContainers).toEqual([UNMAPPED]);
    expect(r.unmappedGpuPids).toEqual([]);
    expect(r.devices).toEqual([{ index: 0, uuid: UUID, utilizationPercent: 100, memoryUsedBytes: 20085 * MIB, memoryTotalBytes: 143771 * MIB }]);
    expect(r.gpuFailure).toBeUndefined();
    expect(r.skipped).toEqual({ cgroup: 0, proc: 0, gpu: 0 });
  });

  it("idle GPU: the process still counts its memory and the device, at 0 %", async () => {
    Object.assign(process.env, fakeNvidiaSmiEnv(IDLE_GPUS, BUSY_APPS));
    const [app] = (await collector().read()).apps;
    expect(app).toMatchObject({ appName: "my-model", gpuMemoryBytes: 20076 * MIB, gpuCount: 1, gpuComputePercent: 0 });
  });

  it("a device shared by two apps counts fully for each; an app on two devices gets their mean", async () => {
    const header = "pid, process_name, used_gpu_memory [MiB], gpu_uuid";
    const u2 = "GPU-00000000-1111-2222-3333-555555555555";
    const apps = host.writeCapture(
      "apps.csv",
      header,
      [`${GPU_PID}, python3, 20076 MiB, ${UUID}`, `${GPU_PID}, python3, 1000 MiB, ${u2}`, `601, python3, 4000 MiB, ${UUID}`],
      [`${GPU_PID}, python3, 20076, ${UUID}`, `${GPU_PID}, python3, 1000, ${u2}`, `601, python3, 4000, ${UUID}`],
    );
    const gpuHeader = "index, uuid, utilization.gpu [%], memory.used [MiB], memory.total [MiB]";
    const gpus = host.writeCapture(
      "gpus.csv",
      gpuHeader,
      [`0, ${UUID}, 100 %, 24085 MiB, 143771 MiB`, `1, ${u2}, 40 %, 1000 MiB, 143771 MiB`],
      [`0, ${UUID}, 100, 24085, 143771`, `1, ${u2}, 40, 1000, 143771`],
    );
    Object.assign(process.env, fakeNvidiaSmiEnv(gpus, apps));
    host.addProcess(601, C3);
    const r = await collector().read();
    expect(r.apps.map(({ appName, gpuMemoryBytes, gpuCount, gpuComputePercent }) => ({ appName, gpuMemoryBytes, gpuCount, gpuComputePercent }))).toEqual([
      { appName: "my-model", gpuMemoryBytes: 21076 * MIB, gpuCount: 2, gpuComputePercent: 70 },
      { appName: "other-app", gpuMemoryBytes: 4000 * MIB, gpuCount: 1, gpuComputePercent: 100 },
    ]);
  });

  it("a GPU process in a nested cgroup of a container belongs to it; one outside every container is counted", async () => {
    host.addProcess(GPU_PID, `${C1}/worker/inner`);
    expect((await collector().read()).apps[0]).toMatchObject({ gpuMemoryBytes: 20076 * MIB });
    host.addProcess(GPU_PID, "/system.slice/sshd.service");
    const r = await collector().read();
    expect(r.unmappedGpuPids).toEqual([GPU_PID]);
    expect(r.apps[0]).toMatchObject({ gpuMemoryBytes: 0, gpuCount: 0, gpuComputePercent: 0 });
  });

  it("without nvidia-smi (a CPU-only host) GPU fields are 0 and the failure is returned, not thrown", async () => {
    const r = await collector({ nvidiaSmi: path.join(host.root, "no-such-nvidia-smi") }).read();
    expect(r.gpuFailure).toEqual({ kind: "missing", message: expect.stringContaining("not found") });
    expect(r.apps.map((a) => [a.appName, a.gpuMemoryBytes, a.gpuCount, a.gpuComputePercent, a.memoryBytes])).toEqual([
      ["my-model", 0, 0, 0, EXPECTED["my-model"].memoryBytes],
      ["other-app", 0, 0, 0, EXPECTED["other-app"].memoryBytes],
    ]);
    expect(r.skipped.gpu).toBe(1);
  });

  it("a failing nvidia-smi call: its message is returned and GPU fields are 0", async () => {
    process.env.FAKE_NVIDIA_SMI_FAIL = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    const r = await collector().read();
    expect(r.gpuFailure).toEqual({ kind: "failed", message: expect.stringContaining("couldn't communicate with the NVIDIA driver") });
    expect(r.apps[0]).toMatchObject({ gpuMemoryBytes: 0, gpuCount: 0 });
  });

  it("a stopped container (cgroup gone or not populated) is not running; a missing memory.current is a skipped reading", async () => {
    host.removeContainer(C2);
    host.addContainer({ ...SCENARIO.c3, pids: [], populated: false });
    writeFileSync(path.join(host.cgroupRoot, C1, "memory.current"), "garbage\n");
    const r = await collector().read();
    expect(r.apps).toEqual([expect.objectContaining({ appName: "my-model", containersRunning: 1, containersReady: 1, memoryBytes: 0 })]);
    expect(r.skipped.cgroup).toBe(1);
  });

  it("a rule match whose app name the edge would refuse is reported with the edge's reason, not sent", async () => {
    host.addContainer({ cgroup: `/apps/${PROJECT_A}/Bad_Name/c7`, usageUsec: 1, memoryCurrent: 1, inactiveFile: 0 });
    const r = await collector({ rules: [rule("^/apps/(?<project_id>p-[a-z0-9]+)/(?<app_name>[^/]+)/(?<container>[^/]+)$")] }).read();
    expect(r.invalidContainers).toEqual([{ cgroup: `/apps/${PROJECT_A}/Bad_Name/c7`, problem: "app_name: must match ^[a-z0-9][a-z0-9-]{0,62}$." }]);
    expect(r.apps.map((a) => a.appName)).toEqual(["my-model", "other-app"]);
  });

  it("the mapping file names containers and their readiness, and is re-read when it changes", async () => {
    const file = path.join(host.root, "containers.json");
    const write = (entries: Record<string, unknown>) => writeFileSync(file, JSON.stringify(entries));
    write({
      [C1]: { project_id: PROJECT_A, app_name: "my-model", ready: true },
      [C2]: { project_id: PROJECT_A, app_name: "my-model", ready: false },
      [C3]: { project_id: PROJECT_B, app_name: "renamed-app" },
    });
    const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
    const c = collector({ rules: [], mappingFile: new MappingFile(file, log) });
    const before = await c.read();
    expect(before.apps.map((a) => [a.appName, a.containersRunning, a.containersReady])).toEqual([
      ["my-model", 2, 1],
      // No ready flag and no readiness file: a running container counts as ready.
      ["renamed-app", 1, 1],
    ]);
    expect(before.unmappedContainers).toEqual([UNMAPPED]);

    write({ [C1]: { project_id: PROJECT_A, app_name: "my-model", ready: true }, [C2]: { project_id: PROJECT_A, app_name: "my-model", ready: true } });
    const after = await c.read();
    expect(after.apps.map((a) => [a.appName, a.containersRunning, a.containersReady])).toEqual([["my-model", 2, 2]]);
    expect(after.unmappedContainers).toEqual([C3, UNMAPPED]);

    writeFileSync(file, '{"half written');
    expect((await c.read()).apps.map((a) => [a.appName, a.containersReady])).toEqual([["my-model", 2]]);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(["mapping_file_loaded", "mapping_file_loaded", "mapping_file_unreadable"]);
  });
});
