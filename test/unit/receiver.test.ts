import { ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExportBatch, HistogramValues } from "../../src/export/model";
import { serializeJson, serializeProtobufWithSdk } from "../../src/export/resource-metrics";
import {
  attributesOf,
  findMetric,
  histogramValue,
  numberValue,
  pointTimesMs,
  type RecordedRequest,
  type ScriptedResponse,
} from "../receiver/client";
import { startReceiver, type Receiver } from "../receiver/receiver";

let receiver: Receiver;
let origin: string;

beforeAll(async () => {
  receiver = await startReceiver();
  origin = `http://127.0.0.1:${receiver.port}`;
});

afterAll(async () => {
  await receiver.close();
});

const histogram = (count: number): HistogramValues => ({
  count,
  sum: count * 10,
  min: 3,
  max: 17,
  bucketCounts: [0, count, 0],
});

const BATCH: ExportBatch = {
  timeMs: 1_764_158_460_789,
  temporality: "cumulative",
  bounds: [5, 25],
  series: [
    {
      projectId: "proj-1",
      appId: "proj-1-whisper",
      appName: "whisper",
      region: "us-east-1",
      gauges: {
        cpuCores: 2.5,
        memoryBytes: 8_589_934_592,
        gpuMemoryBytes: 1024,
        gpuComputePercent: 87.25,
        containersRunning: 3,
        containersReady: 2,
      },
      countersStartMs: 1_764_154_800_001,
      runs: 42_949_672_960,
      successes: 7,
      errors: 1,
      histogramsStartMs: 1_764_156_600_500,
      execution: histogram(4),
      queue: histogram(3),
      coldstart: histogram(2),
      response: histogram(1),
    },
  ],
};

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function post(ns: string, body: Uint8Array | string, headers: Record<string, string>, path = "/v1/metrics"): Promise<Response> {
  return fetch(`${origin}/r/${ns}${path}`, { method: "POST", body: body as BodyInit, headers });
}

async function script(ns: string, responses: ScriptedResponse[]): Promise<void> {
  const response = await fetch(`${origin}/control/${ns}/script`, { method: "PUT", body: JSON.stringify(responses) });
  expect(response.status).toBe(204);
}

async function recorded(ns: string): Promise<RecordedRequest[]> {
  return (await fetch(`${origin}/control/${ns}/requests`)).json() as Promise<RecordedRequest[]>;
}

async function count(ns: string): Promise<number> {
  return ((await (await fetch(`${origin}/control/${ns}/count`)).json()) as { count: number }).count;
}

const WHISPER = { appName: "whisper", region: "us-east-1" };
let nsCounter = 0;
const namespace = () => `receiver-test-${++nsCounter}-${Math.random().toString(36).slice(2)}`;

/** What the receiver must have decoded from BATCH, whatever the encoding. */
function expectBatchDecoded(request: RecordedRequest): void {
  expect(findMetric(request, "cerebrium_run_total")?.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
  expect(numberValue(request, "cerebrium_run_total", WHISPER)).toBe(42_949_672_960);
  expect(numberValue(request, "cerebrium_memory_usage_bytes", WHISPER)).toBe(8_589_934_592);
  expect(numberValue(request, "cerebrium_gpu_compute_utilization_percent", { appName: "whisper" })).toBe(87.25);
  expect(numberValue(request, "cerebrium_run_total", { appName: "llama" })).toBeUndefined();
  expect(histogramValue(request, "cerebrium_run_execution_time_ms", WHISPER)).toEqual({
    count: 4,
    sum: 40,
    min: 3,
    max: 17,
    bucketCounts: [0, 4, 0],
    explicitBounds: [5, 25],
    startTimeMs: 1_764_156_600_500,
    timeMs: 1_764_158_460_789,
  });
  expect(pointTimesMs(request, "cerebrium_run_errors_total", WHISPER)).toEqual({
    startTimeMs: 1_764_154_800_001,
    timeMs: 1_764_158_460_789,
  });
  const point = findMetric(request, "cerebrium_cpu_utilization_cores")!.gauge!.dataPoints![0]!;
  expect(attributesOf(point)).toEqual({ project_id: "proj-1", app_id: "proj-1-whisper", app_name: "whisper", region: "us-east-1" });
  const body = request.body as any;
  expect(body.resourceMetrics[0].resource.attributes).toEqual([{ key: "service.name", value: { stringValue: "cerebrium" } }]);
  expect(body.resourceMetrics[0].scopeMetrics[0].scope).toEqual({ name: "cerebrium-metrics-export", version: "0.1.0" });
}

describe("test receiver", () => {
  it("decodes a protobuf push and answers 200 with an empty protobuf response", async () => {
    const ns = namespace();
    const bytes = serializeProtobufWithSdk(BATCH);
    const response = await post(ns, bytes, { "Content-Type": "application/x-protobuf", "X-Scope-OrgID": "tenant-1" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-protobuf");
    expect((await response.arrayBuffer()).byteLength).toBe(0);

    const [request, ...more] = await recorded(ns);
    expect(more).toEqual([]);
    expect(request).toMatchObject({
      path: `/r/${ns}/v1/metrics`,
      method: "POST",
      contentType: "application/x-protobuf",
      contentEncoding: null,
      bodyBytes: bytes.length,
      uncompressedBytes: bytes.length,
    });
    expect(request!.headers["x-scope-orgid"]).toBe("tenant-1");
    expect(request!.decodeError).toBeUndefined();
    expect(Math.abs(request!.receivedAtMs - Date.now())).toBeLessThan(10_000);
    expectBatchDecoded(request!);
  });

  it("gunzips a gzip-encoded protobuf push and records both sizes", async () => {
    const ns = namespace();
    const bytes = serializeProtobufWithSdk(BATCH);
    const compressed = await gzip(bytes);
    const response = await post(ns, compressed, { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
    expect(response.status).toBe(200);
    const [request] = await recorded(ns);
    expect(request).toMatchObject({ contentEncoding: "gzip", bodyBytes: compressed.length, uncompressedBytes: bytes.length });
    expectBatchDecoded(request!);
  });

  it("parses a JSON push and answers with an empty JSON response", async () => {
    const ns = namespace();
    const response = await post(ns, serializeJson(BATCH), { "content-type": "application/json" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({});
    const [request] = await recorded(ns);
    expect(request!.contentType).toBe("application/json");
    expectBatchDecoded(request!);
  });

  it("answers from the script in order, passes Retry-After through, then falls back to 200", async () => {
    const ns = namespace();
    await script(ns, [
      { status: 503, headers: { "Retry-After": "7" } },
      { status: 429, headers: { "retry-after": "Wed, 26 Nov 2025 12:00:00 GMT" }, body: "slow down" },
      { status: 400, body: "bad request" },
    ]);
    const bytes = serializeProtobufWithSdk(BATCH);
    const headers = { "content-type": "application/x-protobuf" };
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const response = await post(ns, bytes, headers);
      answers.push([response.status, response.headers.get("retry-after"), await response.text()]);
    }
    expect(answers).toEqual([
      [503, "7", ""],
      [429, "Wed, 26 Nov 2025 12:00:00 GMT", "slow down"],
      [400, null, "bad request"],
      [200, null, ""],
    ]);
    expect(await count(ns)).toBe(4);
  });

  it("delays a scripted answer", async () => {
    const ns = namespace();
    await script(ns, [{ status: 200, delayMs: 150 }]);
    const started = performance.now();
    const response = await post(ns, serializeProtobufWithSdk(BATCH), { "content-type": "application/x-protobuf" });
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("encodes partial success in protobuf and in JSON", async () => {
    const ns = namespace();
    const partialSuccess = { rejectedDataPoints: 5, errorMessage: "5 points rejected: out of order" };
    await script(ns, [{ partialSuccess }, { partialSuccess }]);

    const protobufResponse = await post(ns, serializeProtobufWithSdk(BATCH), { "content-type": "application/x-protobuf" });
    expect(protobufResponse.headers.get("content-type")).toBe("application/x-protobuf");
    const bytes = new Uint8Array(await protobufResponse.arrayBuffer());
    expect(ProtobufMetricsSerializer.deserializeResponse(bytes)).toEqual({ partialSuccess });

    const jsonResponse = await post(ns, serializeJson(BATCH), { "content-type": "application/json" });
    expect(jsonResponse.headers.get("content-type")).toBe("application/json");
    // proto3 JSON: int64 as a decimal string.
    expect(await jsonResponse.json()).toEqual({
      partialSuccess: { rejectedDataPoints: "5", errorMessage: "5 points rejected: out of order" },
    });
  });

  it("echoes the request headers when scripted to", async () => {
    const ns = namespace();
    await script(ns, [{ status: 401, echoHeaders: true }]);
    const response = await post(ns, "x", { "content-type": "application/json", Authorization: "Basic c2VjcmV0", "dd-api-key": "k" });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ authorization: "Basic c2VjcmV0", "dd-api-key": "k", "content-type": "application/json" });
  });

  it("hangs until the client gives up, and records the request", async () => {
    const ns = namespace();
    await script(ns, [{ hang: true }]);
    const attempt = fetch(`${origin}/r/${ns}/v1/metrics`, {
      method: "POST",
      body: serializeProtobufWithSdk(BATCH) as BodyInit,
      headers: { "content-type": "application/x-protobuf" },
      signal: AbortSignal.timeout(200),
    });
    await expect(attempt).rejects.toThrow();
    expect(await count(ns)).toBe(1);
  });

  it("resets the connection mid-response", async () => {
    const ns = namespace();
    await script(ns, [{ status: 200, reset: true }]);
    const response = await post(ns, serializeProtobufWithSdk(BATCH), { "content-type": "application/x-protobuf" });
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it("records other paths under the namespace: 404 by default, scripted when scripted", async () => {
    const ns = namespace();
    const first = await post(ns, "{}", { "content-type": "application/json" }, "/api/v2/otlp");
    expect(first.status).toBe(404);
    await script(ns, [{ status: 202 }]);
    const second = await post(ns, "{}", { "content-type": "application/json" }, "/anything/else");
    expect(second.status).toBe(202);
    expect((await recorded(ns)).map((r) => [r.path, r.method])).toEqual([
      [`/r/${ns}/api/v2/otlp`, "POST"],
      [`/r/${ns}/anything/else`, "POST"],
    ]);
  });

  it("answers 400 to a body that does not decode and 415 to other content types", async () => {
    const ns = namespace();
    const bad = await post(ns, new Uint8Array([0x0a, 0xff, 0xff]), { "content-type": "application/x-protobuf" });
    expect(bad.status).toBe(400);
    const text = await post(ns, "hello", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    const [badRequest, textRequest] = await recorded(ns);
    expect(badRequest!.decodeError).toMatch(/^protobuf: /);
    expect(textRequest!.decodeError).toBe("not decoded: content type text/plain");
  });

  it("keeps namespaces apart and forgets one on reset", async () => {
    const a = namespace();
    const b = namespace();
    await script(a, [{ status: 500 }]);
    const bytes = serializeProtobufWithSdk(BATCH);
    const headers = { "content-type": "application/x-protobuf" };
    expect((await post(b, bytes, headers)).status).toBe(200);
    expect((await post(a, bytes, headers)).status).toBe(500);
    expect([await count(a), await count(b)]).toEqual([1, 1]);

    expect((await fetch(`${origin}/control/${a}`, { method: "DELETE" })).status).toBe(204);
    expect(await count(a)).toBe(0);
    expect(await recorded(a)).toEqual([]);
    expect(await count(b)).toBe(1);
  });

  it("rejects a script that is not an array of responses", async () => {
    const response = await fetch(`${origin}/control/${namespace()}/script`, { method: "PUT", body: '{"status":500}' });
    expect(response.status).toBe(400);
  });
});
