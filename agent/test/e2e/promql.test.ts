/**
 * End to end: the bundled agent on the fake host (two apps, three containers, one not ready, the fake
 * nvidia-smi printing the H200 fixtures), runs reported to its endpoint, delivered through a recording
 * proxy to the real worker, pushed to a real VictoriaMetrics; the product guide's queries return what
 * the host and the runs say.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "../../../test/e2e/harness";
import { EdgeProxy } from "../support/edge-proxy";
import { APPS_RULE, BUSY_APPS, BUSY_GPUS, buildScenario, C1, EXPECTED, FakeHost, fakeNvidiaSmiEnv, PROJECT_A, PROJECT_B, SCENARIO } from "../support/fake-host";
import { AgentProcess, sleep, until } from "./agent-process";
import { edgeApi } from "./edge-api";

const HOST_ID = "gpu-host-e2e";
// Cores the fake container c1 burns while the agent runs.
const C1_CORES = 1.5;
const CPU_TICK_MS = 20;

interface Run {
  execution_ms: number;
  queue_ms: number;
  response_ms: number;
  coldstart_ms?: number;
  success: boolean;
}

/** Phase one: anything. Phase two: every execution in (100, 250] ms and every response in (250, 500] ms. */
const phaseOne: Run[] = Array.from({ length: 25 }, (_, i) => ({ execution_ms: 5 + i * 37, queue_ms: i % 7, response_ms: 20 + i * 41, success: i % 6 !== 0 }));
const phaseTwo: Run[] = Array.from({ length: 40 }, (_, i) => ({
  execution_ms: 101 + i * 3,
  queue_ms: 1 + (i % 4),
  response_ms: 101 + i * 3 + 1 + (i % 4) + 150,
  success: i % 5 !== 0,
  ...(i % 4 === 0 ? { coldstart_ms: 1000 + i * 10 } : {}),
}));

describe.skipIf(skipWithoutVictoriaMetrics())("the agent on a fake GPU host, queried with the product guide's PromQL", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  let proxy: EdgeProxy;
  let host: FakeHost;
  let agent: AgentProcess;
  let dir: string;
  let burner: NodeJS.Timeout;
  const keys = new Map<string, string>();

  const flush = async (projectId: string) => {
    const r = await edgeApi(worker).call("POST", `/v1/projects/${projectId}/metrics-export/flush`, keys.get(projectId)!);
    expect(r.body).toMatchObject({ ok: true });
  };
  const deliveredRuns = () => proxy.delivered().flatMap((e) => e.samples).filter((s) => s.type === "run").length;
  /** The app's newest resource sample the edge accepted (by sample time, as the edge keeps it; batches can arrive out of order). */
  const latestResource = (appName: string) =>
    proxy
      .delivered()
      .flatMap((e) => e.samples)
      .filter((s) => s.type === "resource" && s.app_name === appName)
      .reduce((a, b) => ((b.time as number) >= (a.time as number) ? b : a));
  const value = async (promql: string) => {
    const result = await vm.query(promql);
    expect(result, promql).toHaveLength(1);
    return Number(result[0]!.value[1]);
  };
  /** A series' raw samples (VictoriaMetrics' export API), once there are `count`: one per push. */
  const pushes = (selector: string, count: number) =>
    until(`${count} pushes of ${selector}`, async () => {
      await vm.forceFlush();
      const line = (await (await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": selector })}`)).text()).trim().split("\n")[0];
      const series = line ? (JSON.parse(line) as { timestamps: number[]; values: number[] }) : { timestamps: [], values: [] };
      return series.timestamps.length >= count ? series : undefined;
    }, 10_000);
  const RUN_TOTAL = `cerebrium_run_total{project_id="${PROJECT_A}",app_name="my-model",region="us-east-1"}`;

  beforeAll(async () => {
    // An hour between scheduled pushes: only this test's flushes push (the slot is wall-clock aligned).
    [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker({ vars: { EXPORT_INTERVAL_SECONDS: "3600" } })]);
    const api = edgeApi(worker);
    for (const projectId of [PROJECT_A, PROJECT_B]) {
      keys.set(projectId, await api.project(projectId));
      const put = await api.call("PUT", `/v1/projects/${projectId}/metrics-export`, keys.get(projectId)!, { endpoint: `${vm.url}/opentelemetry`, destination: "prometheus" });
      expect(put.status).toBe(200);
    }
    host = new FakeHost();
    buildScenario(host);
    dir = mkdtempSync(path.join(tmpdir(), "agent-promql-"));
    writeFileSync(path.join(dir, "ingest-key"), `${await api.ingestKey(HOST_ID)}\n`);
    chmodSync(path.join(dir, "ingest-key"), 0o600);
    proxy = await EdgeProxy.start(worker.url);

    // c1 uses C1_CORES cores of CPU from now on (its cpu.stat usage_usec grows with wall time).
    const startedAt = performance.now();
    burner = setInterval(() => host.setCpuUsage(C1, Math.round(SCENARIO.c1.usageUsec + (performance.now() - startedAt) * 1000 * C1_CORES)), CPU_TICK_MS);

    agent = await AgentProcess.start(
      dir,
      {
        edge_url: proxy.url,
        ingest_key_file: "ingest-key",
        host_id: HOST_ID,
        region: "us-east-1",
        interval_seconds: 1,
        spool_dir: "spool",
        cgroup_root: host.cgroupRoot,
        containers_under: "/apps",
        proc_root: host.procRoot,
        mapping: { rules: [{ pattern: APPS_RULE, readiness_file: host.readinessTemplate }] },
        retry_base_ms: 50,
      },
      fakeNvidiaSmiEnv(BUSY_GPUS, BUSY_APPS),
    );

    const post = async (runs: Run[]) => {
      for (let i = 0; i < runs.length; i += 10) {
        const r = await agent.postRuns(runs.slice(i, i + 10).map((run) => ({ project_id: PROJECT_A, app_name: "my-model", ...run })));
        expect(r.body).toEqual({ accepted: Math.min(10, runs.length - i), rejected: [] });
      }
    };
    await post(phaseOne);
    await until("phase one delivered", () => (deliveredRuns() === phaseOne.length ? true : undefined));
    // At least two readings after the baseline, so every container has a CPU rate.
    await until("resource samples", () => (proxy.delivered().filter((e) => e.samples.some((s) => s.type === "resource")).length >= 2 ? true : undefined));
    await flush(PROJECT_A);
    // Two pushes at least a second apart, so rate() has two samples per series.
    await sleep(1100);
    await post(phaseTwo);
    await until("phase two delivered", () => (deliveredRuns() === phaseOne.length + phaseTwo.length ? true : undefined));
    // SIGTERM: seals and delivers what is pending, then exits; its last resource samples are the edge's latest.
    expect(await agent.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    clearInterval(burner);
    await Promise.all([flush(PROJECT_A), flush(PROJECT_B)]);
    expect((await pushes(RUN_TOTAL, 2)).values.slice(0, 2)).toEqual([phaseOne.length, phaseOne.length + phaseTwo.length]);
  }, 240_000);

  afterAll(async () => {
    clearInterval(burner);
    await agent?.kill("SIGKILL");
    await proxy?.stop();
    await Promise.all([worker?.stop(), vm?.stop()]);
    host?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("stopped gracefully: everything delivered, nothing left in the spool", () => {
    expect(agent.events("agent_stopped")).toEqual([expect.objectContaining({ delivered_all: true, spool_batches: 0 })]);
    expect(agent.events("ingest_key_file_readable_by_others")).toEqual([]);
  });

  it('cerebrium_cpu_utilization_cores{project_id="…"}: the last rate the agent measured, ≈ the cores c1 burned', async () => {
    const cpu = await value(`cerebrium_cpu_utilization_cores{project_id="${PROJECT_A}"}`);
    expect(cpu).toBeCloseTo(latestResource("my-model").cpu_cores as number, 9);
    // Only c1 burns CPU; timer jitter of the fake counter allows a margin.
    expect(cpu).toBeGreaterThan(C1_CORES * 0.7);
    expect(cpu).toBeLessThan(C1_CORES * 1.3);
    expect(await value(`cerebrium_cpu_utilization_cores{project_id="${PROJECT_B}"}`)).toBe(0);
  });

  it('cerebrium_memory_usage_bytes{app_name="my-model"}: the working sets of c1 and c2', async () => {
    expect(await value(`cerebrium_memory_usage_bytes{app_name="my-model",project_id="${PROJECT_A}"}`)).toBe(EXPECTED["my-model"].memoryBytes);
    expect(await value(`cerebrium_memory_usage_bytes{app_name="other-app",project_id="${PROJECT_B}"}`)).toBe(EXPECTED["other-app"].memoryBytes);
  });

  it('cerebrium_containers_running_count{project_id="…"} and the ready count: 2 running, 1 ready', async () => {
    expect(await value(`cerebrium_containers_running_count{project_id="${PROJECT_A}"}`)).toBe(2);
    expect(await value(`cerebrium_containers_ready_count{project_id="${PROJECT_A}"}`)).toBe(1);
    expect(await value(`cerebrium_containers_running_count{project_id="${PROJECT_B}"}`)).toBe(1);
  });

  it("GPU memory and utilisation: the H200 fixture's process, attributed to my-model only", async () => {
    expect(await value(`cerebrium_gpu_memory_usage_bytes{app_name="my-model",project_id="${PROJECT_A}"}`)).toBe(21_051_211_776);
    expect(await value(`cerebrium_gpu_compute_utilization_percent{app_name="my-model",project_id="${PROJECT_A}"}`)).toBe(100);
    expect(await value(`cerebrium_gpu_memory_usage_bytes{app_name="other-app",project_id="${PROJECT_B}"}`)).toBe(0);
  });

  it("rate(cerebrium_run_total[5m]): phase two's runs over the time between the pushes", async () => {
    const rate = await value(`rate(cerebrium_run_total{project_id="${PROJECT_A}"}[5m])`);
    const { timestamps: t } = await pushes(RUN_TOTAL, 2);
    expect(rate).toBeCloseTo(phaseTwo.length / ((t.at(-1)! - t[0]!) / 1000), 6);
  });

  it("histogram_quantile(0.99, …execution…) and (…response…): inside the one bucket phase two used", async () => {
    // All of phase two in (100, 250] and (250, 500]: Prometheus interpolates 99% of the way through the bucket.
    const q = (metric: string) => value(`histogram_quantile(0.99, rate(${metric}_milliseconds_bucket{app_name="my-model",project_id="${PROJECT_A}"}[5m]))`);
    expect(await q("cerebrium_run_execution_time_ms")).toBeCloseTo(100 + 150 * 0.99, 6);
    expect(await q("cerebrium_run_response_time_ms")).toBeCloseTo(250 + 250 * 0.99, 6);
  });

  it("error rate as a percentage: phase two's failures over its runs", async () => {
    const rate = await value(
      `rate(cerebrium_run_errors_total{app_name="my-model",project_id="${PROJECT_A}"}[5m]) / rate(cerebrium_run_total{app_name="my-model",project_id="${PROJECT_A}"}[5m]) * 100`,
    );
    expect(rate).toBeCloseTo((phaseTwo.filter((r) => !r.success).length / phaseTwo.length) * 100, 6);
  });

  it("average cold start: phase two's cold starts", async () => {
    const avg = await value(
      `rate(cerebrium_run_coldstart_time_ms_milliseconds_sum{app_name="my-model",project_id="${PROJECT_A}"}[5m]) / rate(cerebrium_run_coldstart_time_ms_milliseconds_count{app_name="my-model",project_id="${PROJECT_A}"}[5m])`,
    );
    const cold = phaseTwo.flatMap((r) => (r.coldstart_ms === undefined ? [] : [r.coldstart_ms]));
    expect(avg).toBeCloseTo(cold.reduce((a, b) => a + b, 0) / cold.length, 6);
  });

  it('{__name__=~"cerebrium_.*"}: every metric for the agent\'s app', async () => {
    const result = await vm.query(`{__name__=~"cerebrium_.*",project_id="${PROJECT_A}",app_name="my-model"}`);
    const names = new Set(result.map((r) => r.metric.__name__));
    for (const gauge of ["cpu_utilization_cores", "memory_usage_bytes", "gpu_memory_usage_bytes", "gpu_compute_utilization_percent", "containers_running_count", "containers_ready_count"]) {
      expect(names).toContain(`cerebrium_${gauge}`);
    }
    for (const counter of ["run_total", "run_successes_total", "run_errors_total"]) expect(names).toContain(`cerebrium_${counter}`);
    expect(result.every((r) => r.metric.region === "us-east-1" && r.metric.app_id === `${PROJECT_A}-my-model`)).toBe(true);
  });
});
