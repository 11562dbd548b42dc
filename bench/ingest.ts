/**
 * Ingest throughput through the real worker (`wrangler dev`, local storage, 127.0.0.1):
 *   - run events per second accepted by ONE project's object, batches of 500, with 1, 8 and 32
 *     concurrent clients, p50/p99 latency; the same load against POST /_bench/parse (auth + body
 *     parse only) as the baseline, measured in alternating rounds so the ratio is side by side;
 *   - rows written and in-object ms per 500-sample batch (GET /v1/projects/:id/stats, last_ingest);
 *   - SQLite bytes per app: one batch covering APPS_FOR_STORAGE apps (resource + run sample each)
 *     into a fresh project, database_size_bytes before and after.
 * Targets (issue 5): ≥ 50,000 run events/s into one object, and ingest ≥ half the baseline.
 *
 * Run with `node scripts/bench.mjs` (or bundle and run like scripts/bench-export.mjs). Results are
 * printed and written to .tmp/bench-ingest.json. Loopback only; bounded in requests and time.
 *
 * The worker runs with WRANGLER_LOG=warn (unless set): wrangler's per-request log line costs a
 * loopback round trip into its Node process per request, which production does not have.
 *
 * Env: BENCH_INGEST_WINDOW_S (default 5) seconds per measured window, BENCH_INGEST_ROUNDS (default 5)
 * windows per level and target, BENCH_INGEST_WARMUP_S (default 2).
 */
import http from "node:http";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { startWorker, type Worker } from "../test/e2e/harness";
import { duration, percentile, random, request } from "./load";

const CONCURRENCY_LEVELS = [1, 8, 32];
const SAMPLES_PER_BATCH = 500;
const WINDOW_MS = Number(process.env.BENCH_INGEST_WINDOW_S ?? 5) * 1000;
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 5);
const WARMUP_MS = Number(process.env.BENCH_INGEST_WARMUP_S ?? 2) * 1000;
/** Bound per window, far above what 2 cores can do in WINDOW_MS. */
const MAX_REQUESTS_PER_WINDOW = 20_000;
const BODY_VARIANTS = 16;
const STATS_BATCHES = 25;
const APPS_FOR_STORAGE = 1_000;
const HARD_TIMEOUT_MS = 20 * 60_000;
const TARGET_EVENTS_PER_S = 50_000;
const TARGET_RATIO = 0.5;
const RESULTS_PATH = ".tmp/bench-ingest.json";

const APPS = ["llama-3-70b", "whisper-large", "sdxl-turbo", "embeddings", "mistral-7b", "tts-xtts"];
const REGIONS = ["us-east-1", "eu-north-1", "ap-south-1"];
const HOST_ID = "bench-host-1";

// Whatever happens, the bench ends; the harness kills wrangler/workerd on exit.
setTimeout(() => {
  console.error(`bench/ingest: hard timeout after ${HARD_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, HARD_TIMEOUT_MS).unref();

// ---------------------------------------------------------------------------------------------------
// Request bodies: built once per level by string templating; only batch_id changes per request.



function runSample(next: () => number, projectId: string, app: string, region: string, timeMs: number): string {
  const execution = duration(next, 400);
  const queue = duration(next, 15);
  const coldstart = next() < 0.05 ? `,"coldstart_ms":${duration(next, 3_000)}` : "";
  const response = Math.round((execution + queue + 5) * 10) / 10;
  const success = next() >= 0.1;
  return (
    `{"type":"run","project_id":"${projectId}","app_name":"${app}","region":"${region}","time":${timeMs},` +
    `"execution_ms":${execution},"queue_ms":${queue},"response_ms":${response}${coldstart},"success":${success}}`
  );
}

function resourceSample(next: () => number, projectId: string, app: string, region: string, timeMs: number): string {
  return (
    `{"type":"resource","project_id":"${projectId}","app_name":"${app}","region":"${region}","time":${timeMs},` +
    `"cpu_cores":${Math.round(next() * 1600) / 100},"memory_bytes":${Math.floor(next() * 64 * 2 ** 30)},` +
    `"gpu_memory_bytes":${Math.floor(next() * 80 * 2 ** 30)},"gpu_compute_percent":${Math.round(next() * 10000) / 100},` +
    `"gpu_count":1,"containers_running":${1 + Math.floor(next() * 4)},"containers_ready":${Math.floor(next() * 4)}}`
  );
}

/** A body is PREFIX + batch_id + rest; `rest` is one of a few pre-built variants. */
interface BodyTemplate {
  prefix: Buffer;
  rests: Buffer[];
  samplesPerBody: number;
}

function runBodies(projectId: string, seed: number): BodyTemplate {
  const next = random(seed);
  const timeMs = Date.now();
  const rests: Buffer[] = [];
  for (let v = 0; v < BODY_VARIANTS; v++) {
    const samples: string[] = [];
    for (let i = 0; i < SAMPLES_PER_BATCH; i++) {
      const app = APPS[Math.floor(next() * APPS.length)]!;
      const region = REGIONS[Math.floor(next() * REGIONS.length)]!;
      samples.push(runSample(next, projectId, app, region, timeMs));
    }
    rests.push(Buffer.from(`","samples":[${samples.join(",")}]}`));
  }
  return { prefix: Buffer.from(`{"host_id":"${HOST_ID}","batch_id":"`), rests, samplesPerBody: SAMPLES_PER_BATCH };
}

// ---------------------------------------------------------------------------------------------------
// HTTP



async function api<T>(worker: Worker, method: string, path: string, token: string, json?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: Buffer | undefined;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = Buffer.from(JSON.stringify(json));
  }
  const reply = await request(undefined, new URL(path, worker.url), method, headers, body);
  if (reply.status < 200 || reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.body}`);
  return (reply.body ? JSON.parse(reply.body) : undefined) as T;
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting: this process (the load generator) and the worker's processes (wrangler + workerd).

const CLOCK_TICKS_PER_S = 100;

interface ProcessCpu {
  seconds: number;
  workerd: boolean;
  /** workerd only: CPU seconds per thread, to see whether one thread is the limit. */
  threads: Map<number, number>;
}

function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

function threadsCpu(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        threads.set(Number(tid), statCpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
      } catch {
        // The thread ended while we looked.
      }
    }
  } catch {
    // The process ended while we looked.
  }
  return threads;
}

/** utime+stime in seconds of every live descendant process of `rootPid`, by pid. */
function descendantsCpu(rootPid: number): Map<number, ProcessCpu> {
  const parents = new Map<number, number>();
  const cpu = new Map<number, ProcessCpu>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), { seconds: statCpuSeconds(stat), workerd: name === "workerd", threads: new Map() });
    } catch {
      // The process ended while we looked.
    }
  }
  const out = new Map<number, ProcessCpu>();
  for (const [pid, value] of cpu) {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === rootPid) {
        if (value.workerd) value.threads = threadsCpu(pid);
        out.set(pid, value);
        break;
      }
    }
  }
  return out;
}

/** Busy CPU seconds of the whole machine (all processes, all cores) from /proc/stat. */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S;
}

interface CpuSnapshot {
  client: number;
  server: Map<number, ProcessCpu>;
  machine: number;
  atMs: number;
}

function cpuSnapshot(): CpuSnapshot {
  const usage = process.cpuUsage();
  return { client: (usage.user + usage.system) / 1e6, server: descendantsCpu(process.pid), machine: machineBusySeconds(), atMs: performance.now() };
}

/** Worker CPU seconds between two snapshots (a process that ended in between is left out). */
function serverCpuBetween(before: CpuSnapshot, after: CpuSnapshot): { total: number; workerd: number; busiestThread: number } {
  let total = 0;
  let workerd = 0;
  let busiestThread = 0;
  for (const [pid, now] of after.server) {
    const then = before.server.get(pid);
    const delta = now.seconds - (then?.seconds ?? 0);
    total += delta;
    if (!now.workerd) continue;
    workerd += delta;
    for (const [tid, seconds] of now.threads) busiestThread = Math.max(busiestThread, seconds - (then?.threads.get(tid) ?? 0));
  }
  return { total, workerd, busiestThread };
}

// ---------------------------------------------------------------------------------------------------
// Load

interface WindowResult {
  target: "ingest" | "baseline";
  concurrency: number;
  requests: number;
  failures: number;
  firstFailure?: string;
  events: number;
  seconds: number;
  eventsPerS: number;
  latenciesMs: number[];
  /** Cores used during the window (1.0 = one core busy). */
  clientCores: number;
  serverCores: number;
  workerdCores: number;
  /** The busiest workerd thread (1.0 = that thread never rested). */
  busiestThreadCores: number;
  /** Everything else on the machine (other people's jobs): the noise in this window. */
  otherCores: number;
  /** Worker CPU (wrangler + workerd) per request, ms. */
  serverCpuMsPerRequest: number;
}

let batchCounter = 0;
const runTag = `${Date.now().toString(36)}-${process.pid}`;

/**
 * `concurrency` clients, each sending one request at a time, for `durationMs` (bounded by
 * MAX_REQUESTS_PER_WINDOW). Every answer must be 202 with accepted = samples in the body.
 */
async function runWindow(
  worker: Worker,
  target: WindowResult["target"],
  path: string,
  ingestKey: string,
  bodies: BodyTemplate,
  concurrency: number,
  durationMs: number,
): Promise<WindowResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(path, worker.url);
  const headers = { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" };
  const latenciesMs: number[] = [];
  let requests = 0;
  let failures = 0;
  let events = 0;
  let firstFailure: string | undefined;
  const before = cpuSnapshot();
  const deadline = before.atMs + durationMs;

  const client = async () => {
    while (performance.now() < deadline && requests < MAX_REQUESTS_PER_WINDOW) {
      requests++;
      const n = batchCounter++;
      const body = Buffer.concat([bodies.prefix, Buffer.from(`${runTag}-${n}`), bodies.rests[n % bodies.rests.length]!]);
      const started = performance.now();
      try {
        const reply = await request(agent, url, "POST", headers, body);
        latenciesMs.push(performance.now() - started);
        const parsed = reply.status === 202 ? (JSON.parse(reply.body) as { accepted: number; duplicate: boolean; rejected: unknown[] }) : null;
        if (parsed && parsed.accepted === bodies.samplesPerBody && !parsed.duplicate && parsed.rejected.length === 0) {
          events += parsed.accepted;
        } else {
          failures++;
          firstFailure ??= `${reply.status} ${reply.body.slice(0, 300)}`;
        }
      } catch (error) {
        latenciesMs.push(performance.now() - started);
        failures++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const after = cpuSnapshot();
  agent.destroy();
  const seconds = (after.atMs - before.atMs) / 1000;
  const server = serverCpuBetween(before, after);
  const result: WindowResult = {
    target,
    concurrency,
    requests,
    failures,
    events,
    seconds,
    eventsPerS: events / seconds,
    latenciesMs,
    clientCores: (after.client - before.client) / seconds,
    serverCores: server.total / seconds,
    workerdCores: server.workerd / seconds,
    busiestThreadCores: server.busiestThread / seconds,
    otherCores: Math.max(0, after.machine - before.machine - (after.client - before.client) - server.total) / seconds,
    serverCpuMsPerRequest: (server.total * 1000) / Math.max(1, requests),
  };
  if (firstFailure !== undefined) result.firstFailure = firstFailure;
  return result;
}


function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface TargetSummary {
  medianEventsPerS: number;
  roundsEventsPerS: number[];
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
  firstFailure?: string;
  clientCores: number;
  serverCores: number;
  workerdCores: number;
  busiestThreadCores: number;
  otherCores: number;
  serverCpuMsPerRequest: number;
}

function summarise(windows: WindowResult[]): TargetSummary {
  const latencies = windows.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
  const summary: TargetSummary = {
    medianEventsPerS: median(windows.map((w) => w.eventsPerS)),
    roundsEventsPerS: windows.map((w) => Math.round(w.eventsPerS)),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests: windows.reduce((a, w) => a + w.requests, 0),
    failures: windows.reduce((a, w) => a + w.failures, 0),
    clientCores: median(windows.map((w) => w.clientCores)),
    serverCores: median(windows.map((w) => w.serverCores)),
    workerdCores: median(windows.map((w) => w.workerdCores)),
    busiestThreadCores: median(windows.map((w) => w.busiestThreadCores)),
    otherCores: median(windows.map((w) => w.otherCores)),
    serverCpuMsPerRequest: median(windows.map((w) => w.serverCpuMsPerRequest)),
  };
  const firstFailure = windows.find((w) => w.firstFailure !== undefined)?.firstFailure;
  if (firstFailure !== undefined) summary.firstFailure = firstFailure;
  return summary;
}

// ---------------------------------------------------------------------------------------------------
// Integrity: what the object would export must equal what it accepted.

interface OtlpJsonPoint {
  asInt?: string | number;
}
interface OtlpJson {
  resourceMetrics?: { scopeMetrics?: { metrics?: { name: string; sum?: { dataPoints?: OtlpJsonPoint[] } }[] }[] }[];
}

function counterTotal(preview: OtlpJson, name: string): number {
  let total = 0;
  for (const rm of preview.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) if (m.name === name) for (const p of m.sum?.dataPoints ?? []) total += Number(p.asInt ?? 0);
  return total;
}

// ---------------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");

async function main(): Promise<void> {
  // wrangler dev logs every request through an extra loopback call into its Node process: dev-tool
  // overhead that production does not have. Warnings and errors still show.
  process.env.WRANGLER_LOG ??= "warn";
  const startedAt = new Date().toISOString();
  const loadBefore = os.loadavg();
  const worker = await startWorker({ vars: { BENCH_ROUTES: "true", EXPORT_INTERVAL_SECONDS: "60" } });
  try {
    const admin = worker.adminToken;
    const projectId = `p-bench${Date.now().toString(36)}`;
    const storageProjectId = `${projectId}s`;
    await api(worker, "POST", "/v1/projects", admin, { project_id: projectId, name: "ingest bench" });
    await api(worker, "POST", "/v1/projects", admin, { project_id: storageProjectId, name: "storage bench" });
    const { key: ingestKey } = await api<{ key: string }>(worker, "POST", "/v1/ingest-keys", admin, { host_id: HOST_ID });

    let acceptedIntoProject = 0;
    const levels: { concurrency: number; ingest: TargetSummary; baseline: TargetSummary; ratio: number; roundRatios: number[] }[] = [];
    for (const concurrency of CONCURRENCY_LEVELS) {
      const bodies = runBodies(projectId, concurrency);
      const windows: Record<WindowResult["target"], WindowResult[]> = { ingest: [], baseline: [] };
      const run = async (target: WindowResult["target"], ms: number) => {
        const path = target === "ingest" ? "/v1/samples" : "/_bench/parse";
        const w = await runWindow(worker, target, path, ingestKey, bodies, concurrency, ms);
        if (target === "ingest") acceptedIntoProject += w.events;
        return w;
      };
      await run("baseline", WARMUP_MS);
      await run("ingest", WARMUP_MS);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so neither target always runs first.
        const order: WindowResult["target"][] = round % 2 === 0 ? ["baseline", "ingest"] : ["ingest", "baseline"];
        for (const target of order) {
          const w = await run(target, WINDOW_MS);
          windows[target].push(w);
          console.error(
            `  c=${concurrency} round ${round + 1} ${target.padEnd(8)} ${fmt(w.eventsPerS)} events/s, ${w.requests} req, ` +
              `${w.failures} failed, client ${w.clientCores.toFixed(2)} cores, worker ${w.serverCores.toFixed(2)} cores ` +
              `(workerd ${w.workerdCores.toFixed(2)}, busiest thread ${w.busiestThreadCores.toFixed(2)}), ${w.serverCpuMsPerRequest.toFixed(1)} ms worker CPU per request, other processes ${w.otherCores.toFixed(2)} cores`,
          );
        }
      }
      const ingest = summarise(windows.ingest);
      const baseline = summarise(windows.baseline);
      const roundRatios = windows.ingest.map((w, i) => w.eventsPerS / windows.baseline[i]!.eventsPerS);
      levels.push({ concurrency, ingest, baseline, ratio: ingest.medianEventsPerS / baseline.medianEventsPerS, roundRatios });
    }

    // Cost per batch inside the object: sequential batches, last_ingest after each.
    const statsBodies = runBodies(projectId, 99);
    const perBatch: { rows: number; ms: number; seriesTouched: number; samples: number }[] = [];
    for (let i = 0; i < STATS_BATCHES; i++) {
      const n = batchCounter++;
      const body = Buffer.concat([statsBodies.prefix, Buffer.from(`${runTag}-${n}`), statsBodies.rests[n % statsBodies.rests.length]!]);
      const reply = await request(undefined, new URL("/v1/samples", worker.url), "POST", { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" }, body);
      if (reply.status !== 202) throw new Error(`stats batch: ${reply.status} ${reply.body}`);
      acceptedIntoProject += (JSON.parse(reply.body) as { accepted: number }).accepted;
      const stats = await api<{ last_ingest: { samples: number; series_touched: number; rows_written: number; duration_ms: number } }>(
        worker,
        "GET",
        `/v1/projects/${projectId}/stats`,
        admin,
      );
      perBatch.push({ rows: stats.last_ingest.rows_written, ms: stats.last_ingest.duration_ms, seriesTouched: stats.last_ingest.series_touched, samples: stats.last_ingest.samples });
    }

    // Nothing lost or double-counted under load: the object's next export carries every accepted run.
    // The bounded preview's request (at most 100 series; this project has 18).
    const preview = (await api<{ request: OtlpJson }>(worker, "GET", `/v1/projects/${projectId}/metrics-export/preview?limit=100`, admin)).request;
    const exportedRuns = counterTotal(preview, "cerebrium_run_total");
    const exportedOutcomes = counterTotal(preview, "cerebrium_run_successes_total") + counterTotal(preview, "cerebrium_run_errors_total");

    // SQLite bytes per app.
    type Stats = { database_size_bytes: number; series: number; host_reports: number; batches: number };
    const before = await api<Stats>(worker, "GET", `/v1/projects/${storageProjectId}/stats`, admin);
    const next = random(7);
    const nowMs = Date.now();
    const samples: string[] = [];
    for (let i = 0; i < APPS_FOR_STORAGE; i++) {
      const app = `app-${i.toString().padStart(4, "0")}-${APPS[i % APPS.length]}`;
      const region = REGIONS[i % REGIONS.length]!;
      samples.push(resourceSample(next, storageProjectId, app, region, nowMs), runSample(next, storageProjectId, app, region, nowMs));
    }
    const storageBody = Buffer.from(`{"host_id":"${HOST_ID}","batch_id":"${runTag}-storage","samples":[${samples.join(",")}]}`);
    const storageReply = await request(undefined, new URL("/v1/samples", worker.url), "POST", { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" }, storageBody);
    if (storageReply.status !== 202) throw new Error(`storage batch: ${storageReply.status} ${storageReply.body}`);
    const storageAccepted = (JSON.parse(storageReply.body) as { accepted: number }).accepted;
    const after = await api<Stats & { last_ingest: { rows_written: number; duration_ms: number } }>(worker, "GET", `/v1/projects/${storageProjectId}/stats`, admin);
    const storage = {
      apps: APPS_FOR_STORAGE,
      samplesAccepted: storageAccepted,
      bodyBytes: storageBody.length,
      bytesBefore: before.database_size_bytes,
      bytesAfter: after.database_size_bytes,
      bytesPerApp: (after.database_size_bytes - before.database_size_bytes) / APPS_FOR_STORAGE,
      series: after.series,
      hostReports: after.host_reports,
      rowsWritten: after.last_ingest.rows_written,
      inObjectMs: after.last_ingest.duration_ms,
    };

    const objectCost = {
      batches: perBatch.length,
      samplesPerBatch: median(perBatch.map((b) => b.samples)),
      seriesTouchedPerBatch: median(perBatch.map((b) => b.seriesTouched)),
      rowsPerBatch: median(perBatch.map((b) => b.rows)),
      msPerBatch: median(perBatch.map((b) => b.ms)),
      msPerBatchP90: percentile(perBatch.map((b) => b.ms).sort((a, b) => a - b), 90),
    };
    const integrity = { acceptedRuns: acceptedIntoProject, exportedRuns, exportedOutcomes, ok: exportedRuns === acceptedIntoProject && exportedOutcomes === acceptedIntoProject };

    const best = levels.reduce((a, l) => (l.ingest.medianEventsPerS > a.ingest.medianEventsPerS ? l : a));
    const targets = {
      eventsPerS: { target: TARGET_EVENTS_PER_S, best: best.ingest.medianEventsPerS, atConcurrency: best.concurrency, met: best.ingest.medianEventsPerS >= TARGET_EVENTS_PER_S },
      ratio: { target: TARGET_RATIO, levels: levels.map((l) => ({ concurrency: l.concurrency, ratio: l.ratio, met: l.ratio >= TARGET_RATIO })) },
    };

    // ---- print
    console.log(`\n## Ingest through the worker (wrangler dev, local; ${SAMPLES_PER_BATCH} run events per batch; median of ${ROUNDS} × ${WINDOW_MS / 1000} s windows)\n`);
    console.log("| clients | ingest events/s | p50 / p99 ms | baseline (parse only) events/s | p50 / p99 ms | ingest ÷ baseline | failed requests | worker cores (ingest / baseline) |");
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const l of levels) {
      console.log(
        `| ${l.concurrency} | ${fmt(l.ingest.medianEventsPerS)} | ${fmt(l.ingest.p50Ms, 1)} / ${fmt(l.ingest.p99Ms, 1)} | ` +
          `${fmt(l.baseline.medianEventsPerS)} | ${fmt(l.baseline.p50Ms, 1)} / ${fmt(l.baseline.p99Ms, 1)} | ${l.ratio.toFixed(3)} | ` +
          `${l.ingest.failures + l.baseline.failures} of ${l.ingest.requests + l.baseline.requests} | ${l.ingest.serverCores.toFixed(2)} / ${l.baseline.serverCores.toFixed(2)} |`,
      );
    }
    console.log(`\nPer batch in the object (median of ${objectCost.batches}): ${objectCost.rowsPerBatch} rows written, ${objectCost.msPerBatch.toFixed(2)} ms (p90 ${objectCost.msPerBatchP90.toFixed(2)} ms), ${objectCost.seriesTouchedPerBatch} series touched.`);
    console.log(`Storage: ${fmt(storage.bytesPerApp)} SQLite bytes per app (${APPS_FOR_STORAGE} apps × resource + run sample; ${storage.bytesBefore} → ${storage.bytesAfter} bytes; ${storage.rowsWritten} rows, ${storage.inObjectMs.toFixed(1)} ms in the object).`);
    console.log(`Integrity: ${integrity.ok ? "ok" : "MISMATCH"}: accepted ${integrity.acceptedRuns} runs, next export carries ${integrity.exportedRuns} (successes + errors ${integrity.exportedOutcomes}).`);
    console.log(
      `Targets: ≥ ${fmt(TARGET_EVENTS_PER_S)} events/s: ${targets.eventsPerS.met ? "met" : "MISSED"} (best ${fmt(best.ingest.medianEventsPerS)} at ${best.concurrency} clients); ` +
        `ingest ≥ ${TARGET_RATIO} × baseline: ${levels.map((l) => `${l.concurrency} clients ${l.ratio >= TARGET_RATIO ? "met" : "MISSED"}`).join(", ")}.`,
    );

    mkdirSync(".tmp", { recursive: true });
    writeFileSync(
      RESULTS_PATH,
      JSON.stringify(
        {
          startedAt,
          node: process.version,
          loadAverageBefore: loadBefore,
          loadAverageAfter: os.loadavg(),
          samplesPerBatch: SAMPLES_PER_BATCH,
          windowSeconds: WINDOW_MS / 1000,
          rounds: ROUNDS,
          warmupSeconds: WARMUP_MS / 1000,
          levels,
          objectCost,
          storage,
          integrity,
          targets,
        },
        null,
        2,
      ),
    );
    console.log(`Results written to ${RESULTS_PATH}`);
    const failed = levels.some((l) => l.ingest.failures + l.baseline.failures > 0);
    if (failed) {
      for (const l of levels) {
        if (l.ingest.firstFailure) console.error(`first ingest failure at ${l.concurrency} clients: ${l.ingest.firstFailure}`);
        if (l.baseline.firstFailure) console.error(`first baseline failure at ${l.concurrency} clients: ${l.baseline.firstFailure}`);
      }
    }
    if (failed || !integrity.ok) process.exitCode = 1;
  } finally {
    await worker.stop();
  }
}

await main();
