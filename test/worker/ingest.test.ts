import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  call,
  createIngestKey,
  createProject,
  d1Dump,
  objectDump,
  pointFor,
  preview,
  projectStub,
  uniqueProjectId,
} from "./helpers";

const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000];

function resource(projectId: string, over: Record<string, unknown> = {}) {
  return {
    type: "resource",
    project_id: projectId,
    app_name: "my-model",
    region: "us-east-1",
    time: new Date().toISOString(),
    cpu_cores: 3.2,
    memory_bytes: 17179869184,
    gpu_memory_bytes: 42949672960,
    gpu_compute_percent: 87.5,
    gpu_count: 1,
    containers_running: 2,
    containers_ready: 1,
    ...over,
  };
}

function run(projectId: string, over: Record<string, unknown> = {}) {
  return {
    type: "run",
    project_id: projectId,
    app_name: "my-model",
    region: "us-east-1",
    time: Date.now(),
    execution_ms: 120.5,
    queue_ms: 3.1,
    response_ms: 131.0,
    success: true,
    ...over,
  };
}

let hostCounter = 0;
async function host() {
  hostCounter += 1;
  const hostId = `gpu-host-${hostCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const { key } = await createIngestKey(hostId);
  const post = (samples: unknown[], batchId: string = crypto.randomUUID(), extra: Record<string, unknown> = {}) =>
    call("POST", "/v1/samples", { token: key, body: { host_id: hostId, batch_id: batchId, samples, ...extra } });
  return { hostId, key, post };
}

async function gzipBytes(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("POST /v1/samples", () => {
  it("accepts a batch and aggregates runs into counters and histograms", async () => {
    const p = await createProject();
    const h = await host();
    const r = await h.post([
      resource(p),
      run(p, { coldstart_ms: 2400 }),
      run(p, { success: false, execution_ms: 5, queue_ms: 0, response_ms: 9 }),
    ]);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: 3, duplicate: false, rejected: [] });

    const body = await preview(p);
    expect(pointFor(body, "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
    expect(pointFor(body, "cerebrium_run_successes_total", "my-model", "us-east-1")!.value).toBe(1);
    expect(pointFor(body, "cerebrium_run_errors_total", "my-model", "us-east-1")!.value).toBe(1);
    const exec = pointFor(body, "cerebrium_run_execution_time_ms", "my-model", "us-east-1")!;
    expect(exec.count).toBe(2);
    expect(exec.sum).toBeCloseTo(125.5, 9);
    expect(exec.min).toBe(5);
    expect(exec.max).toBe(120.5);
    const expected = new Array(17).fill(0);
    expected[0] = 1; // 5 <= 5
    expected[5] = 1; // 100 < 120.5 <= 250
    expect(exec.bucketCounts).toEqual(expected);
    expect(exec.explicitBounds).toEqual(BOUNDS);
    const cold = pointFor(body, "cerebrium_run_coldstart_time_ms", "my-model", "us-east-1")!;
    expect(cold.count).toBe(1);
    expect(cold.sum).toBe(2400);
    expect(pointFor(body, "cerebrium_cpu_utilization_cores", "my-model", "us-east-1")!.value).toBe(3.2);
    expect(pointFor(body, "cerebrium_memory_usage_bytes", "my-model", "us-east-1")!.value).toBe(17179869184);
    expect(pointFor(body, "cerebrium_gpu_compute_utilization_percent", "my-model", "us-east-1")!.value).toBe(87.5);
    const labels = pointFor(body, "cerebrium_run_total", "my-model", "us-east-1")!.attributes;
    expect(labels).toEqual({ project_id: p, app_id: `${p}-my-model`, app_name: "my-model", region: "us-east-1" });
  });

  it("sums resource gauges over hosts and weights GPU utilisation by gpu_count", async () => {
    const p = await createProject();
    const a = await host();
    const b = await host();
    await a.post([resource(p, { cpu_cores: 1.5, gpu_compute_percent: 90, gpu_count: 3, containers_running: 2, containers_ready: 2 })]);
    await b.post([resource(p, { cpu_cores: 0.5, gpu_compute_percent: 10, gpu_count: 1, containers_running: 1, containers_ready: 0 })]);
    const body = await preview(p);
    expect(pointFor(body, "cerebrium_cpu_utilization_cores", "my-model", "us-east-1")!.value).toBe(2);
    expect(pointFor(body, "cerebrium_gpu_compute_utilization_percent", "my-model", "us-east-1")!.value).toBe(70);
    expect(pointFor(body, "cerebrium_containers_running_count", "my-model", "us-east-1")!.value).toBe(3);
    expect(pointFor(body, "cerebrium_containers_ready_count", "my-model", "us-east-1")!.value).toBe(2);
  });

  it("keeps each host's latest report by sample time: an older report never overwrites a newer one", async () => {
    const p = await createProject();
    const h = await host();
    const now = Date.now();
    await h.post([resource(p, { time: now - 10_000, cpu_cores: 4 })]);
    await h.post([resource(p, { time: now - 20_000, cpu_cores: 9 })]); // older, arrives later
    expect(pointFor(await preview(p), "cerebrium_cpu_utilization_cores", "my-model", "us-east-1")!.value).toBe(4);
    await h.post([resource(p, { time: now - 5_000, cpu_cores: 6 }), resource(p, { time: now - 8_000, cpu_cores: 1 })]);
    expect(pointFor(await preview(p), "cerebrium_cpu_utilization_cores", "my-model", "us-east-1")!.value).toBe(6);
  });

  it("keeps valid samples and rejects invalid ones one by one with a code", async () => {
    const p = await createProject();
    const h = await host();
    const r = await h.post([
      run(p),
      run(p, { execution_ms: "12" }),
      run(p, { bogus: 1 }),
      { type: "metric", project_id: p },
      run(p, { time: Date.now() - 2 * 3600_000 }),
      run(p, { time: Date.now() + 10 * 60_000 }),
      resource(p, { gpu_compute_percent: 101 }),
      resource(p, { containers_running: 1.5 }),
      run(p, { app_name: "Bad_Name" }),
      run(p, { project_id: "p-doesnotexist" }),
      run(p, { response_ms: 86_400_001 }),
      "not an object",
      run(p),
    ]);
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    expect(r.body.rejected.map((x: any) => [x.index, x.code])).toEqual([
      [1, "invalid_field"],
      [2, "unknown_field"],
      [3, "unknown_type"],
      [4, "time_out_of_range"],
      [5, "time_out_of_range"],
      [6, "invalid_field"],
      [7, "invalid_field"],
      [8, "invalid_field"],
      [9, "unknown_project"],
      [10, "invalid_field"],
      [11, "invalid_sample"],
    ]);
    for (const x of r.body.rejected) expect(typeof x.message).toBe("string");
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
  });

  it("never creates a project for unknown project ids", async () => {
    const h = await host();
    const ghost = uniqueProjectId();
    const before = await d1Dump();
    const r = await h.post([run(ghost)]);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 0, rejected: [{ index: 0, code: "unknown_project" }] });
    expect(await d1Dump()).toBe(before);
    expect((await call("GET", `/v1/projects/${ghost}/metrics-export`)).status).toBe(404);
  });

  describe("rejects the whole request and stores nothing", () => {
    it.each([
      ["malformed JSON", 400, "invalid_json", (h: any) => ({ rawBody: "{", headers: { "content-type": "application/json" } })],
      ["wrong content type", 415, "unsupported_media_type", (h: any) => ({ rawBody: "{}", headers: { "content-type": "text/plain" } })],
      ["missing samples", 400, "invalid_request", (h: any) => ({ body: { host_id: h.hostId, batch_id: "b" } })],
      ["unknown top-level field", 400, "invalid_request", (h: any) => ({ body: { host_id: h.hostId, batch_id: "b", samples: [], extra: 1 } })],
      ["too many samples", 413, "payload_too_large", (h: any) => ({ body: { host_id: h.hostId, batch_id: "b", samples: new Array(5001).fill({}) } })],
      ["another host's id", 403, "forbidden", (h: any) => ({ body: { host_id: "someone-else", batch_id: "b", samples: [{}] } })],
      ["no key", 401, "unauthorized", (h: any) => ({ token: null, body: { host_id: h.hostId, batch_id: "b", samples: [{}] } })],
      ["a body over 1 MiB", 413, "payload_too_large", (h: any) => ({ rawBody: `{"x":"${"a".repeat(1024 * 1024)}"}`, headers: { "content-type": "application/json" } })],
    ])("%s → %i %s", async (_name, status, code, make) => {
      const p = await createProject();
      const h = await host();
      await h.post([run(p)]);
      const before = [await objectDump(p), await d1Dump()];
      const opts: any = make(h);
      const r = await call("POST", "/v1/samples", { token: h.key, ...opts });
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect([await objectDump(p), await d1Dump()]).toEqual(before);
    });
  });

  it("accepts gzip bodies and stops a gzip bomb while inflating", async () => {
    const p = await createProject();
    const h = await host();
    const body = JSON.stringify({ host_id: h.hostId, batch_id: "gz-1", samples: [run(p), run(p)] });
    const ok = await call("POST", "/v1/samples", {
      token: h.key,
      rawBody: await gzipBytes(body),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expect(ok.status).toBe(202);
    expect(ok.body.accepted).toBe(2);

    const before = await objectDump(p);
    const bomb = await gzipBytes(`{"host_id":"${h.hostId}","batch_id":"b","samples":[],"pad":"${" ".repeat(20 * 1024 * 1024)}"}`);
    expect(bomb.byteLength).toBeLessThan(100 * 1024);
    const r = await call("POST", "/v1/samples", {
      token: h.key,
      rawBody: bomb,
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("payload_too_large");

    const bad = await call("POST", "/v1/samples", {
      token: h.key,
      rawBody: new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5]),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expect(bad.status).toBe(400);
    expect(await objectDump(p)).toBe(before);
  });
});

describe("idempotency", () => {
  it("applies a batch at most once and answers a retry with the original counts", async () => {
    const p = await createProject();
    const h = await host();
    const samples = [run(p), run(p, { execution_ms: "x" }), run(p)];
    const first = await h.post(samples, "batch-1");
    expect(first.body).toMatchObject({ accepted: 2, duplicate: false });
    const state = await objectDump(p);
    const again = await h.post(samples, "batch-1");
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ accepted: 2, duplicate: true, rejected: first.body.rejected });
    expect(await objectDump(p)).toBe(state);
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
  });

  it("applies concurrent duplicate posts exactly once", async () => {
    const p = await createProject();
    const h = await host();
    const samples = Array.from({ length: 50 }, () => run(p));
    const results = await Promise.all(Array.from({ length: 8 }, () => h.post(samples, "same-batch")));
    expect(results.every((r) => r.status === 202 && r.body.accepted === 50)).toBe(true);
    expect(results.filter((r) => !r.body.duplicate)).toHaveLength(1);
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(50);
  });

  it("a batch that reached one project and not another can be retried whole", async () => {
    const p1 = await createProject();
    const p2 = uniqueProjectId();
    const h = await host();
    const samples = [run(p1), run(p2), run(p2)];
    const first = await h.post(samples, "split-batch");
    expect(first.body.accepted).toBe(1);
    await createProject(p2);
    const retry = await h.post(samples, "split-batch");
    expect(retry.body).toEqual({ accepted: 3, duplicate: false, rejected: [] });
    expect(pointFor(await preview(p1), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(1);
    expect(pointFor(await preview(p2), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
    const third = await h.post(samples, "split-batch");
    expect(third.body).toEqual({ accepted: 3, duplicate: true, rejected: [] });
  });

  it("the same batch id from another host is another batch", async () => {
    const p = await createProject();
    const a = await host();
    const b = await host();
    await a.post([run(p)], "shared-id");
    expect((await b.post([run(p)], "shared-id")).body.duplicate).toBe(false);
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
  });
});

describe("durability", () => {
  it("keeps accepted samples, start times and the batch ledger across eviction", async () => {
    const p = await createProject();
    const h = await host();
    await h.post([run(p), run(p, { app_name: "other", region: "eu-west-1", coldstart_ms: 100 }), resource(p)], "durable-1");
    const before = await preview(p);
    await evictDurableObject(projectStub(p));
    const after = await preview(p);
    // Gauge points are stamped with the push time; everything else must be identical.
    const strip = (b: any) => JSON.stringify(b).replace(/"(startTimeUnixNano|timeUnixNano)":"\d+"/g, "");
    expect(strip(after)).toBe(strip(before));
    expect(pointFor(after, "cerebrium_run_total", "other", "eu-west-1")!.value).toBe(1);
    expect((await h.post([run(p)], "durable-1")).body.duplicate).toBe(true);
    await h.post([run(p)]);
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.value).toBe(2);
    const histogram = pointFor(await preview(p), "cerebrium_run_execution_time_ms", "my-model", "us-east-1")!;
    expect(histogram.startTimeUnixNano).toBe(pointFor(before, "cerebrium_run_execution_time_ms", "my-model", "us-east-1")!.startTimeUnixNano);
    expect(pointFor(await preview(p), "cerebrium_run_total", "my-model", "us-east-1")!.startTimeUnixNano).toBe(
      pointFor(before, "cerebrium_run_total", "my-model", "us-east-1")!.startTimeUnixNano,
    );
  });
});

describe("limits", () => {
  it("rejects new series beyond 2,000 per project with series_limit", async () => {
    const p = await createProject();
    const h = await host();
    const first = await h.post(Array.from({ length: 2000 }, (_, i) => run(p, { app_name: `app-${i}` })));
    expect(first.body.accepted).toBe(2000);
    const r = await h.post([run(p, { app_name: "app-5" }), run(p, { app_name: "one-too-many" })]);
    expect(r.body.accepted).toBe(1);
    expect(r.body.rejected).toEqual([{ index: 1, code: "series_limit", message: expect.stringContaining("2000") }]);
  });
});
