/**
 * End to end: the real worker under wrangler, a real VictoriaMetrics with Prometheus naming, and every
 * example query of the product guide, each asserted against values computed from what was posted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api as harnessApi, createProjectClearOfSchedule, skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000];
const SERIES = [
  { app: "my-model", region: "us-east-1" },
  { app: "my-model", region: "eu-west-1" },
  { app: "other-app", region: "us-east-1" },
] as const;
type SeriesId = `${string}|${string}`;
const sid = (app: string, region: string): SeriesId => `${app}|${region}`;

interface Run {
  app: string;
  region: string;
  execution_ms: number;
  queue_ms: number;
  response_ms: number;
  coldstart_ms?: number;
  success: boolean;
}

/** What was posted, per series: the values the exported metrics must equal. */
class Expected {
  runs = new Map<SeriesId, Run[]>();
  add(run: Run) {
    const key = sid(run.app, run.region);
    if (!this.runs.has(key)) this.runs.set(key, []);
    this.runs.get(key)!.push(run);
  }
  of(app: string, region: string): Run[] {
    return this.runs.get(sid(app, region)) ?? [];
  }
}

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Prometheus' histogram_quantile over cumulative `le` buckets (linear interpolation in the bucket). */
function histogramQuantile(q: number, bounds: number[], counts: number[]): number {
  // counts: per-bucket (not cumulative), bounds.length + 1 entries.
  const total = counts.reduce((a, b) => a + b, 0);
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const below = cumulative;
    cumulative += counts[i]!;
    if (cumulative >= rank) {
      if (i === bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * (rank - below)) / counts[i]!;
    }
  }
  return NaN;
}

function bucketCounts(values: number[]): number[] {
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  for (const v of values) {
    let i = BOUNDS.findIndex((b) => v <= b);
    if (i === -1) i = BOUNDS.length;
    counts[i]! += 1;
  }
  return counts;
}

describe.skipIf(skipWithoutVictoriaMetrics())("export to VictoriaMetrics, queried with the product guide's PromQL", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  let projectId: string;
  let projectKey: string;
  const hosts: { hostId: string; key: string }[] = [];

  const api = (method: string, path: string, token: string, body?: unknown) => harnessApi(worker, method, path, token, body);

  /**
   * Raw samples of a metric for one series (VictoriaMetrics' export API): timestamps and values.
   * A push just answered 200 can take a moment to become visible, so wait for `count` samples.
   */
  async function rawSamples(name: string, app: string, region: string, count = 2): Promise<{ t: number; v: number }[]> {
    const selector = `${name}{project_id="${projectId}",app_name="${app}",region="${region}"}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      await vm.forceFlush();
      const response = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": selector })}`);
      const lines = (await response.text()).trim().split("\n").filter(Boolean);
      expect(lines.length).toBeLessThanOrEqual(1);
      const series = lines[0] ? (JSON.parse(lines[0]) as { values: number[]; timestamps: number[] }) : { values: [], timestamps: [] };
      if (series.timestamps.length >= count || Date.now() > deadline) {
        return series.timestamps.map((t, i) => ({ t, v: series.values[i]! }));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function bucketSamples(name: string, app: string, region: string): Promise<Map<string, number[]>> {
    await vm.forceFlush();
    const selector = `${name}{project_id="${projectId}",app_name="${app}",region="${region}"}`;
    const response = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": selector })}`);
    const out = new Map<string, number[]>();
    for (const line of (await response.text()).trim().split("\n").filter(Boolean)) {
      const series = JSON.parse(line) as { metric: Record<string, string>; values: number[] };
      out.set(series.metric.le!, series.values);
    }
    return out;
  }

  const random = rng(20261126);
  const posted = new Expected();
  const phaseOne = new Expected();
  const phaseTwo = new Expected();
  const resources = new Map<SeriesId, { cpu: number; memory: number; running: number }>();

  async function postRuns(target: Expected, perSeries: number) {
    for (const [h, host] of hosts.entries()) {
      const samples: Record<string, unknown>[] = [];
      for (const s of SERIES) {
        for (let i = 0; i < perSeries; i++) {
          const run: Run = {
            app: s.app,
            region: s.region,
            execution_ms: Math.round(random() * 3000 * 10) / 10,
            queue_ms: Math.round(random() * 40 * 10) / 10,
            response_ms: 0,
            success: random() > 0.2,
          };
          run.response_ms = Math.round((run.execution_ms + run.queue_ms + 5) * 10) / 10;
          if (i % 4 === h % 4) run.coldstart_ms = 1000 + Math.round(random() * 9000);
          target.add(run);
          posted.add(run);
          samples.push({
            type: "run",
            project_id: projectId,
            app_name: run.app,
            region: run.region,
            time: Date.now(),
            execution_ms: run.execution_ms,
            queue_ms: run.queue_ms,
            response_ms: run.response_ms,
            success: run.success,
            ...(run.coldstart_ms === undefined ? {} : { coldstart_ms: run.coldstart_ms }),
          });
        }
      }
      const r = await api("POST", "/v1/samples", host.key, { host_id: host.hostId, batch_id: crypto.randomUUID(), samples });
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ accepted: samples.length, rejected: [] });
    }
  }

  async function flush() {
    const r = await api("POST", `/v1/projects/${projectId}/metrics-export/flush`, projectKey);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, requests: 1 });
    return r.body;
  }

  beforeAll(async () => {
    // An hour between scheduled pushes: a push at the project's slot between the two flushes below would
    // add a third sample that the exact assertions do not expect (the schedule has its own test).
    [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker({ vars: { EXPORT_INTERVAL_SECONDS: "3600" } })]);
    projectId = await createProjectClearOfSchedule(worker, "e2e", { intervalSeconds: 3600, clearMs: 10 * 60_000 });
    projectKey = (await api("POST", `/v1/projects/${projectId}/keys`, worker.adminToken, {})).body.key;
    for (let i = 1; i <= 3; i++) {
      const hostId = `gpu-host-${i}`;
      const created = await api("POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId });
      hosts.push({ hostId, key: created.body.key });
    }
    const put = await api("PUT", `/v1/projects/${projectId}/metrics-export`, projectKey, {
      endpoint: `${vm.url}/opentelemetry`,
      destination: "prometheus",
    });
    expect(put.status).toBe(200);

    // Resource reports: each host runs containers of every series.
    for (const [h, host] of hosts.entries()) {
      const samples = SERIES.map((s, i) => {
        const cpu = 0.5 + h + i * 0.25;
        const memory = (h + 1) * 1024 ** 3 + i * 1024 ** 2;
        const running = h + i + 1;
        const key = sid(s.app, s.region);
        const sum = resources.get(key) ?? { cpu: 0, memory: 0, running: 0 };
        resources.set(key, { cpu: sum.cpu + cpu, memory: sum.memory + memory, running: sum.running + running });
        return {
          type: "resource",
          project_id: projectId,
          app_name: s.app,
          region: s.region,
          time: Date.now(),
          cpu_cores: cpu,
          memory_bytes: memory,
          gpu_memory_bytes: 40 * 1024 ** 3,
          gpu_compute_percent: 50 + h * 10,
          gpu_count: 1,
          containers_running: running,
          containers_ready: running - 1,
        };
      });
      const r = await api("POST", "/v1/samples", host.key, { host_id: host.hostId, batch_id: crypto.randomUUID(), samples });
      expect(r.body).toMatchObject({ accepted: SERIES.length, rejected: [] });
    }

    await postRuns(phaseOne, 8);
    await flush();
    // Two pushes at least a second apart, so rate() has two samples per series.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await postRuns(phaseTwo, 12);
    await flush();
  }, 240_000);

  afterAll(async () => {
    await Promise.all([worker?.stop(), vm?.stop()]);
  });

  it('cerebrium_cpu_utilization_cores{project_id="…"}: the sum over hosts per app', async () => {
    const result = await vm.query(`cerebrium_cpu_utilization_cores{project_id="${projectId}"}`);
    expect(result).toHaveLength(SERIES.length);
    for (const s of SERIES) {
      const sample = result.find((r) => r.metric.app_name === s.app && r.metric.region === s.region)!;
      expect(sample.metric).toMatchObject({ project_id: projectId, app_id: `${projectId}-${s.app}` });
      expect(Number(sample.value[1])).toBeCloseTo(resources.get(sid(s.app, s.region))!.cpu, 9);
    }
  });

  it('cerebrium_memory_usage_bytes{app_name="…"}', async () => {
    const result = await vm.query(`cerebrium_memory_usage_bytes{app_name="my-model",project_id="${projectId}"}`);
    expect(result.map((r) => r.metric.region).sort()).toEqual(["eu-west-1", "us-east-1"]);
    for (const r of result) expect(Number(r.value[1])).toBe(resources.get(sid("my-model", r.metric.region!))!.memory);
  });

  it('cerebrium_containers_running_count{project_id="…"}', async () => {
    const result = await vm.query(`cerebrium_containers_running_count{project_id="${projectId}"}`);
    expect(result).toHaveLength(SERIES.length);
    for (const r of result) expect(Number(r.value[1])).toBe(resources.get(sid(r.metric.app_name!, r.metric.region!))!.running);
  });

  it("rate(cerebrium_run_total[5m]): the counter's increase between pushes over their time apart", async () => {
    const result = await vm.query(`rate(cerebrium_run_total{project_id="${projectId}"}[5m])`);
    expect(result).toHaveLength(SERIES.length);
    for (const s of SERIES) {
      const raw = await rawSamples("cerebrium_run_total", s.app, s.region);
      // The underlying counter, exactly: cumulative totals at each push. Should a third sample ever
      // appear, the message says when each arrived and what the export's totals say (pushes, retries).
      const totals = async () => JSON.stringify((await api("GET", `/v1/projects/${projectId}/metrics-export`, projectKey)).body.status?.totals);
      const expected = [phaseOne.of(s.app, s.region).length, posted.of(s.app, s.region).length];
      const values = raw.map((x) => x.v);
      expect(values, JSON.stringify(values) === JSON.stringify(expected) ? "" : `samples ${JSON.stringify(raw)}; export totals ${await totals()}`).toEqual(expected);
      const expectedRate = (raw[1]!.v - raw[0]!.v) / ((raw[1]!.t - raw[0]!.t) / 1000);
      const sample = result.find((r) => r.metric.app_name === s.app && r.metric.region === s.region)!;
      expect(Number(sample.value[1])).toBeCloseTo(expectedRate, 6);
    }
  });

  for (const [metric, field] of [
    ["cerebrium_run_execution_time_ms", "execution_ms"],
    ["cerebrium_run_response_time_ms", "response_ms"],
  ] as const) {
    it(`histogram_quantile(0.99, rate(${metric}_milliseconds_bucket{app_name="…"}[5m]))`, async () => {
      const result = await vm.query(
        `histogram_quantile(0.99, rate(${metric}_milliseconds_bucket{app_name="my-model",project_id="${projectId}"}[5m]))`,
      );
      expect(result.map((r) => r.metric.region).sort()).toEqual(["eu-west-1", "us-east-1"]);
      for (const r of result) {
        const region = r.metric.region!;
        // Underlying buckets, exactly: cumulative `le` buckets at each push.
        const buckets = await bucketSamples(`${metric}_milliseconds_bucket`, "my-model", region);
        const all = bucketCounts(posted.of("my-model", region).map((run) => run[field]));
        const first = bucketCounts(phaseOne.of("my-model", region).map((run) => run[field]));
        let cumAll = 0;
        let cumFirst = 0;
        BOUNDS.forEach((bound, i) => {
          cumAll += all[i]!;
          cumFirst += first[i]!;
          expect(buckets.get(String(bound)), `le=${bound}`).toEqual([cumFirst, cumAll]);
        });
        expect(buckets.get("+Inf")).toEqual([phaseOne.of("my-model", region).length, posted.of("my-model", region).length]);
        const delta = bucketCounts(phaseTwo.of("my-model", region).map((run) => run[field]));
        expect(Number(r.value[1])).toBeCloseTo(histogramQuantile(0.99, BOUNDS, delta), 6);
      }
    });
  }

  it('error rate: rate(cerebrium_run_errors_total{app_name="…"}[5m]) / rate(cerebrium_run_total{…}[5m]) * 100', async () => {
    const result = await vm.query(
      `rate(cerebrium_run_errors_total{app_name="my-model",project_id="${projectId}"}[5m]) / rate(cerebrium_run_total{app_name="my-model",project_id="${projectId}"}[5m]) * 100`,
    );
    expect(result).toHaveLength(2);
    for (const r of result) {
      const region = r.metric.region!;
      const errorsRaw = await rawSamples("cerebrium_run_errors_total", "my-model", region);
      const successesRaw = await rawSamples("cerebrium_run_successes_total", "my-model", region);
      const count = (runs: Run[], success: boolean) => runs.filter((x) => x.success === success).length;
      expect(errorsRaw.map((x) => x.v)).toEqual([count(phaseOne.of("my-model", region), false), count(posted.of("my-model", region), false)]);
      expect(successesRaw.map((x) => x.v)).toEqual([count(phaseOne.of("my-model", region), true), count(posted.of("my-model", region), true)]);
      const second = phaseTwo.of("my-model", region);
      expect(Number(r.value[1])).toBeCloseTo((count(second, false) / second.length) * 100, 6);
    }
  });

  it("average cold start: rate(…coldstart…_sum[5m]) / rate(…coldstart…_count[5m])", async () => {
    const result = await vm.query(
      `rate(cerebrium_run_coldstart_time_ms_milliseconds_sum{app_name="my-model",project_id="${projectId}"}[5m]) / rate(cerebrium_run_coldstart_time_ms_milliseconds_count{app_name="my-model",project_id="${projectId}"}[5m])`,
    );
    expect(result).toHaveLength(2);
    for (const r of result) {
      const region = r.metric.region!;
      const cold = (runs: Run[]) => runs.filter((x) => x.coldstart_ms !== undefined).map((x) => x.coldstart_ms!);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect((await rawSamples("cerebrium_run_coldstart_time_ms_milliseconds_sum", "my-model", region)).map((x) => x.v)).toEqual([
        sum(cold(phaseOne.of("my-model", region))),
        sum(cold(posted.of("my-model", region))),
      ]);
      expect((await rawSamples("cerebrium_run_coldstart_time_ms_milliseconds_count", "my-model", region)).map((x) => x.v)).toEqual([
        cold(phaseOne.of("my-model", region)).length,
        cold(posted.of("my-model", region)).length,
      ]);
      const second = cold(phaseTwo.of("my-model", region));
      expect(Number(r.value[1])).toBeCloseTo(sum(second) / second.length, 6);
    }
  });

  it('{__name__=~"cerebrium_.*"}: every documented name, nothing else', async () => {
    const result = await vm.query(`{__name__=~"cerebrium_.*",project_id="${projectId}"}`);
    const names = new Set(result.map((r) => r.metric.__name__));
    const histograms = ["execution", "queue", "coldstart", "response"].flatMap((h) =>
      ["bucket", "sum", "count"].map((s) => `cerebrium_run_${h}_time_ms_milliseconds_${s}`),
    );
    expect([...names].sort()).toEqual(
      [
        "cerebrium_cpu_utilization_cores",
        "cerebrium_memory_usage_bytes",
        "cerebrium_gpu_memory_usage_bytes",
        "cerebrium_gpu_compute_utilization_percent",
        "cerebrium_containers_running_count",
        "cerebrium_containers_ready_count",
        "cerebrium_run_total",
        "cerebrium_run_successes_total",
        "cerebrium_run_errors_total",
        ...histograms,
      ].sort(),
    );
    for (const r of result) expect(Object.keys(r.metric)).toEqual(expect.arrayContaining(["project_id", "app_id", "app_name", "region"]));
  });

  it("after more samples and another push, counters grew by exactly what was posted", async () => {
    const before = new Map<SeriesId, number>();
    for (const s of SERIES) before.set(sid(s.app, s.region), posted.of(s.app, s.region).length);
    const phaseThree = new Expected();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await postRuns(phaseThree, 5);
    await flush();
    for (const s of SERIES) {
      const raw = await rawSamples("cerebrium_run_total", s.app, s.region, 3);
      expect(raw).toHaveLength(3);
      const last = raw[raw.length - 1]!.v;
      expect(last - before.get(sid(s.app, s.region))!).toBe(phaseThree.of(s.app, s.region).length);
      const errors = await rawSamples("cerebrium_run_errors_total", s.app, s.region, 3);
      expect(errors[errors.length - 1]!.v).toBe(posted.of(s.app, s.region).filter((x) => !x.success).length);
    }
  });

  it("Test Connection reports ok against VictoriaMetrics and network against a closed port", async () => {
    const ok = await api("POST", `/v1/projects/${projectId}/metrics-export/test`, projectKey);
    expect(ok.body).toMatchObject({ ok: true, url: `${vm.url}/opentelemetry/v1/metrics`, http_status: 200 });
    const closed = await api("POST", `/v1/projects/${projectId}/metrics-export/test`, projectKey, { endpoint: "http://127.0.0.1:1" });
    expect(closed.body).toMatchObject({ ok: false, classification: "network", http_status: null });
  });
});

describe.skipIf(skipWithoutVictoriaMetrics())("the automatic schedule", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  beforeAll(async () => {
    [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker({ vars: { EXPORT_INTERVAL_SECONDS: "2" } })]);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([worker?.stop(), vm?.stop()]);
  });

  it("pushes at least twice without any flush", async () => {
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await fetch(`${worker.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await r.json()) as any;
    };
    const { project_id: projectId } = await call("POST", "/v1/projects", worker.adminToken, {});
    const { key } = await call("POST", "/v1/ingest-keys", worker.adminToken, { host_id: "sched-host" });
    await call("PUT", `/v1/projects/${projectId}/metrics-export`, worker.adminToken, { endpoint: `${vm.url}/opentelemetry` });
    const posted = await call("POST", "/v1/samples", key, {
      host_id: "sched-host",
      batch_id: "b-1",
      samples: [{ type: "run", project_id: projectId, app_name: "cron", region: "eu-west-1", time: Date.now(), execution_ms: 1, queue_ms: 1, response_ms: 2, success: true }],
    });
    expect(posted.accepted).toBe(1);

    const deadline = Date.now() + 20_000;
    let timestamps: number[] = [];
    while (Date.now() < deadline) {
      await vm.forceFlush();
      const response = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": `cerebrium_run_total{project_id="${projectId}"}` })}`);
      const line = (await response.text()).trim().split("\n").filter(Boolean)[0];
      timestamps = line ? (JSON.parse(line) as { timestamps: number[] }).timestamps : [];
      if (timestamps.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(timestamps.length).toBeGreaterThanOrEqual(2);
    expect(timestamps[1]! - timestamps[0]!).toBeGreaterThanOrEqual(1500);
    const status = await call("GET", `/v1/projects/${projectId}/metrics-export`, worker.adminToken);
    expect(status.status.state).toBe("connected");
    expect(status.status.totals.pushes_succeeded).toBeGreaterThanOrEqual(2);
  });
});
