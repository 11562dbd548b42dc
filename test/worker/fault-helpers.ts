/**
 * Pieces of the fault tests (faults.test.ts): a project exporting to the test receiver, hosts
 * posting runs, a ledger of every accepted run, and the same totals read back from what the
 * receiver got. The ledger's bucket arithmetic is written here from the OTLP rule, independently
 * of src/aggregation, so the two cannot share a mistake.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { IDLE_HOUSEKEEPING_MS } from "../../durable-objects/project-exporter";
import {
  findMetric,
  histogramValue,
  newNamespace,
  numberValue,
  receiverUrl,
  requestCount,
  type DecodedMetricsRequest,
  type RecordedRequest,
} from "../receiver/client";
import { call, createIngestKey, createProject, projectStub, type ApiResponse } from "./helpers";

/** The documented default bucket bounds (README, `histogram_bounds_ms`). */
export const DEFAULT_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000];

export const HISTOGRAMS = {
  execution: "cerebrium_run_execution_time_ms",
  queue: "cerebrium_run_queue_time_ms",
  coldstart: "cerebrium_run_coldstart_time_ms",
  response: "cerebrium_run_response_time_ms",
} as const;
type HistogramName = keyof typeof HISTOGRAMS;

export interface Run {
  app: string;
  region: string;
  execution_ms: number;
  queue_ms: number;
  response_ms: number;
  coldstart_ms?: number;
  success: boolean;
}

export interface HistogramTotals {
  count: number;
  sum: number;
  bucketCounts: number[];
}

export interface SeriesTotals {
  runs: number;
  successes: number;
  errors: number;
  histograms: Record<HistogramName, HistogramTotals>;
}

/** Totals per series, keyed "app/region". */
export type Totals = Record<string, SeriesTotals>;

const emptyHistogram = (): HistogramTotals => ({ count: 0, sum: 0, bucketCounts: new Array(DEFAULT_BOUNDS_MS.length + 1).fill(0) });
const emptySeries = (): SeriesTotals => ({
  runs: 0,
  successes: 0,
  errors: 0,
  histograms: { execution: emptyHistogram(), queue: emptyHistogram(), coldstart: emptyHistogram(), response: emptyHistogram() },
});

/** OTLP explicit buckets: bucket i counts bounds[i-1] < v <= bounds[i]; the last one v > every bound. */
function bucketOf(value: number): number {
  const i = DEFAULT_BOUNDS_MS.findIndex((bound) => value <= bound);
  return i === -1 ? DEFAULT_BOUNDS_MS.length : i;
}

function observe(h: HistogramTotals, value: number): void {
  h.count += 1;
  h.sum += value;
  h.bucketCounts[bucketOf(value)]! += 1;
}

/** Everything accepted (202) so far, as the exported totals should show it. */
export class Ledger {
  readonly totals: Totals = {};

  add(runs: readonly Run[]): void {
    for (const r of runs) {
      const s = (this.totals[`${r.app}/${r.region}`] ??= emptySeries());
      s.runs += 1;
      if (r.success) s.successes += 1;
      else s.errors += 1;
      observe(s.histograms.execution, r.execution_ms);
      observe(s.histograms.queue, r.queue_ms);
      observe(s.histograms.response, r.response_ms);
      if (r.coldstart_ms !== undefined) observe(s.histograms.coldstart, r.coldstart_ms);
    }
  }
}

/** One counter or histogram data point, as a receiver sees it. */
interface PointReading {
  metric: string;
  series: string;
  timeNanos: string;
  value: number | HistogramTotals;
}

const COUNTERS = { runs: "cerebrium_run_total", successes: "cerebrium_run_successes_total", errors: "cerebrium_run_errors_total" } as const;

/** Every run counter and histogram point of a request (a delta push may carry several per series). */
function pointsIn(request: RecordedRequest | DecodedMetricsRequest): PointReading[] {
  const out: PointReading[] = [];
  for (const metric of [...Object.values(COUNTERS), ...Object.values(HISTOGRAMS)]) {
    const found = findMetric(request, metric);
    const points = found?.sum?.dataPoints ?? found?.histogram?.dataPoints ?? [];
    for (const point of points) {
      const attribute = (k: string) => point.attributes?.find((a) => a.key === k)?.value?.stringValue ?? "";
      const series = `${attribute("app_name")}/${attribute("region")}`;
      const timeNanos = String(point.timeUnixNano ?? "");
      if (found?.sum) {
        const p = point as { asInt?: number | string; asDouble?: number };
        out.push({ metric, series, timeNanos, value: Number(p.asInt ?? p.asDouble ?? 0) });
      } else {
        const h = point as { count?: number | string; sum?: number; bucketCounts?: (number | string)[] };
        out.push({ metric, series, timeNanos, value: { count: Number(h.count ?? 0), sum: h.sum ?? 0, bucketCounts: (h.bucketCounts ?? []).map(Number) } });
      }
    }
  }
  return out;
}

function addPoint(out: Totals, p: PointReading): void {
  const s = (out[p.series] ??= emptySeries());
  const counter = (Object.entries(COUNTERS) as [keyof typeof COUNTERS, string][]).find(([, name]) => name === p.metric)?.[0];
  if (counter) {
    s[counter] += p.value as number;
    return;
  }
  const name = (Object.entries(HISTOGRAMS) as [HistogramName, string][]).find(([, n]) => n === p.metric)![0];
  const from = p.value as HistogramTotals;
  const into = s.histograms[name];
  into.count += from.count;
  into.sum += from.sum;
  from.bucketCounts.forEach((c, i) => (into.bucketCounts[i]! += c));
}

function withoutEmpty(out: Totals): Totals {
  for (const [key, s] of Object.entries(out)) if (s.runs === 0) delete out[key];
  return out;
}

/** The run totals of every series one OTLP request (recorded, or a preview body) carries. */
export function totalsIn(request: RecordedRequest | DecodedMetricsRequest): Totals {
  return sumOf([request]);
}

/** Delta points of several requests added up (a summing receiver); series that only ever carried zeros are left out. */
export function sumOf(requests: readonly (RecordedRequest | DecodedMetricsRequest)[]): Totals {
  const out: Totals = {};
  for (const request of requests) for (const p of pointsIn(request)) addPoint(out, p);
  return withoutEmpty(out);
}

/**
 * Delta points as a last-write-wins receiver keeps them (Datadog: the last write per timestamp and
 * tags), then added up: a point sent again with the same end time replaces the first copy.
 */
export function lastWriteWins(requests: readonly (RecordedRequest | DecodedMetricsRequest)[]): Totals {
  const kept = new Map<string, PointReading>();
  for (const request of requests) for (const p of pointsIn(request)) kept.set(`${p.metric}|${p.series}|${p.timeNanos}`, p);
  const out: Totals = {};
  for (const p of kept.values()) addPoint(out, p);
  return withoutEmpty(out);
}

/** True when every number in `part` is at most its counterpart in `whole` (delta: at most once). */
export function isWithin(part: Totals, whole: Totals): boolean {
  return Object.entries(part).every(([key, p]) => {
    const w = whole[key];
    if (!w) return false;
    const hist = (Object.keys(HISTOGRAMS) as HistogramName[]).every((n) => {
      const a = p.histograms[n];
      const b = w.histograms[n];
      return a.count <= b.count && a.sum <= b.sum && a.bucketCounts.every((c, i) => c <= b.bucketCounts[i]!);
    });
    return p.runs <= w.runs && p.successes <= w.successes && p.errors <= w.errors && hist;
  });
}

/** mulberry32: a seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Whole and half milliseconds only (exact in binary), spread over every bucket including the last.
const DURATIONS_MS = [0, 1, 4.5, 5, 7, 10, 12.5, 30, 50, 75, 100, 180, 250, 400, 900, 1000, 2000, 4000, 9000, 20000, 45000, 90000, 200000, 450000, 600000, 900000];
export const SERIES = [
  { app: "my-model", region: "us-east-1" },
  { app: "llm-7b", region: "eu-west-1" },
  { app: "whisper", region: "us-east-1" },
];

export function randomRuns(random: () => number, n: number, series = SERIES): Run[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const s = pick(series);
    const run: Run = {
      app: s.app,
      region: s.region,
      execution_ms: pick(DURATIONS_MS),
      queue_ms: pick(DURATIONS_MS),
      response_ms: pick(DURATIONS_MS),
      success: random() < 0.8,
    };
    if (random() < 0.3) run.coldstart_ms = pick(DURATIONS_MS);
    return run;
  });
}

export interface Host {
  hostId: string;
  key: string;
}

export async function newHost(hostId = `host-${crypto.randomUUID().slice(0, 12)}`): Promise<Host> {
  return { hostId, key: (await createIngestKey(hostId)).key };
}

export function samplesBody(projectId: string, host: Host, batchId: string, runs: readonly Run[]) {
  const time = Date.now();
  return {
    host_id: host.hostId,
    batch_id: batchId,
    samples: runs.map((r) => {
      const { app, region, ...values } = r;
      return { type: "run", project_id: projectId, app_name: app, region, time, ...values };
    }),
  };
}

/** A project whose export points at its own receiver namespace, and one host posting to it. */
export async function exportingProject(config: Record<string, unknown> = {}) {
  const projectId = await createProject();
  const ns = newNamespace();
  const host = await newHost();
  const put = await call("PUT", `/v1/projects/${projectId}/metrics-export`, {
    body: { endpoint: receiverUrl(ns), headers: [{ name: "Authorization", value: "Bearer s3cret-token-value" }], ...config },
  });
  if (put.status !== 200) throw new Error(`export PUT: ${put.status} ${put.text}`);
  const ledger = new Ledger();
  /** Posts one batch; the ledger takes its runs only when it answers 202 with nothing rejected. */
  const post = async (runs: readonly Run[], from: Host = host, batchId = crypto.randomUUID()): Promise<ApiResponse> => {
    const r = await call("POST", "/v1/samples", { token: from.key, body: samplesBody(projectId, from, batchId, runs) });
    if (r.status === 202 && r.body.rejected.length === 0 && !r.body.duplicate) ledger.add(runs);
    return r;
  };
  return {
    projectId,
    ns,
    host,
    ledger,
    post,
    flush: () => call("POST", `/v1/projects/${projectId}/metrics-export/flush`),
    exportView: async () => (await call("GET", `/v1/projects/${projectId}/metrics-export`)).body,
    resume: () => call("POST", `/v1/projects/${projectId}/metrics-export/resume`),
  };
}

/** Makes the stored push slot due and runs the object's alarm, as the platform would at that time. */
export async function pushFromAlarm(projectId: string): Promise<boolean> {
  const stub = projectStub(projectId);
  await runInDurableObject(stub, (_i, state) => {
    state.storage.sql.exec("UPDATE export_status SET next_push_at = ?", Date.now() - 1);
  });
  return runDurableObjectAlarm(stub);
}

export function alarmAt(projectId: string): Promise<number | null> {
  return runInDurableObject(projectStub(projectId), (_i, state) => state.storage.getAlarm());
}

/**
 * The alarm when it is a push (it equals the status' next_push_at), else null. While nothing is
 * pushed (disabled, paused) the object may still hold an idle housekeeping alarm, at least
 * IDLE_HOUSEKEEPING_MS after the last housekeeping; this checks that it is not sooner.
 */
export async function scheduledPushAt(projectId: string): Promise<number | null> {
  const alarm = await alarmAt(projectId);
  const view = await call("GET", `/v1/projects/${projectId}/metrics-export`);
  const next = view.body.status.next_push_at as string | null;
  if (alarm !== null && next !== null && alarm === Date.parse(next)) return alarm;
  if (alarm !== null) expect(alarm).toBeGreaterThan(Date.now() + IDLE_HOUSEKEEPING_MS - 10 * 60_000);
  return null;
}

/** Polls the receiver until the namespace has seen `n` requests. */
export async function waitForRequests(ns: string, n: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await requestCount(ns)) < n) {
    if (Date.now() > deadline) throw new Error(`receiver saw fewer than ${n} requests within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
