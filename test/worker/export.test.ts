import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  findMetric,
  histogramValue,
  metrics,
  newNamespace,
  numberValue,
  pointTimesMs,
  receiverUrl,
  requestCount,
  requests,
  script,
  type ScriptedResponse,
} from "../receiver/client";
import { call, createIngestKey, createProject, preview, pointFor, projectStub } from "./helpers";
import { scheduledPushAt } from "./fault-helpers";

const APP = { appName: "my-model", region: "us-east-1" };

async function setup(config: Record<string, unknown> = {}) {
  const projectId = await createProject();
  const ns = newNamespace();
  const hostId = `host-${ns.slice(0, 8)}`;
  const { key } = await createIngestKey(hostId);
  const put = await call("PUT", `/v1/projects/${projectId}/metrics-export`, {
    body: { endpoint: receiverUrl(ns), headers: [{ name: "Authorization", value: "Bearer s3cret-token-value" }], ...config },
  });
  expect(put.status).toBe(200);
  const post = async (samples: Record<string, unknown>[]) => {
    const r = await call("POST", "/v1/samples", {
      token: key,
      body: {
        host_id: hostId,
        batch_id: crypto.randomUUID(),
        samples: samples.map((s) => ({ project_id: projectId, app_name: APP.appName, region: APP.region, time: Date.now(), ...s })),
      },
    });
    expect(r.status).toBe(202);
    expect(r.body.rejected).toEqual([]);
  };
  const runs = (n: number, over: Record<string, unknown> = {}) =>
    post(Array.from({ length: n }, () => ({ type: "run", execution_ms: 10, queue_ms: 1, response_ms: 12, success: true, ...over })));
  const flush = () => call("POST", `/v1/projects/${projectId}/metrics-export/flush`);
  const status = async () => (await call("GET", `/v1/projects/${projectId}/metrics-export`)).body;
  return { projectId, ns, post, runs, flush, status };
}

const resourceSample = {
  type: "resource",
  cpu_cores: 3.2,
  memory_bytes: 17179869184,
  gpu_memory_bytes: 42949672960,
  gpu_compute_percent: 87.5,
  gpu_count: 1,
  containers_running: 2,
  containers_ready: 1,
};

describe("a push", () => {
  it("carries the 13 metrics with names, types, units, descriptions, labels, resource and scope", async () => {
    const t = await setup();
    await t.post([resourceSample, { type: "run", execution_ms: 120.5, queue_ms: 3.1, response_ms: 131, coldstart_ms: 2400, success: true }]);
    await t.runs(2, { success: false, execution_ms: 7 });
    const r = await t.flush();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, requests: 1, attempts: 1, data_points: 13 });
    expect(r.body.bytes).toBeGreaterThan(0);

    const [req] = await requests(t.ns);
    expect(req!.path).toBe(`/r/${t.ns}/v1/metrics`);
    expect(req!.contentType).toBe("application/x-protobuf");
    expect(req!.contentEncoding).toBe("gzip");
    expect(req!.headers.authorization).toBe("Bearer s3cret-token-value");
    expect(req!.decodeError).toBeUndefined();

    const expected: [string, "gauge" | "sum" | "histogram", string, string][] = [
      ["cerebrium_cpu_utilization_cores", "gauge", "{core}", "CPU cores actively in use per app"],
      ["cerebrium_memory_usage_bytes", "gauge", "By", "Memory actively in use per app"],
      ["cerebrium_gpu_memory_usage_bytes", "gauge", "By", "GPU VRAM in use per app"],
      ["cerebrium_gpu_compute_utilization_percent", "gauge", "%", "GPU compute utilization (0-100) per app"],
      ["cerebrium_containers_running_count", "gauge", "{container}", "Number of running containers per app"],
      ["cerebrium_containers_ready_count", "gauge", "{container}", "Number of ready containers per app"],
      ["cerebrium_run_execution_time_ms", "histogram", "ms", "Time spent executing user code"],
      ["cerebrium_run_queue_time_ms", "histogram", "ms", "Time spent waiting in queue"],
      ["cerebrium_run_coldstart_time_ms", "histogram", "ms", "Time for container cold start"],
      ["cerebrium_run_response_time_ms", "histogram", "ms", "Total end-to-end response time"],
      ["cerebrium_run_total", "sum", "{run}", "Total run count"],
      ["cerebrium_run_successes_total", "sum", "{run}", "Successful run count"],
      ["cerebrium_run_errors_total", "sum", "{run}", "Failed run count"],
    ];
    expect(metrics(req!).map((m) => m.name)).toEqual(expected.map((e) => e[0]));
    for (const [name, kind, unit, description] of expected) {
      const m = findMetric(req!, name)!;
      expect(m.unit).toBe(unit);
      expect(m.description).toBe(description);
      expect(m[kind]).toBeDefined();
      if (kind === "sum") {
        expect(m.sum!.isMonotonic).toBe(true);
        expect(m.sum!.aggregationTemporality).toBe(2);
        expect(m.sum!.dataPoints![0]!.asInt).toBeDefined();
      }
      if (kind === "gauge") expect(m.gauge!.dataPoints![0]!.asDouble).toBeDefined();
      if (kind === "histogram") expect(m.histogram!.aggregationTemporality).toBe(2);
      const point = (m.gauge ?? m.sum ?? m.histogram)!.dataPoints![0]!;
      expect(point.attributes).toEqual([
        { key: "project_id", value: { stringValue: t.projectId } },
        { key: "app_id", value: { stringValue: `${t.projectId}-my-model` } },
        { key: "app_name", value: { stringValue: "my-model" } },
        { key: "region", value: { stringValue: "us-east-1" } },
      ]);
    }
    const body = req!.body as any;
    expect(body.resourceMetrics).toHaveLength(1);
    expect(body.resourceMetrics[0].resource.attributes).toEqual([{ key: "service.name", value: { stringValue: "cerebrium" } }]);
    expect(body.resourceMetrics[0].scopeMetrics[0].scope).toMatchObject({ name: "cerebrium-metrics-export", version: "0.1.0" });

    expect(numberValue(req!, "cerebrium_run_total", APP)).toBe(3);
    expect(numberValue(req!, "cerebrium_run_successes_total", APP)).toBe(1);
    expect(numberValue(req!, "cerebrium_run_errors_total", APP)).toBe(2);
    expect(numberValue(req!, "cerebrium_memory_usage_bytes", APP)).toBe(17179869184);
    expect(numberValue(req!, "cerebrium_gpu_compute_utilization_percent", APP)).toBe(87.5);
    const exec = histogramValue(req!, "cerebrium_run_execution_time_ms", APP)!;
    // 7, 7 → (5,10]; 120.5 → (100,250]
    expect(exec).toMatchObject({ count: 3, sum: 134.5, min: 7, max: 120.5 });
    expect(exec.bucketCounts).toEqual([0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(exec.explicitBounds).toEqual([5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000]);
    const cold = histogramValue(req!, "cerebrium_run_coldstart_time_ms", APP)!;
    expect(cold).toMatchObject({ count: 1, sum: 2400 });
    expect(cold.bucketCounts[8]).toBe(1); // (1000, 2500]

    const s = await t.status();
    expect(s.status.state).toBe("connected");
    expect(s.status.last_success_at).not.toBeNull();
    expect(s.status.totals).toMatchObject({ pushes_succeeded: 1, pushes_failed: 0, retries: 0, data_points_sent: 13 });
  });

  it("uses OTLP/JSON without compression when configured", async () => {
    const t = await setup({ protocol: "http/json", compression: "none" });
    await t.runs(4);
    expect((await t.flush()).body.ok).toBe(true);
    const [req] = await requests(t.ns);
    expect(req!.contentType).toBe("application/json");
    expect(req!.contentEncoding).toBeNull();
    expect(numberValue(req!, "cerebrium_run_total", APP)).toBe(4);
    expect(histogramValue(req!, "cerebrium_run_response_time_ms", APP)).toMatchObject({ count: 4, sum: 48 });
  });

  it("stays cumulative across evictions: counters grow by exactly what was ingested, start times kept", async () => {
    const t = await setup();
    await t.runs(5);
    await t.flush();
    await evictDurableObject(projectStub(t.projectId));
    await t.runs(3, { success: false });
    await evictDurableObject(projectStub(t.projectId));
    await t.flush();
    const [first, second] = await requests(t.ns);
    expect(numberValue(first!, "cerebrium_run_total", APP)).toBe(5);
    expect(numberValue(second!, "cerebrium_run_total", APP)).toBe(8);
    expect(numberValue(second!, "cerebrium_run_errors_total", APP)).toBe(3);
    expect(histogramValue(second!, "cerebrium_run_execution_time_ms", APP)!.count).toBe(8);
    expect(pointTimesMs(second!, "cerebrium_run_total", APP)!.startTimeMs).toBe(pointTimesMs(first!, "cerebrium_run_total", APP)!.startTimeMs);
    expect(pointTimesMs(second!, "cerebrium_run_total", APP)!.timeMs).toBeGreaterThan(pointTimesMs(first!, "cerebrium_run_total", APP)!.timeMs);
  });

  it("in delta mode folds a failed push into the next one: nothing lost, nothing twice", async () => {
    const t = await setup({ destination: "datadog" });
    expect((await t.status()).temporality).toBe("delta");
    await t.runs(3);
    await t.flush();
    await t.runs(2);
    await script(t.ns, [{ status: 400, body: "bad" }]);
    expect((await t.flush()).body.ok).toBe(false);
    await t.runs(1);
    await t.flush();
    const reqs = await requests(t.ns);
    expect(reqs).toHaveLength(3);
    const delivered = [reqs[0]!, reqs[2]!];
    for (const r of delivered) expect(findMetric(r, "cerebrium_run_total")!.sum!.aggregationTemporality).toBe(1);
    expect(delivered.map((r) => numberValue(r, "cerebrium_run_total", APP))).toEqual([3, 3]);
    expect(delivered.map((r) => histogramValue(r, "cerebrium_run_execution_time_ms", APP)!.count)).toEqual([3, 3]);
    // The second delivered point starts where the first successful push ended.
    expect(pointTimesMs(reqs[2]!, "cerebrium_run_total", APP)!.startTimeMs).toBe(pointTimesMs(reqs[0]!, "cerebrium_run_total", APP)!.timeMs);
    expect(histogramValue(reqs[2]!, "cerebrium_run_execution_time_ms", APP)!.min).toBeUndefined();
  });

  it("splits a push so that no uncompressed body exceeds the destination's limit", async () => {
    const t = await setup({ destination: "datadog", temporality: "cumulative" });
    const apps = 600;
    await t.post(Array.from({ length: apps }, (_, i) => ({ type: "run", app_name: `app-${i}`, execution_ms: i, queue_ms: 1, response_ms: i + 1, success: i % 2 === 0 })));
    const r = await t.flush();
    expect(r.body.ok).toBe(true);
    const reqs = await requests(t.ns);
    expect(reqs.length).toBeGreaterThan(1);
    expect(r.body.requests).toBe(reqs.length);
    for (const req of reqs) expect(req.uncompressedBytes).toBeLessThanOrEqual(512_000);
    const seen = new Map<string, number>();
    for (const req of reqs) {
      for (const p of findMetric(req, "cerebrium_run_total")!.sum!.dataPoints!) {
        const app = p.attributes!.find((a) => a.key === "app_name")!.value!.stringValue!;
        expect(seen.has(app)).toBe(false);
        seen.set(app, Number(p.asInt));
      }
    }
    expect(seen.size).toBe(apps);
    expect([...seen.values()].every((v) => v === 1)).toBe(true);
    expect(r.body.data_points).toBe(apps * 7);
  });

  it("restarts histograms with a new start time when the bucket bounds change, keeping counters", async () => {
    const t = await setup();
    await t.runs(2, { execution_ms: 30 });
    const before = await preview(t.projectId);
    const patch = await call("PATCH", `/v1/projects/${t.projectId}/metrics-export`, { body: { histogram_bounds_ms: [20, 40] } });
    expect(patch.status).toBe(200);
    expect(patch.body.histogram_bounds_ms).toEqual([20, 40]);
    await t.runs(1, { execution_ms: 30 });
    const after = await preview(t.projectId);
    const exec = pointFor(after, "cerebrium_run_execution_time_ms", APP.appName, APP.region)!;
    expect(exec.explicitBounds).toEqual([20, 40]);
    expect(exec.bucketCounts).toEqual([0, 1, 0]);
    expect(BigInt(exec.startTimeUnixNano!)).toBeGreaterThan(BigInt(pointFor(before, "cerebrium_run_execution_time_ms", APP.appName, APP.region)!.startTimeUnixNano!));
    expect(pointFor(after, "cerebrium_run_total", APP.appName, APP.region)!.value).toBe(3);
    expect(pointFor(after, "cerebrium_run_total", APP.appName, APP.region)!.startTimeUnixNano).toBe(
      pointFor(before, "cerebrium_run_total", APP.appName, APP.region)!.startTimeUnixNano,
    );
  });
});

describe("retries", () => {
  it.each([429, 502, 503, 504])("retries %i three times, then a success counts as one good push", async (status) => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ status }, { status }, { status }]);
    const r = await t.flush();
    expect(r.body).toMatchObject({ ok: true, requests: 1, attempts: 4 });
    expect(await requestCount(t.ns)).toBe(4);
    const s = await t.status();
    expect(s.status).toMatchObject({ state: "connected", consecutive_failures: 0 });
    expect(s.status.totals).toMatchObject({ pushes_succeeded: 1, pushes_failed: 0, retries: 3 });
  });

  it("gives up after one try plus three retries", async () => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    const r = await t.flush();
    expect(r.body).toMatchObject({ ok: false, requests: 1, attempts: 4, error: { http_status: 503, classification: "server_error" } });
    expect(await requestCount(t.ns)).toBe(4);
  });

  it.each([400, 401, 403, 404, 413, 500, 501])("does not retry %i", async (status) => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ status }]);
    const r = await t.flush();
    expect(r.body).toMatchObject({ ok: false, attempts: 1 });
    expect(await requestCount(t.ns)).toBe(1);
  });

  it("honours Retry-After", async () => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ status: 429, headers: { "retry-after": "1" } }]);
    const r = await t.flush();
    expect(r.body).toMatchObject({ ok: true, attempts: 2 });
    const [a, b] = await requests(t.ns);
    expect(b!.receivedAtMs - a!.receivedAtMs).toBeGreaterThanOrEqual(140);
  });

  it("times out a request that never answers, retries, and classifies it", async () => {
    const t = await setup({ destination: "prometheus" });
    await t.runs(1);
    await script(t.ns, [{ hang: true }, { hang: true }, { hang: true }, { hang: true }]);
    const r = await t.flush();
    expect(r.body).toMatchObject({ ok: false, attempts: 4, error: { classification: "timeout", http_status: null } });
    expect(r.body.error.hint).toContain("4318");
  });

  it("counts a partial success as success and keeps its message as a warning", async () => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ partialSuccess: { rejectedDataPoints: 2, errorMessage: "2 points too old" } }]);
    expect((await t.flush()).body.ok).toBe(true);
    const s = await t.status();
    expect(s.status.state).toBe("connected");
    expect(s.status.warning).toContain("2 points too old");
    expect(s.status.warning).toContain("2 data point");
  });
});

describe("failure accounting", () => {
  it("pauses at exactly the 10th consecutive failed push, sends nothing while paused, resumes", async () => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, Array.from({ length: 10 }, (): ScriptedResponse => ({ status: 400, body: "nope" })));
    for (let i = 1; i <= 9; i++) {
      expect((await t.flush()).body.ok).toBe(false);
      const s = await t.status();
      expect(s.status).toMatchObject({ state: "failing", consecutive_failures: i, paused_at: null });
    }
    await t.flush();
    const paused = await t.status();
    expect(paused.status).toMatchObject({ state: "paused", consecutive_failures: 10 });
    expect(paused.status.paused_at).not.toBeNull();
    expect(paused.status.last_error).toMatchObject({ http_status: 400, classification: "bad_request" });
    expect(await requestCount(t.ns)).toBe(10);

    const flush = await t.flush();
    expect(flush.status).toBe(409);
    expect(flush.body.error.code).toBe("export_paused");
    const stub = projectStub(t.projectId);
    await runDurableObjectAlarm(stub);
    expect(await requestCount(t.ns)).toBe(10);

    const resumed = await call("POST", `/v1/projects/${t.projectId}/metrics-export/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toMatchObject({ consecutive_failures: 0, paused_at: null });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await requestCount(t.ns)).toBe(11);
    const s = await t.status();
    expect(s.status).toMatchObject({ state: "connected", consecutive_failures: 0 });
    expect(s.status.totals).toMatchObject({ pushes_failed: 10, pushes_succeeded: 1 });
  });

  it.each([
    ["grafana_cloud", 401, "", "unauthorized", "MetricsPublisher"],
    ["grafana_cloud", 403, "", "unauthorized", "Remote Write"],
    ["datadog", 403, "", "unauthorized", "API key"],
    ["prometheus", 404, "", "not_found", "URL"],
    ["custom", 413, "", "payload_too_large", "size"],
    ["grafana_cloud", 400, "invalid temporality and type combination", "bad_request", "temporality"],
    ["custom", 500, "", "server_error", "status page"],
  ])("%s answering %i %s → %s with a hint", async (destination, status, body, classification, hintWord) => {
    const t = await setup({ destination });
    await t.runs(1);
    await script(t.ns, [{ status, body }]);
    await t.flush();
    const s = await t.status();
    expect(s.status.last_error).toMatchObject({ http_status: status, classification });
    expect(s.status.last_error.hint).toContain(hintWord);
    if (body) expect(s.status.last_error.message).toContain(body);
  });

  it("quotes at most 512 characters of a response body and never a header value", async () => {
    const t = await setup();
    await t.runs(1);
    await script(t.ns, [{ status: 400, body: `token Bearer s3cret-token-value ${"x".repeat(2000)}` }]);
    await t.flush();
    const s = await call("GET", `/v1/projects/${t.projectId}/metrics-export`);
    expect(s.text).not.toContain("s3cret-token-value");
    expect(s.body.status.last_error.message.length).toBeLessThanOrEqual(600);
  });
});

describe("schedule", () => {
  it("pushes from the alarm and schedules the next push at the project's slot", async () => {
    const t = await setup();
    await t.runs(2);
    const stub = projectStub(t.projectId);
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();
    const s0 = await t.status();
    expect(Date.parse(s0.status.next_push_at)).toBe(alarmAt);
    // Force the stored slot to now so the alarm is due.
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE export_status SET next_push_at = ?", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await requestCount(t.ns)).toBe(1);
    const next = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(next).toBeGreaterThan(Date.now());
    expect(next! - Date.now()).toBeLessThanOrEqual(3_600_000); // EXPORT_INTERVAL_SECONDS in vitest.config.ts
    expect(Date.parse((await t.status()).status.next_push_at)).toBe(next);
  });

  it("an early or repeated alarm does not push twice", async () => {
    const t = await setup();
    await t.runs(1);
    const stub = projectStub(t.projectId);
    await runInDurableObject(stub, async (_i, state) => {
      await state.storage.setAlarm(Date.now()); // fires before the stored slot
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await requestCount(t.ns)).toBe(0);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it("sends nothing while disabled, keeps aggregating, and previews anyway", async () => {
    const t = await setup();
    await t.runs(2);
    const off = await call("PATCH", `/v1/projects/${t.projectId}/metrics-export`, { body: { enabled: false } });
    expect(off.body.status.state).toBe("disabled");
    const stub = projectStub(t.projectId);
    expect(await scheduledPushAt(t.projectId)).toBeNull();
    expect((await t.flush()).status).toBe(409);
    await t.runs(3);
    const p = await call("GET", `/v1/projects/${t.projectId}/metrics-export/preview`);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ series: 1, data_points: 7, shown_series: 1, truncated: false });
    expect(pointFor(p.body.request, "cerebrium_run_total", APP.appName, APP.region)!.value).toBe(5);
    await call("PATCH", `/v1/projects/${t.projectId}/metrics-export`, { body: { enabled: true } });
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await t.flush();
    expect(numberValue((await requests(t.ns))[0]!, "cerebrium_run_total", APP)).toBe(5);
  });
});

describe("Test Connection", () => {
  it("sends a valid OTLP request with no data points and changes no state", async () => {
    const t = await setup();
    await t.runs(1);
    const before = await t.status();
    const r = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, url: `${receiverUrl(t.ns)}/v1/metrics`, http_status: 200, classification: null });
    expect(typeof r.body.latency_ms).toBe("number");
    const [req] = await requests(t.ns);
    expect(req!.decodeError).toBeUndefined();
    expect(req!.headers.authorization).toBe("Bearer s3cret-token-value");
    expect(metrics(req!)).toEqual([]);
    expect(await t.status()).toEqual(before);
  });

  it.each([
    [401, "unauthorized"],
    [404, "not_found"],
    [429, "rate_limited"],
    [503, "server_error"],
    [400, "bad_request"],
  ])("explains %i as %s without counting toward pausing", async (status, classification) => {
    const t = await setup({ destination: "grafana_cloud" });
    await script(t.ns, [{ status, body: "denied" }]);
    const before = await t.status();
    const r = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`);
    expect(r.body).toMatchObject({ ok: false, http_status: status, classification, response_excerpt: "denied" });
    expect(r.body.hint.length).toBeGreaterThan(10);
    expect(await requestCount(t.ns)).toBe(1);
    expect(await t.status()).toEqual(before);
  });

  it("tests unsaved settings, using the stored value for a header given without one", async () => {
    const t = await setup();
    const other = newNamespace();
    const r = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`, {
      body: { endpoint: receiverUrl(other), headers: [{ name: "Authorization" }, { name: "X-Extra", value: "1" }], protocol: "http/json", compression: "none" },
    });
    expect(r.body.ok).toBe(true);
    const [req] = await requests(other);
    expect(req!.headers.authorization).toBe("Bearer s3cret-token-value");
    expect(req!.headers["x-extra"]).toBe("1");
    expect(req!.contentType).toBe("application/json");
    expect(await requestCount(t.ns)).toBe(0);
  });

  it("reports a closed port as network and a hanging endpoint as timeout", async () => {
    const t = await setup();
    const closed = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`, { body: { endpoint: "http://127.0.0.1:9", headers: [] } });
    expect(closed.body).toMatchObject({ ok: false, classification: "network", http_status: null });
    await script(t.ns, [{ hang: true }]);
    const hung = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`);
    expect(hung.body).toMatchObject({ ok: false, classification: "timeout" });
  });

  it("allows at most 10 tests a minute per project", async () => {
    const t = await setup();
    for (let i = 0; i < 10; i++) expect((await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`)).status).toBe(200);
    const r = await call("POST", `/v1/projects/${t.projectId}/metrics-export/test`);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("rate_limited");
  });
});
