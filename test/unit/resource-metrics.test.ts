import { describe, expect, it } from "vitest";
import type { ExportBatch, ExportSeries, HistogramValues } from "../../src/export/model";
import { serializeJson } from "../../src/export/resource-metrics";

// Expectations are literal on purpose: they pin what customers' dashboards see, independently of
// metric-definitions.ts.
const NOW_MS = 1_764_158_460_789; // 2025-11-26T12:01:00.789Z
const NOW_NANOS = "1764158460789000000";
const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000];

const EXPECTED_METRICS = [
  ["cerebrium_cpu_utilization_cores", "{core}", "CPU cores actively in use per app", "gauge"],
  ["cerebrium_memory_usage_bytes", "By", "Memory actively in use per app", "gauge"],
  ["cerebrium_gpu_memory_usage_bytes", "By", "GPU VRAM in use per app", "gauge"],
  ["cerebrium_gpu_compute_utilization_percent", "%", "GPU compute utilization (0-100) per app", "gauge"],
  ["cerebrium_containers_running_count", "{container}", "Number of running containers per app", "gauge"],
  ["cerebrium_containers_ready_count", "{container}", "Number of ready containers per app", "gauge"],
  ["cerebrium_run_execution_time_ms", "ms", "Time spent executing user code", "histogram"],
  ["cerebrium_run_queue_time_ms", "ms", "Time spent waiting in queue", "histogram"],
  ["cerebrium_run_coldstart_time_ms", "ms", "Time for container cold start", "histogram"],
  ["cerebrium_run_response_time_ms", "ms", "Total end-to-end response time", "histogram"],
  ["cerebrium_run_total", "{run}", "Total run count", "sum"],
  ["cerebrium_run_successes_total", "{run}", "Successful run count", "sum"],
  ["cerebrium_run_errors_total", "{run}", "Failed run count", "sum"],
] as const;

const RESOURCE = {
  attributes: [{ key: "service.name", value: { stringValue: "cerebrium" } }],
  droppedAttributesCount: 0,
};
const SCOPE = { name: "cerebrium-metrics-export", version: "0.1.0" };

function histogram(count: number, withMinMax: boolean): HistogramValues {
  const bucketCounts = new Array<number>(17).fill(0);
  bucketCounts[3] = count;
  return withMinMax ? { count, sum: count * 30.5, min: 26, max: 49.5, bucketCounts } : { count, sum: count * 30.5, bucketCounts };
}

function series(appName: string, region: string, withGauges: boolean, withMinMax = true): ExportSeries {
  const s: ExportSeries = {
    projectId: "proj-1",
    appId: `proj-1-${appName}`,
    appName,
    region,
    countersStartMs: 1_764_154_800_000,
    runs: 42_949_672_960,
    successes: 42_949_672_950,
    errors: 10,
    histogramsStartMs: 1_764_156_600_500,
    execution: histogram(4, withMinMax),
    queue: histogram(3, withMinMax),
    coldstart: histogram(2, withMinMax),
    response: histogram(1, withMinMax),
  };
  if (withGauges) {
    s.gauges = {
      cpuCores: 2.5,
      memoryBytes: 8_589_934_592,
      gpuMemoryBytes: 21_474_836_480,
      gpuComputePercent: 87.25,
      containersRunning: 3,
      containersReady: 2,
    };
  }
  return s;
}

function decode(batch: ExportBatch): any {
  return JSON.parse(new TextDecoder().decode(serializeJson(batch)));
}

const ATTRIBUTES_A = [
  { key: "project_id", value: { stringValue: "proj-1" } },
  { key: "app_id", value: { stringValue: "proj-1-whisper" } },
  { key: "app_name", value: { stringValue: "whisper" } },
  { key: "region", value: { stringValue: "us-east-1" } },
];

describe("serializeJson (OTLP/JSON for http/json and the preview)", () => {
  it("sends a valid request with no data points for an empty batch (Test Connection)", () => {
    expect(decode({ timeMs: NOW_MS, temporality: "cumulative", bounds: BOUNDS, series: [] })).toEqual({
      resourceMetrics: [{ resource: RESOURCE, scopeMetrics: [{ scope: SCOPE, metrics: [] }] }],
    });
  });

  it("carries the 13 metrics in order with their names, units, descriptions and types", () => {
    const body = decode({ timeMs: NOW_MS, temporality: "cumulative", bounds: BOUNDS, series: [series("whisper", "us-east-1", true)] });
    expect(body.resourceMetrics).toHaveLength(1);
    expect(body.resourceMetrics[0].resource).toEqual(RESOURCE);
    expect(body.resourceMetrics[0].scopeMetrics).toHaveLength(1);
    expect(body.resourceMetrics[0].scopeMetrics[0].scope).toEqual(SCOPE);
    const metrics = body.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(
      metrics.map((m: any) => [m.name, m.unit, m.description, ["gauge", "histogram", "sum"].find((type) => type in m)]),
    ).toEqual(EXPECTED_METRICS);
  });

  it("writes gauges as doubles at the push time", () => {
    const body = decode({ timeMs: NOW_MS, temporality: "cumulative", bounds: BOUNDS, series: [series("whisper", "us-east-1", true)] });
    const metrics = body.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics[1]).toEqual({
      name: "cerebrium_memory_usage_bytes",
      description: "Memory actively in use per app",
      unit: "By",
      gauge: {
        dataPoints: [{ attributes: ATTRIBUTES_A, startTimeUnixNano: NOW_NANOS, timeUnixNano: NOW_NANOS, asDouble: 8_589_934_592 }],
      },
    });
    expect(metrics.slice(0, 6).map((m: any) => m.gauge.dataPoints[0].asDouble)).toEqual([2.5, 8_589_934_592, 21_474_836_480, 87.25, 3, 2]);
  });

  it("writes counters as cumulative monotonic integer sums from the counters' start", () => {
    const body = decode({ timeMs: NOW_MS, temporality: "cumulative", bounds: BOUNDS, series: [series("whisper", "us-east-1", true)] });
    const runs = body.resourceMetrics[0].scopeMetrics[0].metrics[10];
    // The SDK's JSON writes int64 as JSON numbers (proto3 JSON parsers accept numbers and strings).
    expect(runs.sum).toEqual({
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: [
        { attributes: ATTRIBUTES_A, startTimeUnixNano: "1764154800000000000", timeUnixNano: NOW_NANOS, asInt: 42_949_672_960 },
      ],
    });
  });

  it("writes histograms with explicit bounds, counts, sum, min and max from the histograms' start", () => {
    const body = decode({ timeMs: NOW_MS, temporality: "cumulative", bounds: BOUNDS, series: [series("whisper", "us-east-1", true)] });
    const execution = body.resourceMetrics[0].scopeMetrics[0].metrics[6];
    expect(execution.histogram).toEqual({
      aggregationTemporality: 2,
      dataPoints: [
        {
          attributes: ATTRIBUTES_A,
          startTimeUnixNano: "1764156600500000000",
          timeUnixNano: NOW_NANOS,
          count: 4,
          sum: 122,
          min: 26,
          max: 49.5,
          bucketCounts: [0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
          explicitBounds: BOUNDS,
        },
      ],
    });
  });

  it("marks delta batches as delta and leaves out unknown min/max", () => {
    const body = decode({
      timeMs: NOW_MS,
      temporality: "delta",
      bounds: [100],
      series: [{ ...series("whisper", "us-east-1", true, false), execution: { count: 0, sum: 0, bucketCounts: [0, 0] } }],
    });
    const metrics = body.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics.filter((m: any) => m.histogram || m.sum).map((m: any) => (m.histogram ?? m.sum).aggregationTemporality)).toEqual([
      1, 1, 1, 1, 1, 1, 1,
    ]);
    const point = metrics[6].histogram.dataPoints[0];
    expect(point).toEqual({
      attributes: ATTRIBUTES_A,
      startTimeUnixNano: "1764156600500000000",
      timeUnixNano: NOW_NANOS,
      count: 0,
      sum: 0,
      bucketCounts: [0, 0],
      explicitBounds: [100],
    });
  });

  it("leaves out gauge metrics no series reports, and gauge points of series without gauges", () => {
    const none = decode({
      timeMs: NOW_MS,
      temporality: "cumulative",
      bounds: BOUNDS,
      series: [series("whisper", "us-east-1", false), series("llama", "eu-north-1", false)],
    });
    expect(none.resourceMetrics[0].scopeMetrics[0].metrics.map((m: any) => m.name)).toEqual([
      "cerebrium_run_execution_time_ms",
      "cerebrium_run_queue_time_ms",
      "cerebrium_run_coldstart_time_ms",
      "cerebrium_run_response_time_ms",
      "cerebrium_run_total",
      "cerebrium_run_successes_total",
      "cerebrium_run_errors_total",
    ]);

    const some = decode({
      timeMs: NOW_MS,
      temporality: "cumulative",
      bounds: BOUNDS,
      series: [series("whisper", "us-east-1", false), series("llama", "eu-north-1", true)],
    });
    const metrics = some.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics).toHaveLength(13);
    expect(metrics[0].gauge.dataPoints.map((p: any) => p.attributes)).toEqual([
      [
        { key: "project_id", value: { stringValue: "proj-1" } },
        { key: "app_id", value: { stringValue: "proj-1-llama" } },
        { key: "app_name", value: { stringValue: "llama" } },
        { key: "region", value: { stringValue: "eu-north-1" } },
      ],
    ]);
    expect(metrics[6].histogram.dataPoints.map((p: any) => p.attributes[2].value.stringValue)).toEqual(["whisper", "llama"]);
    expect(metrics[12].sum.dataPoints.map((p: any) => p.attributes[3].value.stringValue)).toEqual(["us-east-1", "eu-north-1"]);
  });
});
