/**
 * Smoke test of the end-to-end harness itself: the real worker under `wrangler dev` answers, and the
 * real VictoriaMetrics takes OTLP/HTTP protobuf and gives it back through PromQL with Prometheus naming.
 */
import { ValueType } from "@opentelemetry/api";
import { ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AggregationTemporality, DataPointType, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    expect(body).toBeDefined();

    const response = await fetch(`${vm.url}/opentelemetry/v1/metrics`, {
      method: "POST",
      headers: { "Content-Type": "application/x-protobuf" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    await response.arrayBuffer();
    expect(response.status).toBe(200);

    const buckets = await vm.query('foo_ms_milliseconds_bucket{app_name="smoke-app"}');
    const byLe = Object.fromEntries(buckets.map((sample) => [sample.metric.le, Number(sample.value[1])]));
    expect(byLe).toEqual({ "10": 1, "100": 3, "+Inf": 3 });
    expect(buckets[0]?.metric.service_name).toBe("e2e-smoke");

    const [count] = await vm.query('foo_ms_milliseconds_count{app_name="smoke-app"}');
    expect(Number(count?.value[1])).toBe(3);
    const [sum] = await vm.query('foo_ms_milliseconds_sum{app_name="smoke-app"}');
    expect(Number(sum?.value[1])).toBe(65);
  });
});
