import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { dataPointCount } from "../../src/export/encode-push";
import { compileFilters } from "../../src/export/filters";
import { DEFAULT_HISTOGRAM_BOUNDS_MS, METRICS, type MetricDefinition } from "../../src/export/metric-definitions";
import type { ExportBatch, ExportSeries, HistogramValues } from "../../src/export/model";
import { encodeExportBatch, ProtobufBatch } from "../../src/export/protobuf-encoder";
import { serializeJson, serializeProtobufWithSdk } from "../../src/export/resource-metrics";

const NOW_MS = Date.UTC(2026, 10, 26, 12, 0, 0);
const DEFAULT_BOUNDS = [...DEFAULT_HISTOGRAM_BOUNDS_MS];

function histogram(seed: number, bucketCount: number, withMinMax = true): HistogramValues {
  const bucketCounts = Array.from({ length: bucketCount }, (_, i) => (seed * 31 + i * 7) % 11);
  const count = bucketCounts.reduce((sum, n) => sum + n, 0);
  const values: HistogramValues = { count, sum: count * 123.456 + seed, bucketCounts };
  if (withMinMax && count > 0) {
    values.min = 0.5 + seed;
    values.max = 654_321.25 + seed;
  }
  return values;
}

function series(i: number, options: { gauges?: boolean; bounds?: number[]; minMax?: boolean } = {}): ExportSeries {
  const buckets = (options.bounds ?? DEFAULT_BOUNDS).length + 1;
  const minMax = options.minMax ?? true;
  const s: ExportSeries = {
    projectId: `proj-${i % 7}`,
    appId: `proj-${i % 7}-app-${i}`,
    appName: `app-${i}`,
    region: ["us-east-1", "eu-north-1", "ap-south-1"][i % 3]!,
    countersStartMs: NOW_MS - 3_600_000 - i,
    runs: 100 + i,
    successes: 90 + i,
    errors: 10,
    histogramsStartMs: NOW_MS - 1_800_000 + i,
    execution: histogram(i, buckets, minMax),
    queue: histogram(i + 1, buckets, minMax),
    coldstart: histogram(i + 2, buckets, minMax),
    response: histogram(i + 3, buckets, minMax),
  };
  if (options.gauges ?? true) {
    s.gauges = {
      cpuCores: 1.25 + i / 100,
      memoryBytes: 2_147_483_648 + i,
      gpuMemoryBytes: 42_949_672_960,
      gpuComputePercent: 37.5,
      containersRunning: 3,
      containersReady: 2,
    };
  }
  return s;
}

function batch(seriesList: ExportSeries[], overrides: Partial<ExportBatch> = {}): ExportBatch {
  return { timeMs: NOW_MS, temporality: "cumulative", bounds: DEFAULT_BOUNDS, series: seriesList, ...overrides };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Byte equality with a readable failure: the first differing offset and the bytes around it. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let first = 0;
  while (first < actual.length && first < expected.length && actual[first] === expected[first]) first++;
  if (first === actual.length && first === expected.length) return;
  const around = (bytes: Uint8Array) => hex(bytes.subarray(Math.max(0, first - 16), first + 16));
  expect({ length: actual.length, firstDifference: first, around: around(actual) }).toEqual({
    length: expected.length,
    firstDifference: first,
    around: around(expected),
  });
}

const long = (prefix: string, length: number) => prefix + "x".repeat(length - prefix.length);

describe("encodeExportBatch is byte-identical to the OpenTelemetry SDK serializer", () => {
  const cases: [string, ExportBatch][] = [
    ["an empty batch (Test Connection)", batch([])],
    ["one series", batch([series(0)])],
    ["1,000 series", batch(Array.from({ length: 1000 }, (_, i) => series(i)))],
    ["series without gauges only (gauge metrics left out)", batch([series(0, { gauges: false }), series(1, { gauges: false })])],
    ["a mix of series with and without gauges", batch(Array.from({ length: 10 }, (_, i) => series(i, { gauges: i % 3 !== 0 })))],
    ["delta without min/max", batch([series(0, { minMax: false }), series(1, { minMax: false })], { temporality: "delta" })],
    [
      "zero-count histograms and zero counters",
      batch([
        {
          ...series(0),
          runs: 0,
          successes: 0,
          errors: 0,
          execution: { count: 0, sum: 0, bucketCounts: new Array(17).fill(0) },
          queue: { count: 0, sum: 0, bucketCounts: new Array(17).fill(0) },
          coldstart: { count: 0, sum: 0, bucketCounts: new Array(17).fill(0) },
          response: { count: 0, sum: 0, bucketCounts: new Array(17).fill(0) },
        },
      ]),
    ],
    [
      "integers beyond 32 bits",
      batch([
        {
          ...series(0),
          runs: 42_949_672_960,
          successes: 2 ** 53 - 1,
          errors: 4_294_967_296,
          execution: { count: 42_949_672_960, sum: 1e15, min: 0, max: 1e12, bucketCounts: [...new Array(16).fill(0), 42_949_672_960] },
        },
      ]),
    ],
    [
      "fractional doubles",
      batch([
        {
          ...series(0),
          gauges: {
            cpuCores: 0.1 + 0.2,
            memoryBytes: 1 / 3,
            gpuMemoryBytes: 5e-324,
            gpuComputePercent: 99.99999999999999,
            containersRunning: 1.5,
            containersReady: -0,
          },
          execution: { count: 3, sum: 0.30000000000000004, min: 1e-9, max: 123_456.789, bucketCounts: [1, 2, ...new Array(15).fill(0)] },
        },
      ]),
    ],
    [
      "long names (multi-byte length prefixes)",
      batch([
        {
          ...series(0),
          projectId: long("project-", 200),
          appId: long("app-id-", 5_000),
          appName: long("app-name-", 129),
          region: long("region-", 127),
        },
      ]),
    ],
    ["one bucket bound", batch([series(0, { bounds: [100] }), series(1, { bounds: [100] })], { bounds: [100] })],
    [
      "64 bucket bounds",
      batch([series(0, { bounds: Array.from({ length: 64 }, (_, i) => 2 ** (i / 4)) })], {
        bounds: Array.from({ length: 64 }, (_, i) => 2 ** (i / 4)),
      }),
    ],
    ["no bucket bounds (one bucket)", batch([series(0, { bounds: [] })], { bounds: [] })],
    [
      "fractional, old and far-future timestamps",
      batch(
        [
          { ...series(0), countersStartMs: 0, histogramsStartMs: 1.5 },
          { ...series(1), countersStartMs: 999.9999999, histogramsStartMs: 4_102_444_800_000.25 },
          { ...series(2), countersStartMs: 2 ** 32 * 1000 - 1, histogramsStartMs: 1_764_158_400_123.456 },
        ],
        { timeMs: 1_764_158_400_123.999 },
      ),
    ],
    [
      "non-ASCII attribute values, including a lone surrogate",
      batch([{ ...series(0), appName: "modèle-日本語-🚀", region: "zürich", projectId: "bad-\ud800-surrogate" }]),
    ],
    ["negative counter values (two's complement, as the SDK writes them)", batch([{ ...series(0), runs: -1, errors: -42_949_672_960 }])],
  ];

  it.each(cases)("%s", (_name, input) => {
    expectSameBytes(encodeExportBatch(input), serializeProtobufWithSdk(input));
  });

  it("matches on many randomised batches", () => {
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    for (let round = 0; round < 50; round++) {
      const bounds = Array.from({ length: Math.floor(next() * 20) }, (_, i) => (i + 1) * Math.ceil(next() * 100));
      const seriesList = Array.from({ length: Math.floor(next() * 20) }, (_, i) => ({
        ...series(i, { bounds, gauges: next() > 0.3, minMax: next() > 0.5 }),
        runs: Math.floor(next() * 2 ** 40),
        countersStartMs: Math.floor(next() * 2e12),
        histogramsStartMs: next() * 2e12,
      }));
      const input = batch(seriesList, {
        bounds,
        timeMs: 1.7e12 + next() * 1e11,
        temporality: next() > 0.5 ? "delta" : "cumulative",
      });
      expectSameBytes(encodeExportBatch(input), serializeProtobufWithSdk(input));
    }
  });
});

const root = new protobuf.Root().loadSync(
  ["common.proto", "resource.proto", "metrics.proto", "metrics_service.proto"].map(
    (file) => new URL(`../receiver/otlp/${file}`, import.meta.url).pathname,
  ),
);
const Request = root.lookupType("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest");
const decode = (bytes: Uint8Array) =>
  Request.toObject(Request.decode(bytes), { longs: String, enums: Number, defaults: false }) as {
    resourceMetrics: { scopeMetrics: { metrics: Record<string, any>[] }[] }[];
  };

describe("encodeExportBatch output read by an independent decoder (test/receiver/otlp/*.proto)", () => {
  it("keeps 64-bit counts, exact nanosecond times and every attribute", () => {
    const input = batch(
      [
        {
          ...series(0, { minMax: false }),
          appName: "modèle-日本語-🚀",
          runs: 42_949_672_960,
          countersStartMs: 1_764_158_400_123,
          execution: { count: 42_949_672_961, sum: 2.5, bucketCounts: [...new Array(16).fill(0), 42_949_672_961] },
        },
      ],
      { timeMs: 1_764_158_460_789, temporality: "delta" },
    );
    const metrics = decode(encodeExportBatch(input)).resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    const runs = metrics.find((m) => m.name === "cerebrium_run_total")!;
    expect(runs.sum).toEqual({
      dataPoints: [
        {
          startTimeUnixNano: "1764158400123000000",
          timeUnixNano: "1764158460789000000",
          asInt: "42949672960",
          attributes: [
            { key: "project_id", value: { stringValue: "proj-0" } },
            { key: "app_id", value: { stringValue: "proj-0-app-0" } },
            { key: "app_name", value: { stringValue: "modèle-日本語-🚀" } },
            { key: "region", value: { stringValue: "us-east-1" } },
          ],
        },
      ],
      aggregationTemporality: 1,
      isMonotonic: true,
    });
    const execution = metrics.find((m) => m.name === "cerebrium_run_execution_time_ms")!;
    const point = execution.histogram.dataPoints[0];
    expect(point.count).toBe("42949672961");
    expect(point.bucketCounts.at(-1)).toBe("42949672961");
    expect(point.sum).toBe(2.5);
    expect(point).not.toHaveProperty("min");
    expect(point).not.toHaveProperty("max");
  });
});

const HISTOGRAM_NAMES = ["cerebrium_run_execution_time_ms", "cerebrium_run_queue_time_ms", "cerebrium_run_coldstart_time_ms", "cerebrium_run_response_time_ms"];
const WITHOUT_HISTOGRAMS = compileFilters({ metrics: { exclude: HISTOGRAM_NAMES } }).metrics;
const only = (kind: MetricDefinition["kind"]) => METRICS.filter((definition) => definition.kind === kind);
const named = (...names: string[]) => compileFilters({ metrics: { include: names } }).metrics;
/** A third of the series without gauges. */
const MIXED: ExportSeries[] = Array.from({ length: 12 }, (_, i) => series(i, { gauges: i % 3 !== 0 }));
/** The SDK serializer writes no `flags`, so an ended series is checked by decoding, not against its bytes. */
const ENDED: ExportSeries = { ...series(12, { gauges: false }), noRecordedValue: true };

describe("filtered batches (ExportBatch.metrics) are byte-identical to the SDK serializer", () => {
  const cases: [string, ExportBatch][] = [
    ["without the four histograms", batch(MIXED, { metrics: WITHOUT_HISTOGRAMS })],
    ["only the counters", batch(MIXED, { metrics: only("counter") })],
    ["only the histograms (no number points at all)", batch(MIXED, { metrics: only("histogram") })],
    ["only the gauges, absent on some series", batch(MIXED, { metrics: only("gauge") })],
    ["only the gauges, on series that have none (no metric left)", batch([series(0, { gauges: false }), series(1, { gauges: false })], { metrics: only("gauge") })],
    [
      "one metric of each kind, delta without min/max",
      batch(
        MIXED.map((s) => ({ ...s, execution: histogram(1, 17, false), coldstart: histogram(2, 17, false) })),
        { temporality: "delta", metrics: named("cerebrium_gpu_memory_usage_bytes", "cerebrium_run_coldstart_time_ms", "cerebrium_run_errors_total") },
      ),
    ],
    ["the last histogram and the first counter", batch(MIXED, { metrics: named("cerebrium_run_response_time_ms", "cerebrium_run_total") })],
    ["histograms without bucket bounds", batch([series(0, { bounds: [] }), series(1, { bounds: [] })], { bounds: [], metrics: named("cerebrium_run_queue_time_ms") })],
    ["no series", batch([], { metrics: only("counter") })],
    ["an empty metric list", batch(MIXED, { metrics: [] })],
    ["all 13 given explicitly", batch(MIXED, { metrics: METRICS })],
    ["copies of the definitions (as after structured cloning)", batch(MIXED, { metrics: structuredClone(WITHOUT_HISTOGRAMS) })],
  ];

  it.each(cases)("%s", (_name, input) => {
    expectSameBytes(encodeExportBatch(input), serializeProtobufWithSdk(input));
  });

  it("all 13 given explicitly is today's request", () => {
    expect(encodeExportBatch(batch(MIXED, { metrics: METRICS }))).toEqual(encodeExportBatch(batch(MIXED)));
  });

  it("matches on many randomised filters", () => {
    let state = 4242;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    for (let round = 0; round < 50; round++) {
      const metrics = METRICS.filter(() => next() > 0.5);
      const seriesList = Array.from({ length: Math.floor(next() * 12) }, (_, i) => series(i, { gauges: next() > 0.3, minMax: next() > 0.5 }));
      const input = batch(seriesList, { metrics, temporality: next() > 0.5 ? "delta" : "cumulative" });
      expectSameBytes(encodeExportBatch(input), serializeProtobufWithSdk(input));
    }
  });

  it("ProtobufBatch measures and writes every range of a filtered batch as the SDK encodes that range alone", () => {
    for (const metrics of [WITHOUT_HISTOGRAMS, only("histogram"), only("gauge")]) {
      const input = batch(MIXED, { metrics });
      const encoded = new ProtobufBatch(input);
      for (let from = 0; from <= MIXED.length; from++) {
        for (let to = from; to <= MIXED.length; to++) {
          const body = encoded.write(from, to);
          expect(encoded.size(from, to)).toBe(body.length);
          expectSameBytes(body, serializeProtobufWithSdk({ ...input, series: MIXED.slice(from, to) }));
        }
      }
    }
  });

  it.each([
    ["without the histograms", WITHOUT_HISTOGRAMS],
    ["with the histograms only", only("histogram")],
  ])("an ended series keeps its NO_RECORDED_VALUE flag %s", (_name, metrics) => {
    const decoded = decode(encodeExportBatch(batch([...MIXED, ENDED], { metrics }))).resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    expect(decoded.map((m) => m.name)).toEqual(metrics.map((d) => d.name));
    for (const metric of decoded) {
      const points: { flags?: number }[] = (metric.gauge ?? metric.sum ?? metric.histogram).dataPoints;
      expect(points.map((p) => p.flags ?? 0)).toEqual(metric.gauge ? new Array(8).fill(0) : [...new Array(12).fill(0), 1]);
    }
  });

  it("dataPointCount counts exactly the points the request carries", () => {
    const carried = (input: ExportBatch) =>
      // protobufjs leaves an empty `metrics` out.
      (decode(encodeExportBatch(input)).resourceMetrics[0]!.scopeMetrics[0]!.metrics ?? []).reduce(
        (n, metric) => n + (metric.gauge ?? metric.sum ?? metric.histogram).dataPoints.length,
        0,
      );
    const counts = [undefined, WITHOUT_HISTOGRAMS, only("counter"), only("gauge"), only("histogram"), []].map((metrics) => {
      const input = batch([...MIXED, ENDED], metrics === undefined ? {} : { metrics });
      return [dataPointCount(input.series, input.metrics), carried(input)];
    });
    // 8 of the 13 series have gauges (ENDED has none).
    expect(counts).toEqual([
      [8 * 13 + 5 * 7, 8 * 13 + 5 * 7],
      [8 * 9 + 5 * 3, 8 * 9 + 5 * 3],
      [13 * 3, 13 * 3],
      [8 * 6, 8 * 6],
      [13 * 4, 13 * 4],
      [0, 0],
    ]);
  });
});

describe("the OTLP/JSON serializer honours ExportBatch.metrics", () => {
  const decodeJson = (input: ExportBatch) => JSON.parse(new TextDecoder().decode(serializeJson(input)));
  const metricsOf = (request: any): any[] => request.resourceMetrics[0].scopeMetrics[0].metrics;

  it("leaves the excluded metrics out and keeps the others in order, flags included", () => {
    const request = decodeJson(batch([...MIXED, ENDED], { metrics: WITHOUT_HISTOGRAMS }));
    expect(metricsOf(request).map((m) => m.name)).toEqual([
      "cerebrium_cpu_utilization_cores",
      "cerebrium_memory_usage_bytes",
      "cerebrium_gpu_memory_usage_bytes",
      "cerebrium_gpu_compute_utilization_percent",
      "cerebrium_containers_running_count",
      "cerebrium_containers_ready_count",
      "cerebrium_run_total",
      "cerebrium_run_successes_total",
      "cerebrium_run_errors_total",
    ]);
    expect(JSON.stringify(request)).not.toMatch(/_time_ms|histogram/);
    const runs = metricsOf(request).find((m) => m.name === "cerebrium_run_total");
    expect(runs.sum.dataPoints.map((p: any) => p.flags ?? 0)).toEqual([...new Array(12).fill(0), 1]);
  });

  it.each([
    ["only the histograms", only("histogram"), HISTOGRAM_NAMES],
    ["only the gauges, on series that have none", only("gauge"), []],
    ["an empty metric list", [], []],
  ] as const)("%s", (_name, metrics, names) => {
    const seriesList = metrics.some((d) => d.kind === "gauge") ? [series(0, { gauges: false })] : MIXED;
    expect(metricsOf(decodeJson(batch(seriesList, { metrics }))).map((m) => m.name)).toEqual(names);
  });
});
