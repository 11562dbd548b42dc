/**
 * Two exports of one project under `wrangler dev` (issue 12): export A points at a server that
 * accepts connections and never answers; export B at VictoriaMetrics, with a filter that leaves the
 * four histograms out. B's pushes arrive on schedule and exact while A times out, retries and pauses;
 * the filtered-out names are absent in VictoriaMetrics and the rest exact.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api as harnessApi, skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

const INTERVAL_S = 2;
const HISTOGRAMS = ["cerebrium_run_execution_time_ms", "cerebrium_run_queue_time_ms", "cerebrium_run_coldstart_time_ms", "cerebrium_run_response_time_ms"];

describe.skipIf(skipWithoutVictoriaMetrics())("several exports, isolated, filtered", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  let hanging: http.Server;
  const held = new Set<http.ServerResponse>();
  const api = (method: string, route: string, token: string, body?: unknown) => harnessApi(worker, method, route, token, body);

  beforeAll(async () => {
    hanging = http.createServer((_req, res) => void held.add(res));
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    [vm, worker] = await Promise.all([
      startVictoriaMetrics(),
      startWorker({ vars: { EXPORT_INTERVAL_SECONDS: String(INTERVAL_S), EXPORT_REQUEST_TIMEOUT_MS: "300", EXPORT_RETRY_BASE_MS: "20" } }),
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const res of held) res.destroy();
    hanging?.closeAllConnections();
    await Promise.all([worker?.stop(), vm?.stop(), new Promise((resolve) => hanging?.close(resolve))]);
  });

  it("B arrives on schedule and exact while A hangs and pauses; B's filter keeps the histograms out", async () => {
    const admin = worker.adminToken;
    const { project_id: projectId } = (await api("POST", "/v1/projects", admin, {})).body;
    const { key } = (await api("POST", "/v1/ingest-keys", admin, { host_id: "iso-host" })).body;
    const a = await api("POST", `/v1/projects/${projectId}/metrics-exports`, admin, {
      name: "A (hangs)",
      endpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`,
    });
    expect(a.status).toBe(201);
    const b = await api("POST", `/v1/projects/${projectId}/metrics-exports`, admin, {
      name: "B (VictoriaMetrics)",
      endpoint: `${vm.url}/opentelemetry`,
      destination: "prometheus",
      filters: { metrics: { exclude: HISTOGRAMS } },
    });
    expect(b.status).toBe(201);
    const samples = Array.from({ length: 10 }, (_, i) => ({
      type: "run",
      project_id: projectId,
      app_name: "iso-app",
      region: "us-east-1",
      time: Date.now(),
      execution_ms: 10 + i,
      queue_ms: 1,
      response_ms: 12 + i,
      success: i !== 3,
    }));
    expect((await api("POST", "/v1/samples", key, { host_id: "iso-host", batch_id: "iso-1", samples })).body).toMatchObject({ accepted: 10 });
    const started = Date.now();

    // A pauses after 10 failed pushes (each: 4 attempts of 300 ms and backoffs).
    let views: any[] = [];
    while (Date.now() - started < 90_000) {
      views = (await api("GET", `/v1/projects/${projectId}/metrics-exports`, admin)).body.exports;
      if (views[0]?.status.state === "paused") break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const pausedAfterMs = Date.now() - started;
    expect(views[0]).toMatchObject({ export_id: a.body.export_id, status: { state: "paused", consecutive_failures: 10, last_error: { classification: "timeout" } } });
    expect(views[1]).toMatchObject({ export_id: b.body.export_id, status: { state: "connected", consecutive_failures: 0 } });

    // B's samples in VictoriaMetrics: one per scheduled push, at most an interval (and some slack) apart, each exact.
    await vm.forceFlush();
    const exported = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": `cerebrium_run_total{project_id="${projectId}"}` })}`);
    const line = (await exported.text()).trim().split("\n").filter(Boolean)[0];
    const series = JSON.parse(line!) as { values: number[]; timestamps: number[] };
    const gaps = series.timestamps.slice(1).map((t, i) => t - series.timestamps[i]!);
    console.log(`isolation e2e: A paused after ${(pausedAfterMs / 1000).toFixed(1)} s; B pushed ${series.timestamps.length} times meanwhile, gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join(", ")} s`);
    expect(series.timestamps.length).toBeGreaterThanOrEqual(Math.floor(pausedAfterMs / 1000 / INTERVAL_S) - 2);
    for (const g of gaps) expect(g).toBeLessThan(INTERVAL_S * 1000 * 1.75);
    for (const v of series.values) expect(v).toBe(10);
    expect(Number((await vm.query(`cerebrium_run_errors_total{project_id="${projectId}"}`))[0]!.value[1])).toBe(1);
    expect(Number((await vm.query(`cerebrium_run_successes_total{project_id="${projectId}"}`))[0]!.value[1])).toBe(9);
    // Filtered out: no histogram series at all.
    expect(await vm.query(`{__name__=~"cerebrium_run_.*_time_.*", project_id="${projectId}"}`)).toEqual([]);
  }, 150_000);
});
