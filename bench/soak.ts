/**
 * Sustained load (issue 6): the real worker (`wrangler dev`, local storage, 127.0.0.1) exporting every
 * EXPORT_INTERVAL_SECONDS=5 to a real OTLP receiver (test/receiver/receiver.ts, in this process) that
 * fails ~20% of requests at random with 503 (retryable) or 500 (not retryable), while 20 simulated
 * hosts post batches at a steady rate across 10 projects for 60 s.
 *
 * At the end every project is flushed (retried until a push succeeds; resumed if paused), and the
 * cumulative totals of the last request the receiver answered with 200 must equal what the worker
 * accepted: cerebrium_run_total, …_successes_total, …_errors_total and the count of the response-time
 * histogram, summed over the project's series.
 *
 * The receiver's failures are scripted up front: each namespace gets one long queue of seeded random
 * responses before its export is configured, so request i of a namespace got response i, and the
 * run knows exactly which requests succeeded.
 *
 * Run with `npm run soak`. Summary printed and written to .tmp/soak.json. Loopback only, bounded in
 * requests and time (hard timeout), stops the worker on exit.
 *
 * Env: SOAK_SECONDS (default 60), SOAK_BATCH_INTERVAL_MS per host (default 200), SOAK_RUNS_PER_BATCH
 * (default 100), SOAK_FAILURE_RATE (default 0.2).
 */
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { startWorker, type Worker } from "../test/e2e/harness";
import { duration, percentile, random, request, type Reply } from "./load";
import { startReceiver, type RecordedRequest, type ScriptedResponse } from "../test/receiver/receiver";

const PROJECT_COUNT = 10;
const HOST_COUNT = 20;
const LOAD_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const BATCH_INTERVAL_MS = Number(process.env.SOAK_BATCH_INTERVAL_MS ?? 200);
const RUNS_PER_BATCH = Number(process.env.SOAK_RUNS_PER_BATCH ?? 100);
const FAILURE_RATE = Number(process.env.SOAK_FAILURE_RATE ?? 0.2);
const EXPORT_INTERVAL_SECONDS = 5;
const EXPORT_RETRY_BASE_MS = 50;
/** (project, app, region) combinations each host serves. */
const SERIES_PER_HOST = 3;
const BODY_VARIANTS = 8;
/** Scripted receiver answers per namespace; ~12 pushes × ≤ 4 attempts need far fewer. */
const SCRIPT_LENGTH = 2_000;
/** Batches a host may have in flight; a tick finding them all busy is skipped and counted. */
const MAX_IN_FLIGHT_PER_HOST = 8;
/** A host re-sends a batch (same batch_id) this many times after a failed attempt. */
const MAX_SEND_ATTEMPTS = 6;
const RESEND_DELAY_MS = 250;
const FLUSH_ATTEMPTS = 10;
const HARD_TIMEOUT_MS = (LOAD_SECONDS + 240) * 1000;
const RESULTS_PATH = ".tmp/soak.json";

const APPS = ["llama-3-70b", "whisper-large", "sdxl-turbo", "embeddings", "mistral-7b", "tts-xtts", "flux-dev"];
const REGIONS = ["us-east-1", "eu-north-1", "ap-south-1"];

// Whatever happens, the run ends; the harness kills wrangler/workerd on exit.
setTimeout(() => {
  console.error(`bench/soak: hard timeout after ${HARD_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, HARD_TIMEOUT_MS).unref();



const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


// ---------------------------------------------------------------------------------------------------
// HTTP



async function api<T>(worker: Worker, method: string, path: string, json?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${worker.adminToken}` };
  let body: Buffer | undefined;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = Buffer.from(JSON.stringify(json));
  }
  const reply = await request(undefined, new URL(path, worker.url), method, headers, body);
  return { status: reply.status, body: (reply.body ? JSON.parse(reply.body) : undefined) as T };
}

async function apiOk<T>(worker: Worker, method: string, path: string, json?: unknown): Promise<T> {
  const reply = await api<T>(worker, method, path, json);
  if (reply.status < 200 || reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

// ---------------------------------------------------------------------------------------------------
// Hosts and their batches

interface Counts {
  runs: number;
  successes: number;
  errors: number;
  /** Runs with a cold start (observed in the cold-start histogram). */
  coldstarts: number;
}

const zero = (): Counts => ({ runs: 0, successes: 0, errors: 0, coldstarts: 0 });

/** One pre-built batch body (minus its batch_id) and what its run samples are, by index. */
interface Variant {
  rest: Buffer;
  samples: number;
  /** For each sample index: the run's project index, outcome and cold start; null for resource samples. */
  runAt: ({ project: number; success: boolean; coldstart: boolean } | null)[];
}

interface Host {
  hostId: string;
  key: string;
  prefix: Buffer;
  variants: Variant[];
  agent: http.Agent;
  inFlight: number;
}

function hostVariants(hostIndex: number, projectIds: string[], timeMs: number): Variant[] {
  const next = random(1_000 + hostIndex);
  const series = Array.from({ length: SERIES_PER_HOST }, (_, i) => ({
    project: (hostIndex + i * 3) % projectIds.length,
    app: APPS[(hostIndex + i) % APPS.length]!,
    region: REGIONS[(hostIndex + 2 * i) % REGIONS.length]!,
  }));
  const variants: Variant[] = [];
  for (let v = 0; v < BODY_VARIANTS; v++) {
    const samples: string[] = [];
    const runAt: Variant["runAt"] = [];
    for (const s of series) {
      samples.push(
        `{"type":"resource","project_id":"${projectIds[s.project]}","app_name":"${s.app}","region":"${s.region}","time":${timeMs},` +
          `"cpu_cores":${Math.round(next() * 800) / 100},"memory_bytes":${Math.floor(next() * 32 * 2 ** 30)},` +
          `"gpu_memory_bytes":${Math.floor(next() * 40 * 2 ** 30)},"gpu_compute_percent":${Math.round(next() * 10000) / 100},` +
          `"containers_running":${1 + Math.floor(next() * 3)},"containers_ready":${Math.floor(next() * 3)}}`,
      );
      runAt.push(null);
    }
    for (let i = 0; i < RUNS_PER_BATCH; i++) {
      const s = series[Math.floor(next() * series.length)]!;
      const execution = duration(next, 300);
      const queue = duration(next, 10);
      const coldstart = next() < 0.05 ? `,"coldstart_ms":${duration(next, 3_000)}` : "";
      const success = next() >= 0.1;
      samples.push(
        `{"type":"run","project_id":"${projectIds[s.project]}","app_name":"${s.app}","region":"${s.region}","time":${timeMs},` +
          `"execution_ms":${execution},"queue_ms":${queue},"response_ms":${Math.round((execution + queue + 4) * 10) / 10}${coldstart},"success":${success}}`,
      );
      runAt.push({ project: s.project, success, coldstart: coldstart !== "" });
    }
    variants.push({ rest: Buffer.from(`","samples":[${samples.join(",")}]}`), samples: samples.length, runAt });
  }
  return variants;
}

// ---------------------------------------------------------------------------------------------------
// Receiver scripting and reading

function failureScript(seed: number): ScriptedResponse[] {
  const next = random(seed);
  return Array.from({ length: SCRIPT_LENGTH }, () => {
    if (next() >= FAILURE_RATE) return {};
    return { status: next() < 0.5 ? 503 : 500 };
  });
}

async function receiverControl(origin: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const reply = await request(
    undefined,
    new URL(path, origin),
    method,
    body === undefined ? {} : { "content-type": "application/json" },
    body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  );
  if (reply.status >= 300) throw new Error(`receiver ${method} ${path}: ${reply.status} ${reply.body}`);
  return reply.status === 204 ? undefined : JSON.parse(reply.body);
}

interface DecodedPoint {
  asInt?: number | string;
  count?: number | string;
}
interface DecodedMetric {
  name: string;
  sum?: { dataPoints?: DecodedPoint[] };
  histogram?: { dataPoints?: DecodedPoint[] };
}
interface DecodedRequest {
  resourceMetrics?: { scopeMetrics?: { metrics?: DecodedMetric[] }[] }[];
}

function metricsOf(request: RecordedRequest): DecodedMetric[] {
  const body = request.body as DecodedRequest | undefined;
  return (body?.resourceMetrics ?? []).flatMap((rm) => (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []));
}

function exportedTotals(request: RecordedRequest): Counts & { responseTimeCount: number; series: number } {
  const metrics = metricsOf(request);
  const histogramCount = (name: string) =>
    metrics.filter((m) => m.name === name).flatMap((m) => m.histogram?.dataPoints ?? []).reduce((a, p) => a + Number(p.count ?? 0), 0);
  const sumOf = (name: string) =>
    metrics.filter((m) => m.name === name).reduce((a, m) => a + (m.sum?.dataPoints ?? []).reduce((b, p) => b + Number(p.asInt ?? 0), 0), 0);
  return {
    runs: sumOf("cerebrium_run_total"),
    successes: sumOf("cerebrium_run_successes_total"),
    errors: sumOf("cerebrium_run_errors_total"),
    coldstarts: histogramCount("cerebrium_run_coldstart_time_ms"),
    responseTimeCount: histogramCount("cerebrium_run_response_time_ms"),
    series: metrics.find((m) => m.name === "cerebrium_run_total")?.sum?.dataPoints?.length ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------------

interface ExportView {
  status: {
    state: string;
    consecutive_failures: number;
    last_error: { classification: string; http_status: number | null } | null;
    totals: { pushes_succeeded: number; pushes_failed: number; retries: number; data_points_sent: number; bytes_sent: number };
  };
}

async function main(): Promise<void> {
  // Without wrangler's per-request log line (a loopback call into its Node process per request).
  process.env.WRANGLER_LOG ??= "warn";
  const startedAt = new Date().toISOString();
  const receiver = await startReceiver();
  const receiverOrigin = `http://127.0.0.1:${receiver.port}`;
  const worker = await startWorker({
    vars: { EXPORT_INTERVAL_SECONDS: String(EXPORT_INTERVAL_SECONDS), EXPORT_RETRY_BASE_MS: String(EXPORT_RETRY_BASE_MS) },
  });
  const hosts: Host[] = [];
  try {
    // ---- set up: projects exporting to their own namespace, hosts with their own ingest keys
    const tag = Date.now().toString(36);
    const projectIds = Array.from({ length: PROJECT_COUNT }, (_, i) => `p-soak${tag}${i}`);
    const namespaces = projectIds.map((id) => `soak-${id}`);
    const scripts = namespaces.map((_, i) => failureScript(42 + i));
    for (const [i, projectId] of projectIds.entries()) {
      await apiOk(worker, "POST", "/v1/projects", { project_id: projectId, name: `soak ${i}` });
      await receiverControl(receiverOrigin, "PUT", `/control/${namespaces[i]}/script`, scripts[i]);
      await apiOk(worker, "PUT", `/v1/projects/${projectId}/metrics-export`, {
        endpoint: `${receiverOrigin}/r/${namespaces[i]}`,
        destination: "custom",
        temporality: "cumulative",
      });
    }
    const timeMs = Date.now() - 1_000;
    for (let h = 0; h < HOST_COUNT; h++) {
      const hostId = `soak-host-${h.toString().padStart(2, "0")}`;
      const { key } = await apiOk<{ key: string }>(worker, "POST", "/v1/ingest-keys", { host_id: hostId });
      hosts.push({
        hostId,
        key,
        prefix: Buffer.from(`{"host_id":"${hostId}","batch_id":"`),
        variants: hostVariants(h, projectIds, timeMs),
        agent: new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT_PER_HOST }),
        inFlight: 0,
      });
    }

    // ---- load
    const accepted = projectIds.map(zero);
    const attemptLatenciesMs: number[] = [];
    const batchLatenciesMs: number[] = [];
    const errorsByKind = new Map<string, number>();
    const countError = (kind: string) => errorsByKind.set(kind, (errorsByKind.get(kind) ?? 0) + 1);
    let batchesSent = 0;
    let batchesAccepted = 0;
    let batchesUnresolved = 0;
    let duplicates = 0;
    let attempts = 0;
    let skippedTicks = 0;
    let samplesAccepted = 0;
    const pending = new Set<Promise<void>>();
    const samplesUrl = new URL("/v1/samples", worker.url);

    const sendBatch = async (host: Host, n: number) => {
      const variant = host.variants[n % host.variants.length]!;
      const body = Buffer.concat([host.prefix, Buffer.from(`${tag}-${n}`), variant.rest]);
      const headers = { authorization: `Bearer ${host.key}`, "content-type": "application/json" };
      const started = performance.now();
      for (let attempt = 1; attempt <= MAX_SEND_ATTEMPTS; attempt++) {
        attempts++;
        const attemptStarted = performance.now();
        let reply: Reply;
        try {
          reply = await request(host.agent, samplesUrl, "POST", headers, body);
        } catch (error) {
          attemptLatenciesMs.push(performance.now() - attemptStarted);
          countError(`network: ${error instanceof Error ? error.message : String(error)}`);
          await sleep(RESEND_DELAY_MS);
          continue;
        }
        attemptLatenciesMs.push(performance.now() - attemptStarted);
        if (reply.status !== 202) {
          countError(`HTTP ${reply.status}: ${reply.body.slice(0, 160)}`);
          await sleep(RESEND_DELAY_MS);
          continue;
        }
        const result = JSON.parse(reply.body) as { accepted: number; duplicate: boolean; rejected: { index: number; code: string }[] };
        const rejected = new Set(result.rejected.map((r) => r.index));
        for (const r of result.rejected) countError(`rejected sample: ${r.code}`);
        if (result.duplicate) duplicates++;
        variant.runAt.forEach((run, index) => {
          if (run === null || rejected.has(index)) return;
          const counts = accepted[run.project]!;
          counts.runs++;
          if (run.success) counts.successes++;
          else counts.errors++;
          if (run.coldstart) counts.coldstarts++;
        });
        samplesAccepted += result.accepted;
        batchesAccepted++;
        batchLatenciesMs.push(performance.now() - started);
        return;
      }
      batchesUnresolved++;
    };

    console.error(
      `soak: ${HOST_COUNT} hosts × one batch every ${BATCH_INTERVAL_MS} ms (${RUNS_PER_BATCH} runs + ${SERIES_PER_HOST} resource samples) ` +
        `across ${PROJECT_COUNT} projects for ${LOAD_SECONDS} s; receiver fails ${FAILURE_RATE * 100}% (503/500)`,
    );
    const loadStarted = performance.now();
    const loadEnds = loadStarted + LOAD_SECONDS * 1000;
    const ticks = Math.floor((LOAD_SECONDS * 1000) / BATCH_INTERVAL_MS);
    const hostLoops = hosts.map(async (host, h) => {
      // Hosts are spread evenly over the interval rather than all firing at once.
      const offset = (h * BATCH_INTERVAL_MS) / HOST_COUNT;
      for (let tick = 0; tick < ticks; tick++) {
        const due = loadStarted + offset + tick * BATCH_INTERVAL_MS;
        if (due >= loadEnds) break;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (host.inFlight >= MAX_IN_FLIGHT_PER_HOST) {
          skippedTicks++;
          continue;
        }
        host.inFlight++;
        batchesSent++;
        const p = sendBatch(host, tick).finally(() => {
          host.inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
    });
    const progress = setInterval(() => {
      console.error(
        `  t=${((performance.now() - loadStarted) / 1000).toFixed(0)} s: ${batchesAccepted} batches accepted, ${[...errorsByKind.values()].reduce((a, b) => a + b, 0)} errors, ` +
          `${skippedTicks} skipped ticks, in flight ${pending.size}`,
      );
    }, 10_000);
    await Promise.all(hostLoops);
    const offeredEnd = performance.now();
    while (pending.size > 0) await Promise.all([...pending]);
    clearInterval(progress);
    const loadSeconds = (offeredEnd - loadStarted) / 1000;
    const drainSeconds = (performance.now() - offeredEnd) / 1000;

    // ---- final flush of every project, then compare the last successful export with what was accepted
    const flushes: { projectId: string; attempts: number; resumed: number; ok: boolean; lastProblem?: string }[] = [];
    for (const projectId of projectIds) {
      const entry: (typeof flushes)[number] = { projectId, attempts: 0, resumed: 0, ok: false };
      for (let i = 0; i < FLUSH_ATTEMPTS && !entry.ok; i++) {
        entry.attempts++;
        // 200 {ok, error?: {classification…}} after a push; 409 {error: {code}} when it cannot push.
        const reply = await api<{ ok?: boolean; error?: { code?: string } }>(worker, "POST", `/v1/projects/${projectId}/metrics-export/flush`);
        if (reply.status === 200 && reply.body.ok === true) {
          entry.ok = true;
          break;
        }
        entry.lastProblem = `${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`;
        if (reply.status === 409 && reply.body.error?.code === "export_paused") {
          await apiOk(worker, "POST", `/v1/projects/${projectId}/metrics-export/resume`);
          entry.resumed++;
        } else if (reply.status >= 500) {
          countError(`flush HTTP ${reply.status}`);
        }
      }
      flushes.push(entry);
    }

    const projects = [];
    for (const [i, projectId] of projectIds.entries()) {
      const requests = (await receiverControl(receiverOrigin, "GET", `/control/${namespaces[i]}/requests`)) as RecordedRequest[];
      const script = scripts[i]!;
      let lastSuccess: RecordedRequest | undefined;
      let scriptedFailures = 0;
      let decodeErrors = 0;
      // Cumulative totals never go down from one delivered push to the next.
      let monotonic = true;
      let previousRuns = 0;
      requests.forEach((r, index) => {
        const status = script[index]?.status ?? 200;
        if (status !== 200) scriptedFailures++;
        else if (r.decodeError !== undefined) decodeErrors++;
        else {
          const runs = exportedTotals(r).runs;
          if (runs < previousRuns) monotonic = false;
          previousRuns = runs;
          lastSuccess = r;
        }
      });
      const exported = lastSuccess ? exportedTotals(lastSuccess) : { ...zero(), responseTimeCount: 0, series: 0 };
      const view = await apiOk<ExportView>(worker, "GET", `/v1/projects/${projectId}/metrics-export`);
      const want = accepted[i]!;
      projects.push({
        projectId,
        accepted: want,
        exported,
        monotonic,
        match:
          monotonic &&
          exported.runs === want.runs &&
          exported.successes === want.successes &&
          exported.errors === want.errors &&
          exported.coldstarts === want.coldstarts &&
          exported.responseTimeCount === want.runs,
        receiver: { requests: requests.length, scriptedFailures, decodeErrors, lastSuccessAt: lastSuccess ? new Date(lastSuccess.receivedAtMs).toISOString() : null },
        status: {
          state: view.status.state,
          pushesSucceeded: view.status.totals.pushes_succeeded,
          pushesFailed: view.status.totals.pushes_failed,
          retries: view.status.totals.retries,
          bytesSent: view.status.totals.bytes_sent,
          lastError: view.status.last_error?.classification ?? null,
        },
        flush: flushes[i],
      });
    }

    // ---- summary
    const sortedAttempts = [...attemptLatenciesMs].sort((a, b) => a - b);
    const sortedBatches = [...batchLatenciesMs].sort((a, b) => a - b);
    const totalErrors = [...errorsByKind.values()].reduce((a, b) => a + b, 0);
    const receiverRequests = projects.reduce((a, p) => a + p.receiver.requests, 0);
    const receiverFailures = projects.reduce((a, p) => a + p.receiver.scriptedFailures, 0);
    const summary = {
      startedAt,
      node: process.version,
      loadAverage: os.loadavg(),
      config: {
        projects: PROJECT_COUNT,
        hosts: HOST_COUNT,
        seconds: LOAD_SECONDS,
        batchIntervalMsPerHost: BATCH_INTERVAL_MS,
        runsPerBatch: RUNS_PER_BATCH,
        resourceSamplesPerBatch: SERIES_PER_HOST,
        offeredRequestsPerS: (HOST_COUNT * 1000) / BATCH_INTERVAL_MS,
        receiverFailureRate: FAILURE_RATE,
        exportIntervalSeconds: EXPORT_INTERVAL_SECONDS,
        exportRetryBaseMs: EXPORT_RETRY_BASE_MS,
      },
      ingest: {
        batchesSent,
        batchesAccepted,
        batchesUnresolved,
        duplicates,
        attempts,
        skippedTicks,
        loadSeconds,
        drainSeconds,
        // Over the whole time it took to get every answer, not only the time requests were offered.
        heldRequestsPerS: batchesAccepted / (loadSeconds + drainSeconds),
        samplesAcceptedPerS: samplesAccepted / (loadSeconds + drainSeconds),
        runsAccepted: accepted.reduce((a, c) => a + c.runs, 0),
        latencyMs: {
          p50: percentile(sortedAttempts, 50),
          p90: percentile(sortedAttempts, 90),
          p99: percentile(sortedAttempts, 99),
          max: sortedAttempts[sortedAttempts.length - 1] ?? NaN,
        },
        batchLatencyWithResendsMs: { p99: percentile(sortedBatches, 99), max: sortedBatches[sortedBatches.length - 1] ?? NaN },
        errors: totalErrors,
        errorsByKind: Object.fromEntries(errorsByKind),
      },
      export: {
        receiverRequests,
        receiverScriptedFailures: receiverFailures,
        receiverFailureShare: receiverRequests > 0 ? receiverFailures / receiverRequests : 0,
        pushesSucceeded: projects.reduce((a, p) => a + p.status.pushesSucceeded, 0),
        pushesFailed: projects.reduce((a, p) => a + p.status.pushesFailed, 0),
        retries: projects.reduce((a, p) => a + p.status.retries, 0),
        flushAttempts: flushes.reduce((a, f) => a + f.attempts, 0),
        resumes: flushes.reduce((a, f) => a + f.resumed, 0),
        allFlushed: flushes.every((f) => f.ok),
      },
      projects,
      ok: projects.every((p) => p.match) && flushes.every((f) => f.ok) && batchesUnresolved === 0 && totalErrors === 0,
    };

    const f = (n: number, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
    console.log(`\n## Soak: ${LOAD_SECONDS} s, ${HOST_COUNT} hosts, ${PROJECT_COUNT} projects, receiver failing ${FAILURE_RATE * 100}% at random\n`);
    console.log("| figure | value |");
    console.log("|---|---:|");
    console.log(`| ingest requests offered / held per second | ${f(summary.config.offeredRequestsPerS)} / ${f(summary.ingest.heldRequestsPerS)} |`);
    console.log(`| samples accepted per second | ${f(summary.ingest.samplesAcceptedPerS, 0)} |`);
    console.log(`| seconds offering load / draining the last answers | ${f(loadSeconds)} / ${f(drainSeconds)} |`);
    console.log(`| batches sent / accepted / unresolved / skipped ticks | ${batchesSent} / ${batchesAccepted} / ${batchesUnresolved} / ${skippedTicks} |`);
    console.log(`| ingest latency p50 / p90 / p99 / max (ms) | ${f(summary.ingest.latencyMs.p50)} / ${f(summary.ingest.latencyMs.p90)} / ${f(summary.ingest.latencyMs.p99)} / ${f(summary.ingest.latencyMs.max)} |`);
    console.log(`| ingest errors (non-202, network, rejected samples) | ${totalErrors} |`);
    console.log(`| receiver requests / scripted failures | ${receiverRequests} / ${receiverFailures} (${f(summary.export.receiverFailureShare * 100)}%) |`);
    console.log(`| pushes succeeded / failed, retries | ${summary.export.pushesSucceeded} / ${summary.export.pushesFailed}, ${summary.export.retries} |`);
    console.log(`| final flush attempts / resumes | ${summary.export.flushAttempts} / ${summary.export.resumes} |`);
    console.log(`| projects whose exported totals equal accepted | ${projects.filter((p) => p.match).length} of ${PROJECT_COUNT} |`);
    console.log("\n| project | accepted runs (ok / err), cold starts | last exported runs (ok / err), cold starts | response-time histogram count | match |");
    console.log("|---|---:|---:|---:|---|");
    for (const p of projects) {
      console.log(
        `| ${p.projectId} | ${p.accepted.runs} (${p.accepted.successes} / ${p.accepted.errors}), ${p.accepted.coldstarts} | ` +
          `${p.exported.runs} (${p.exported.successes} / ${p.exported.errors}), ${p.exported.coldstarts} | ${p.exported.responseTimeCount} | ${p.match ? "yes" : "**NO**"} |`,
      );
    }
    if (errorsByKind.size > 0) {
      console.log("\nErrors:");
      for (const [kind, n] of errorsByKind) console.log(`- ${n} × ${kind}`);
    }
    console.log(`\nResult: ${summary.ok ? "PASS" : "FAIL"}`);
    mkdirSync(".tmp", { recursive: true });
    writeFileSync(RESULTS_PATH, JSON.stringify(summary, null, 2));
    console.log(`Summary written to ${RESULTS_PATH}`);
    if (!summary.ok) process.exitCode = 1;
  } finally {
    for (const host of hosts) host.agent.destroy();
    await worker.stop();
    await receiver.close();
  }
}

await main();
