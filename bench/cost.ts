/**
 * What a project costs to run (issue 11), through the real worker under `wrangler dev` (local
 * storage, 127.0.0.1) and a real OTLP receiver (test/receiver/receiver.ts, in this process):
 *
 * A. Rows written per minute at the reference workload: one project, 20 (app, region) series,
 *    3 hosts each posting one batch every 15 s (5 runs for each of the 20 series and one resource
 *    sample per series), a push every 60 s — cumulative and delta (datadog), separately. Time is
 *    simulated with BENCH_ROUTES' `x-bench-now` header: 80 minutes are posted in seconds, so the
 *    batch ledger expires as it would, and the last 10 minutes (steady state) are measured from the
 *    object's own counters (GET /v1/projects/{id}/stats → rows_written_total).
 * B. Ingest CPU per distinct series touched: batches of 500 run samples into 1 series vs into 500
 *    series, alternating rounds, workerd CPU (utime + stime of the process running the worker and
 *    its objects, from /proc) per batch; the slope is (500-series − 1-series) / 499.
 * C. Push CPU for 2,000 series: workerd CPU per `flush` of a 2,000-series project (cumulative,
 *    protobuf, gzip), each round first touching every series, median of the rounds; and the split
 *    the object reports (stats → last_push.timings_ms).
 *
 * Results: printed, and written to .tmp/bench-cost.json for scripts/bench.mjs (`npm run bench`, which
 * compares them with the previous design's figures and issue 11's targets in docs/benchmarks.md).
 * Loopback only.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { startReceiver } from "../test/receiver/receiver";
import { api, startWorker, type Worker } from "../test/e2e/harness";

const RESULTS_PATH = ".tmp/bench-cost.json";
const HARD_TIMEOUT_MS = 15 * 60_000;
const CLOCK_TICKS_PER_S = 100;

const REFERENCE = { apps: 10, regions: ["us-east-1", "eu-west-1"], hosts: 3, batchesPerHostPerMinute: 4, runsPerSeries: 5, warmMinutes: 70, measuredMinutes: 10 };
const SLOPE = { samples: 500, rounds: 5, batchesPerRound: 30 };
const PUSH = { series: 2000, rounds: 15, warmups: 3 };

setTimeout(() => {
  console.error(`bench/cost: hard timeout after ${HARD_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, HARD_TIMEOUT_MS).unref();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

async function must(worker: Worker, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

interface Project {
  id: string;
  key: string;
}

async function project(worker: Worker, receiverPort: number, name: string, config: Record<string, unknown>): Promise<Project> {
  const id = (await api(worker, "POST", "/v1/projects", worker.adminToken, { name })).body.project_id as string;
  const key = (await api(worker, "POST", `/v1/projects/${id}/keys`, worker.adminToken, {})).body.key as string;
  await must(worker, "PUT", `/v1/projects/${id}/metrics-export`, key, { endpoint: `http://127.0.0.1:${receiverPort}/r/${id}`, ...config });
  return { id, key };
}

const stats = (worker: Worker, p: Project) => must(worker, "GET", `/v1/projects/${p.id}/stats`, worker.adminToken);
const flush = async (worker: Worker, p: Project) => {
  const r = await must(worker, "POST", `/v1/projects/${p.id}/metrics-export/flush`, p.key);
  if (!r.ok) throw new Error(`flush failed: ${JSON.stringify(r.error)}`);
  return r;
};

function run(projectId: string, app: string, region: string, timeMs: number, i: number) {
  return { type: "run", project_id: projectId, app_name: app, region, time: timeMs, execution_ms: 10 + (i % 90), queue_ms: 1 + (i % 5), response_ms: 15 + (i % 95), success: i % 10 !== 0 };
}

// --- A. the reference workload ---------------------------------------------------------------------

async function referenceWorkload(worker: Worker, receiverPort: number, temporality: "cumulative" | "delta") {
  const p = await project(worker, receiverPort, `reference-${temporality}`, temporality === "delta" ? { destination: "datadog" } : { destination: "prometheus" });
  const hosts = await Promise.all(
    Array.from({ length: REFERENCE.hosts }, async (_, h) => {
      const hostId = `ref-${temporality}-host-${h}`;
      return { hostId, key: (await api(worker, "POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId })).body.key as string };
    }),
  );
  const series = Array.from({ length: REFERENCE.apps }, (_, a) => REFERENCE.regions.map((region) => ({ app: `model-${a}`, region }))).flat();
  const start = Date.now();
  const stepMs = 60_000 / REFERENCE.batchesPerHostPerMinute;
  let mark: { rows: Record<string, number> } | null = null;
  const perBatch: number[] = [];
  for (let minute = 0; minute < REFERENCE.warmMinutes + REFERENCE.measuredMinutes; minute++) {
    if (minute === REFERENCE.warmMinutes) mark = { rows: (await stats(worker, p)).rows_written_total };
    for (let step = 0; step < REFERENCE.batchesPerHostPerMinute; step++) {
      for (const [h, host] of hosts.entries()) {
        const nowMs = start + minute * 60_000 + step * stepMs + h * 1000;
        const samples: unknown[] = [];
        for (const s of series) {
          for (let i = 0; i < REFERENCE.runsPerSeries; i++) samples.push(run(p.id, s.app, s.region, nowMs, minute + step + i));
          samples.push({ type: "resource", project_id: p.id, app_name: s.app, region: s.region, time: nowMs, cpu_cores: 1 + h, memory_bytes: 1e9, gpu_memory_bytes: 2e10, gpu_compute_percent: 50, gpu_count: 1, containers_running: 1, containers_ready: 1 });
        }
        await must(worker, "POST", "/v1/samples", host.key, { host_id: host.hostId, batch_id: `m${minute}-s${step}`, samples }, { "x-bench-now": String(nowMs) });
        if (minute >= REFERENCE.warmMinutes) perBatch.push((await stats(worker, p)).last_ingest.rows_written);
      }
    }
    await flush(worker, p);
  }
  const end = (await stats(worker, p)).rows_written_total as Record<string, number>;
  const perMinute = (k: string) => (end[k]! - mark!.rows[k]!) / REFERENCE.measuredMinutes;
  return {
    temporality,
    rowsPerMinute: perMinute("all"),
    byCategory: { ingest: perMinute("ingest"), push: perMinute("push"), housekeeping: perMinute("housekeeping") },
    rowsPerBatchMedian: median(perBatch),
  };
}

// --- B. ingest CPU per series touched ----------------------------------------------------------------

async function ingestSlope(worker: Worker, receiverPort: number) {
  const one = await project(worker, receiverPort, "slope-1", { enabled: false });
  const many = await project(worker, receiverPort, "slope-500", { enabled: false });
  const hostId = "slope-host";
  const key = (await api(worker, "POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId })).body.key as string;
  const bodyFor = (p: Project, seriesCount: number) => {
    const now = Date.now();
    return (batch: string) => ({
      host_id: hostId,
      batch_id: batch,
      samples: Array.from({ length: SLOPE.samples }, (_, i) => run(p.id, `app-${i % seriesCount}`, "us-east-1", now, i)),
    });
  };
  const bodies = { 1: bodyFor(one, 1), 500: bodyFor(many, 500) };
  const pid = worker.workerdPid();
  let counter = 0;
  const batchCpuMs = async (n: 1 | 500) => {
    const before = cpuSeconds(pid);
    for (let b = 0; b < SLOPE.batchesPerRound; b++) await must(worker, "POST", "/v1/samples", key, bodies[n](`slope-${counter++}`));
    return ((cpuSeconds(pid) - before) * 1000) / SLOPE.batchesPerRound;
  };
  await batchCpuMs(1);
  await batchCpuMs(500); // warm-up: the series exist from here on
  const rounds: { one: number; many: number }[] = [];
  for (let r = 0; r < SLOPE.rounds; r++) rounds.push({ one: await batchCpuMs(1), many: await batchCpuMs(500) });
  const oneMs = median(rounds.map((r) => r.one));
  const manyMs = median(rounds.map((r) => r.many));
  return {
    samples: SLOPE.samples,
    batchesPerRound: SLOPE.batchesPerRound,
    cpuMsPerBatch1Series: oneMs,
    cpuMsPerBatch500Series: manyMs,
    slopeUsPerSeries: ((manyMs - oneMs) * 1000) / 499,
    ratio: manyMs / oneMs,
    rounds,
    rowsPerBatch500: (await stats(worker, many)).last_ingest.rows_written,
  };
}

// --- C. push CPU for 2,000 series ---------------------------------------------------------------------

async function pushCpu(worker: Worker, receiverPort: number) {
  const p = await project(worker, receiverPort, "push-2000", { destination: "prometheus" });
  const hostId = "push-host";
  const key = (await api(worker, "POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId })).body.key as string;
  const all = Array.from({ length: PUSH.series }, (_, i) => ({ app: `app-${Math.floor(i / 2)}`, region: i % 2 ? "eu-west-1" : "us-east-1" }));
  let batch = 0;
  const touchAll = async () => {
    const now = Date.now();
    for (let from = 0; from < all.length; from += 500) {
      const samples = all.slice(from, from + 500).map((s, i) => run(p.id, s.app, s.region, now, batch + i));
      await must(worker, "POST", "/v1/samples", key, { host_id: hostId, batch_id: `push-${batch++}`, samples });
    }
  };
  const pid = worker.workerdPid();
  for (let w = 0; w < PUSH.warmups; w++) {
    await touchAll();
    await flush(worker, p); // warm-up (the JIT, the receiver's namespace)
  }
  const rounds: { cpuMs: number; timings: Record<string, number>; rows: number; requests: number }[] = [];
  for (let r = 0; r < PUSH.rounds; r++) {
    await touchAll();
    const before = cpuSeconds(pid);
    const result = await flush(worker, p);
    const cpuMs = (cpuSeconds(pid) - before) * 1000;
    const s = await stats(worker, p);
    rounds.push({ cpuMs, timings: s.last_push.timings_ms, rows: s.last_push.rows_written, requests: result.requests });
  }
  const timing = (k: string) => median(rounds.map((r) => r.timings[k]!));
  return {
    series: PUSH.series,
    warmups: PUSH.warmups,
    cpuMsPerPush: median(rounds.map((r) => r.cpuMs)),
    rounds: rounds.map((r) => r.cpuMs),
    timingsMs: { snapshot: timing("snapshot"), encode: timing("encode"), gzip: timing("gzip"), send: timing("send"), storage: timing("storage") },
    rowsPerPush: median(rounds.map((r) => r.rows)),
    requestsPerPush: median(rounds.map((r) => r.requests)),
  };
}

// Other jobs share this machine: what they were doing shows in the load average.
const loadAverageBefore = os.loadavg();
const receiver = await startReceiver();
const worker = await startWorker({
  vars: { BENCH_ROUTES: "true", EXPORT_FLUSHES_PER_MINUTE: "1000", EXPORT_INTERVAL_SECONDS: "3600", ALLOW_PRIVATE_ENDPOINTS: "true" },
});
try {
  console.error("bench/cost: reference workload (cumulative)");
  const cumulative = await referenceWorkload(worker, receiver.port, "cumulative");
  console.error("bench/cost: reference workload (delta)");
  const delta = await referenceWorkload(worker, receiver.port, "delta");
  console.error("bench/cost: ingest slope");
  const slope = await ingestSlope(worker, receiver.port);
  console.error("bench/cost: push CPU");
  const push = await pushCpu(worker, receiver.port);
  const results = { reference: { ...REFERENCE, cumulative, delta }, slope, push, at: new Date().toISOString(), loadAverageBefore, loadAverageAfter: os.loadavg() };
  mkdirSync(".tmp", { recursive: true });
  writeFileSync(RESULTS_PATH, JSON.stringify(results, null, 2));
  console.error(JSON.stringify(results, null, 2));
} finally {
  await worker.stop();
  await receiver.close();
}
process.exit(0);
