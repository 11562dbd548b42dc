/**
 * Smoke test of the end-to-end harness itself: the real worker under `wrangler dev` answers, and the
 * real VictoriaMetrics takes OTLP/HTTP protobuf and gives it back through PromQL with Prometheus naming.
 */
import { ValueType } from "@opentelemetry/api";
import { ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AggregationTemporality, DataPointType, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExportSeries } from "../../src/export/model";
import { encodeExportBatch } from "../../src/export/protobuf-encoder";
import { skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

describe("worker under wrangler dev", () => {
  let worker: Worker;
  beforeAll(async () => {
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it("answers GET /healthz with 200", async () => {
    const response = await fetch(`${worker.url}/healthz`);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
  });

  it("answers an unknown path with a 404 JSON error", async () => {
    const response = await fetch(`${worker.url}/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as { error?: { code?: unknown } };
    expect(typeof body.error?.code).toBe("string");
  });
});

describe.skipIf(skipWithoutVictoriaMetrics())("VictoriaMetrics as OTLP receiver", () => {
  let vm: VictoriaMetrics;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm?.stop();
  });

  /** POSTs an OTLP/protobuf body to VictoriaMetrics; its status. */
  async function postOtlp(body: Uint8Array): Promise<number> {
    const response = await fetch(`${vm.url}/opentelemetry/v1/metrics`, {
      method: "POST",
      headers: { "Content-Type": "application/x-protobuf" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    await response.arrayBuffer();
    return response.status;
  }

  it("takes an OTLP protobuf histogram in ms and answers PromQL with Prometheus naming", async () => {
    const nowMs = Date.now();
    const toHrTime = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
    const request: ResourceMetrics = {
      resource: resourceFromAttributes({ "service.name": "e2e-smoke" }),
      scopeMetrics: [
        {
          scope: { name: "e2e-smoke" },
          metrics: [
            {
              descriptor: { name: "foo_ms", description: "smoke histogram", unit: "ms", valueType: ValueType.DOUBLE },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.HISTOGRAM,
              dataPoints: [
                {
                  startTime: toHrTime(nowMs - 60_000),
                  endTime: toHrTime(nowMs),
                  attributes: { app_name: "smoke-app" },
                  value: { buckets: { boundaries: [10, 100], counts: [1, 2, 0] }, count: 3, sum: 65, min: 5, max: 40 },
                },
              ],
            },
          ],
        },
      ],
    };
    const body = ProtobufMetricsSerializer.serializeRequest(request);
    if (body === undefined) throw new Error("the SDK serializer returned no body");

    expect(await postOtlp(body)).toBe(200);

    const buckets = await vm.query('foo_ms_milliseconds_bucket{app_name="smoke-app"}');
    const byLe = Object.fromEntries(buckets.map((sample) => [sample.metric.le, Number(sample.value[1])]));
    expect(byLe).toEqual({ "10": 1, "100": 3, "+Inf": 3 });
    expect(buckets[0]?.metric.service_name).toBe("e2e-smoke");

    const [count] = await vm.query('foo_ms_milliseconds_count{app_name="smoke-app"}');
    expect(Number(count?.value[1])).toBe(3);
    const [sum] = await vm.query('foo_ms_milliseconds_sum{app_name="smoke-app"}');
    expect(Number(sum?.value[1])).toBe(65);
  });

  // Series expiry (README "Series retention") relies on this: our encoder's last point of an ended
  // series, flagged NoRecordedValue, is a staleness marker for a Prometheus-style backend.
  it("ends a series at a point our encoder flags NoRecordedValue (a staleness marker)", async () => {
    const t1 = Date.now() - 120_000;
    const t2 = Date.now() - 60_000;
    const zeros = { count: 0, sum: 0, bucketCounts: [0, 0, 0] };
    const series = (timeMs: number, ended: boolean): ExportSeries => ({
      projectId: "p-stale1234",
      appId: "p-stale1234-ended-app",
      appName: "ended-app",
      region: "us-east-1",
      timeMs,
      ...(ended ? { noRecordedValue: true as const } : {}),
      countersStartMs: t1 - 60_000,
      runs: ended ? 0 : 5,
      successes: ended ? 0 : 5,
      errors: 0,
      histogramsStartMs: t1 - 60_000,
      execution: zeros,
      queue: zeros,
      coldstart: zeros,
      response: zeros,
    });
    for (const [timeMs, ended] of [[t1, false], [t2, true]] as const) {
      const body = encodeExportBatch({ timeMs, temporality: "cumulative", bounds: [10, 100], series: [series(timeMs, ended)] });
      expect(await postOtlp(body)).toBe(200);
    }
    await vm.forceFlush();
    const at = async (ms: number) => {
      const r = await fetch(`${vm.url}/api/v1/query?${new URLSearchParams({ query: 'cerebrium_run_total{app_name="ended-app"}', time: String(ms / 1000) })}`);
      return ((await r.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
    };
    // A new series is indexed in the background (~1 s): wait for the first point to show.
    let first = await at(t1 + 10_000);
    for (const deadline = Date.now() + 5_000; first.length === 0 && Date.now() < deadline; first = await at(t1 + 10_000)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(first.map((r) => Number(r.value[1]))).toEqual([5]);
    expect(await at(t2 + 10_000)).toEqual([]); // stale from the flagged point on (a plain gap would still show 5)
  });
});
