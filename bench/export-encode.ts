/**
 * Build + encode one push for N apps (13 metrics each, 16 default bucket bounds):
 *   ours: aggregated-state-like objects → ExportBatch → encodeExportBatch;
 *   SDK:  the OpenTelemetry JS SDK holding the same state (MeterProvider, same instruments and
 *         observations) → reader.collect() → ProtobufMetricsSerializer.serializeRequest.
 * Targets (1,000 apps): ours < 50 ms and ≥ 3× the SDK (issue 5), ≥ 10× the SDK (issue 11); linear
 * up to 2,000 apps (ms per app at 2,000 within 25% of that at 1,000).
 *
 * Split: one batch of 1,000 and of 2,000 apps through src/export/encode-push.ts `encodeInChunks`
 * (what a push runs) with Datadog's 512,000-byte limit and with the 4 MiB default, against one
 * unsplit `encodeExportBatch` of the same batch, timed in alternation; target ≤ 1.1× (issue 11).
 * Every part is checked to be within its limit and byte-identical to encoding its series alone.
 *
 * Run with `node scripts/bench-export.mjs`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { ValueType, type Attributes } from "@opentelemetry/api";
import { ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import {
  COUNTERS,
  DEFAULT_HISTOGRAM_BOUNDS_MS,
  GAUGES,
  HISTOGRAMS,
  SCOPE_NAME,
  SCOPE_VERSION,
  SERVICE_NAME,
} from "../src/export/metric-definitions";
import { DATADOG_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, encodeInChunks } from "../src/export/encode-push";
import type { ExportBatch, ExportSeries, GaugeValues, HistogramValues } from "../src/export/model";
import { encodeExportBatch } from "../src/export/protobuf-encoder";
import { serializeJson, serializeProtobufWithSdk } from "../src/export/resource-metrics";
import { random } from "./load";

const APP_COUNTS = [100, 1_000, 2_000, 10_000];
const OBSERVATIONS_PER_HISTOGRAM = 25;
const TARGET_APPS = 1_000;
const TARGET_MS = 50;
const TARGET_SPEEDUP = 3;
/** Issue 11: the encoder stays at least this much faster than the SDK at TARGET_APPS. */
const TARGET_SPEEDUP_11 = 10;
/** "Linear up to 2,000": ms per app at LINEAR_TO apps at most this multiple of that at TARGET_APPS. */
const LINEAR_TO = 2_000;
const TARGET_LINEARITY = 1.25;
/** A split push costs at most this multiple of one unsplit encode. */
const SPLIT_APP_COUNTS = [1_000, 2_000];
const TARGET_SPLIT_RATIO = 1.1;
const RESULTS_PATH = ".tmp/bench-export.json";

type HistogramField = "execution" | "queue" | "coldstart" | "response";

/** Roughly what the Durable Object holds per app between pushes. */
interface AppState {
  projectId: string;
  appId: string;
  appName: string;
  region: string;
  gauges: GaugeValues;
  counters: { runs: number; successes: number; errors: number };
  countersStartMs: number;
  histogramsStartMs: number;
  histograms: Record<HistogramField, { counts: number[]; sum: number; count: number; min: number; max: number }>;
}


/** Log-normal-ish latency in ms around `medianMs`. */
function latency(next: () => number, medianMs: number): number {
  const gaussian = Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next());
  return Math.round(medianMs * Math.exp(gaussian) * 1000) / 1000;
}

interface Workload {
  apps: AppState[];
  /** Every histogram observation per app, per histogram: fed to the SDK as well. */
  observations: Record<HistogramField, number[]>[];
}

function makeWorkload(appCount: number, nowMs: number): Workload {
  const next = random(appCount);
  const bounds = DEFAULT_HISTOGRAM_BOUNDS_MS;
  const medians: Record<HistogramField, number> = { execution: 800, queue: 40, coldstart: 4_000, response: 900 };
  const apps: AppState[] = [];
  const observations: Record<HistogramField, number[]>[] = [];
  for (let i = 0; i < appCount; i++) {
    const appObservations = {} as Record<HistogramField, number[]>;
    const histograms = {} as AppState["histograms"];
    for (const { field } of HISTOGRAMS) {
      const values = Array.from({ length: OBSERVATIONS_PER_HISTOGRAM }, () => latency(next, medians[field]));
      appObservations[field] = values;
      const counts = new Array<number>(bounds.length + 1).fill(0);
      for (const value of values) {
        let b = 0;
        while (b < bounds.length && value > bounds[b]!) b++;
        counts[b]!++;
      }
      histograms[field] = {
        counts,
        sum: values.reduce((a, v) => a + v, 0),
        count: values.length,
        min: Math.min(...values),
        max: Math.max(...values),
      };
    }
    const runs = OBSERVATIONS_PER_HISTOGRAM;
    const errors = Math.floor(next() * 3);
    observations.push(appObservations);
    apps.push({
      projectId: `p-${(i % 20).toString().padStart(4, "0")}-7f3a9c2e`,
      appId: `p-${(i % 20).toString().padStart(4, "0")}-7f3a9c2e-app-${i}`,
      appName: `app-${i}-${["llama-3-70b", "whisper-large", "sdxl-turbo", "embeddings"][i % 4]}`,
      region: ["us-east-1", "eu-north-1", "ap-south-1"][i % 3]!,
      gauges: {
        cpuCores: Math.round(next() * 1600) / 100,
        memoryBytes: Math.floor(next() * 64 * 2 ** 30),
        gpuMemoryBytes: Math.floor(next() * 80 * 2 ** 30),
        gpuComputePercent: Math.round(next() * 10000) / 100,
        containersRunning: 1 + Math.floor(next() * 8),
        containersReady: Math.floor(next() * 8),
      },
      counters: { runs, successes: runs - errors, errors },
      countersStartMs: nowMs - 3_600_000,
      histogramsStartMs: nowMs - 3_600_000,
      histograms,
    });
  }
  return { apps, observations };
}

function toHistogramValues(state: AppState["histograms"][HistogramField]): HistogramValues {
  return { count: state.count, sum: state.sum, min: state.min, max: state.max, bucketCounts: state.counts.slice() };
}

/** What the exporter does at push time: state → ExportBatch (copying what it reads). */
function buildBatch(apps: AppState[], timeMs: number): ExportBatch {
  const series: ExportSeries[] = new Array(apps.length);
  for (let i = 0; i < apps.length; i++) {
    const app = apps[i]!;
    series[i] = {
      projectId: app.projectId,
      appId: app.appId,
      appName: app.appName,
      region: app.region,
      gauges: { ...app.gauges },
      countersStartMs: app.countersStartMs,
      runs: app.counters.runs,
      successes: app.counters.successes,
      errors: app.counters.errors,
      histogramsStartMs: app.histogramsStartMs,
      execution: toHistogramValues(app.histograms.execution),
      queue: toHistogramValues(app.histograms.queue),
      coldstart: toHistogramValues(app.histograms.coldstart),
      response: toHistogramValues(app.histograms.response),
    };
  }
  return { timeMs, temporality: "cumulative", bounds: [...DEFAULT_HISTOGRAM_BOUNDS_MS], series };
}

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** The SDK holding the same state: instruments fed the same observations. */
function makeSdk(workload: Workload): { reader: CollectingReader; provider: MeterProvider } {
  const reader = new CollectingReader({ cardinalitySelector: () => 2 * workload.apps.length + 10 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": SERVICE_NAME }),
    readers: [reader],
  });
  const meter = provider.getMeter(SCOPE_NAME, SCOPE_VERSION);
  const attributes: Attributes[] = workload.apps.map((app) => ({
    project_id: app.projectId,
    app_id: app.appId,
    app_name: app.appName,
    region: app.region,
  }));
  for (const definition of GAUGES) {
    const gauge = meter.createObservableGauge(definition.name, {
      description: definition.description,
      unit: definition.unit,
      valueType: ValueType.DOUBLE,
    });
    gauge.addCallback((result) => {
      workload.apps.forEach((app, i) => result.observe(app.gauges[definition.field], attributes[i]));
    });
  }
  for (const definition of HISTOGRAMS) {
    const histogram = meter.createHistogram(definition.name, {
      description: definition.description,
      unit: definition.unit,
      advice: { explicitBucketBoundaries: [...DEFAULT_HISTOGRAM_BOUNDS_MS] },
    });
    workload.observations.forEach((byField, i) => {
      for (const value of byField[definition.field]) histogram.record(value, attributes[i]);
    });
  }
  for (const definition of COUNTERS) {
    const counter = meter.createCounter(definition.name, {
      description: definition.description,
      unit: definition.unit,
      valueType: ValueType.INT,
    });
    workload.apps.forEach((app, i) => counter.add(app.counters[definition.field], attributes[i]));
  }
  return { reader, provider };
}

async function medianMs(runs: number, body: () => unknown): Promise<number> {
  const warmups = Math.max(3, Math.ceil(runs / 4));
  for (let i = 0; i < warmups; i++) await body();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function collectResourceMetrics(reader: CollectingReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new Error(`SDK collect failed: ${String(errors[0])}`);
  return resourceMetrics;
}

function dataPointCount(resourceMetrics: ResourceMetrics): number {
  return resourceMetrics.scopeMetrics.reduce(
    (sum, scope) => sum + scope.metrics.reduce((s, metric) => s + metric.dataPoints.length, 0),
    0,
  );
}

interface Row {
  apps: number;
  dataPoints: number;
  oursBuildEncodeMs: number;
  oursEncodeMs: number;
  sdkCollectSerializeMs: number;
  sdkSerializeMs: number;
  sdkSerializerOnOurBatchMs: number;
  speedupVsSdk: number;
  speedupVsSdkSerializerOnly: number;
  oursBytes: number;
  oursGzipBytes: number;
  sdkBytes: number;
  sdkGzipBytes: number;
}

async function measure(appCount: number): Promise<Row> {
  const nowMs = Date.UTC(2026, 10, 26, 12, 0, 0);
  const workload = makeWorkload(appCount, nowMs);
  const { reader, provider } = makeSdk(workload);
  const runs = appCount <= 100 ? 400 : appCount <= 1_000 ? 60 : appCount <= 2_000 ? 30 : 12;

  const batch = buildBatch(workload.apps, nowMs);
  const ours = encodeExportBatch(batch);
  const reference = serializeProtobufWithSdk(batch);
  if (ours.length !== reference.length || !ours.every((byte, i) => byte === reference[i])) {
    throw new Error(`encodeExportBatch differs from the SDK serializer at ${appCount} apps`);
  }
  const collected = await collectResourceMetrics(reader);
  const sdkBytes = ProtobufMetricsSerializer.serializeRequest(collected)!;

  const oursBuildEncodeMs = await medianMs(runs, () => encodeExportBatch(buildBatch(workload.apps, nowMs)));
  const oursEncodeMs = await medianMs(runs, () => encodeExportBatch(batch));
  const sdkCollectSerializeMs = await medianMs(runs, async () =>
    ProtobufMetricsSerializer.serializeRequest(await collectResourceMetrics(reader)),
  );
  const sdkSerializeMs = await medianMs(runs, () => ProtobufMetricsSerializer.serializeRequest(collected));
  const sdkSerializerOnOurBatchMs = await medianMs(runs, () => serializeProtobufWithSdk(batch));
  await provider.shutdown();

  return {
    apps: appCount,
    dataPoints: dataPointCount(collected),
    oursBuildEncodeMs,
    oursEncodeMs,
    sdkCollectSerializeMs,
    sdkSerializeMs,
    sdkSerializerOnOurBatchMs,
    speedupVsSdk: sdkCollectSerializeMs / oursBuildEncodeMs,
    speedupVsSdkSerializerOnly: sdkSerializeMs / oursBuildEncodeMs,
    oursBytes: ours.length,
    oursGzipBytes: gzipSync(ours).length,
    sdkBytes: sdkBytes.length,
    sdkGzipBytes: gzipSync(sdkBytes).length,
  };
}

function payloadSizes(appCount: number) {
  const nowMs = Date.UTC(2026, 10, 26, 12, 0, 0);
  const batch = buildBatch(makeWorkload(appCount, nowMs).apps, nowMs);
  const protobuf = encodeExportBatch(batch);
  const json = serializeJson(batch);
  return {
    apps: appCount,
    protobufBytes: protobuf.length,
    protobufGzipBytes: gzipSync(protobuf).length,
    jsonBytes: json.length,
    jsonGzipBytes: gzipSync(json).length,
  };
}

interface SplitRow {
  apps: number;
  bytes: number;
  /** One encodeExportBatch of the whole batch. */
  unsplitMs: number;
  /** encodeInChunks at Datadog's 512,000 bytes / at the 4 MiB default: time, parts, ratio to unsplit. */
  datadogMs: number;
  datadogParts: number;
  datadogRatio: number;
  defaultMs: number;
  defaultParts: number;
  defaultRatio: number;
}

/** The parts are within the limit, carry every point once, and are what encoding their series alone gives. */
function checkParts(batch: ExportBatch, limit: number): number {
  const chunks = encodeInChunks(batch, "http/protobuf", limit);
  let series = 0;
  for (const chunk of chunks) {
    if (chunk.body.length > limit && chunk.keys.length > 1) throw new Error(`a part of ${chunk.body.length} bytes exceeds ${limit}`);
    const alone = encodeExportBatch({ ...batch, series: chunk.series });
    if (alone.length !== chunk.body.length || !alone.every((byte, i) => byte === chunk.body[i])) {
      throw new Error(`a part written from its range differs from encoding its series alone (${batch.series.length} series, limit ${limit})`);
    }
    series += chunk.series.length;
  }
  if (series !== batch.series.length) throw new Error(`the parts carry ${series} of ${batch.series.length} series`);
  return chunks.length;
}

/** Medians of several bodies timed in alternation (each iteration runs every body once, in turn). */
function alternatingMedians(runs: number, bodies: Record<string, () => unknown>): Record<string, number> {
  const names = Object.keys(bodies);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const warmups = Math.max(3, Math.ceil(runs / 4));
  for (let i = 0; i < warmups + runs; i++) {
    for (const name of names) {
      const start = performance.now();
      bodies[name]!();
      if (i >= warmups) times[name]!.push(performance.now() - start);
    }
  }
  return Object.fromEntries(names.map((n) => [n, times[n]!.sort((a, b) => a - b)[Math.floor(runs / 2)]!]));
}

function measureSplit(appCount: number): SplitRow {
  const nowMs = Date.UTC(2026, 10, 26, 12, 0, 0);
  const batch = buildBatch(makeWorkload(appCount, nowMs).apps, nowMs);
  const datadogParts = checkParts(batch, DATADOG_MAX_BODY_BYTES);
  const defaultParts = checkParts(batch, DEFAULT_MAX_BODY_BYTES);
  const runs = appCount <= 1_000 ? 60 : 30;
  const m = alternatingMedians(runs, {
    unsplit: () => encodeExportBatch(batch),
    datadog: () => encodeInChunks(batch, "http/protobuf", DATADOG_MAX_BODY_BYTES),
    default: () => encodeInChunks(batch, "http/protobuf", DEFAULT_MAX_BODY_BYTES),
  });
  return {
    apps: appCount,
    bytes: encodeExportBatch(batch).length,
    unsplitMs: m.unsplit!,
    datadogMs: m.datadog!,
    datadogParts,
    datadogRatio: m.datadog! / m.unsplit!,
    defaultMs: m.default!,
    defaultParts,
    defaultRatio: m.default! / m.unsplit!,
  };
}

const fixed = (n: number, digits = 2) => n.toFixed(digits);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

const rows: Row[] = [];
for (const appCount of APP_COUNTS) rows.push(await measure(appCount));
const payload = payloadSizes(TARGET_APPS);
const split = SPLIT_APP_COUNTS.map(measureSplit);

console.log(`\n## Export build + encode (median ms; Node ${process.version})\n`);
console.log(
  "| apps | points | ours build+encode | ours encode only | SDK collect+serialize | SDK serialize only | SDK serializer on our batch | ours × faster (vs SDK / vs serializer only) | protobuf (ours = SDK) | gzip ours / SDK |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.apps} | ${r.dataPoints} | ${fixed(r.oursBuildEncodeMs)} | ${fixed(r.oursEncodeMs)} | ${fixed(r.sdkCollectSerializeMs)} | ${fixed(r.sdkSerializeMs)} | ${fixed(r.sdkSerializerOnOurBatchMs)} | ${fixed(r.speedupVsSdk, 1)}× / ${fixed(r.speedupVsSdkSerializerOnly, 1)}× | ${kib(r.oursBytes)} / ${kib(r.sdkBytes)} | ${kib(r.oursGzipBytes)} / ${kib(r.sdkGzipBytes)} |`,
  );
}
console.log(`\n## Payload for ${payload.apps} apps\n`);
console.log("| encoding | raw | gzip |");
console.log("|---|---:|---:|");
console.log(`| protobuf | ${kib(payload.protobufBytes)} | ${kib(payload.protobufGzipBytes)} |`);
console.log(`| JSON | ${kib(payload.jsonBytes)} | ${kib(payload.jsonGzipBytes)} |`);

console.log(`\n## Split push: encodeInChunks vs one unsplit encode (median ms, alternating)\n`);
console.log("| apps | protobuf | unsplit encode | 512,000 B limit (parts) | ratio | 4 MiB limit (parts) | ratio |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const r of split) {
  console.log(
    `| ${r.apps} | ${kib(r.bytes)} | ${fixed(r.unsplitMs)} | ${fixed(r.datadogMs)} (${r.datadogParts}) | ${fixed(r.datadogRatio)}× | ${fixed(r.defaultMs)} (${r.defaultParts}) | ${fixed(r.defaultRatio)}× |`,
  );
}

const target = rows.find((r) => r.apps === TARGET_APPS)!;
const linearTo = rows.find((r) => r.apps === LINEAR_TO)!;
const linearity = linearTo.oursBuildEncodeMs / linearTo.apps / (target.oursBuildEncodeMs / target.apps);
const worstSplit = Math.max(...split.flatMap((r) => [r.datadogRatio, r.defaultRatio]));
const targets = {
  issue5: { met: target.oursBuildEncodeMs < TARGET_MS && target.speedupVsSdk >= TARGET_SPEEDUP, ms: target.oursBuildEncodeMs, speedup: target.speedupVsSdk },
  speedup: { target: TARGET_SPEEDUP_11, value: target.speedupVsSdk, met: target.speedupVsSdk >= TARGET_SPEEDUP_11 },
  linearity: { target: TARGET_LINEARITY, from: TARGET_APPS, to: LINEAR_TO, value: linearity, met: linearity <= TARGET_LINEARITY },
  split: { target: TARGET_SPLIT_RATIO, worst: worstSplit, met: worstSplit <= TARGET_SPLIT_RATIO },
};
const met = Object.values(targets).every((t) => t.met);
const word = (ok: boolean) => (ok ? "met" : "MISSED");
console.log(
  `\nTargets at ${TARGET_APPS} apps: < ${TARGET_MS} ms and ≥ ${TARGET_SPEEDUP}× the SDK ${word(targets.issue5.met)} ` +
    `(${fixed(target.oursBuildEncodeMs)} ms, ${fixed(target.speedupVsSdk, 1)}×); ≥ ${TARGET_SPEEDUP_11}× the SDK ${word(targets.speedup.met)}. ` +
    `Linear to ${LINEAR_TO}: ms per app ${fixed(linearity)}× that at ${TARGET_APPS} (≤ ${TARGET_LINEARITY}×) ${word(targets.linearity.met)}. ` +
    `Split ≤ ${TARGET_SPLIT_RATIO}× one encode: worst ${fixed(worstSplit)}× ${word(targets.split.met)}.`,
);

mkdirSync(".tmp", { recursive: true });
writeFileSync(
  RESULTS_PATH,
  JSON.stringify({ node: process.version, observationsPerHistogram: OBSERVATIONS_PER_HISTOGRAM, rows, split, payload, targets, targetMet: met }, null, 2),
);
console.log(`Results written to ${RESULTS_PATH}`);
if (!met) process.exitCode = 1;
