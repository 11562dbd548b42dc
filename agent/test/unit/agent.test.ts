/**
 * The whole agent in this process, against a stub edge on 127.0.0.1 (support/edge-proxy.ts without a
 * target) and the fake host: batching, the local endpoint's answers, health and metrics, graceful stop.
 * Faults against the real worker are in ../e2e/delivery-faults.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent";
import { parseConfig } from "../../src/config";
import { createLogger } from "../../src/log";
import { APPS_RULE, BUSY_APPS, BUSY_GPUS, buildScenario, FakeHost, fakeNvidiaSmiEnv, myModelSample, PROJECT_A } from "../support/fake-host";
import { EdgeProxy } from "../support/edge-proxy";

const savedEnv = { ...process.env };
let host: FakeHost;
let edge: EdgeProxy;
let agent: Agent | undefined;
let spoolDir: string;
let logs: Record<string, unknown>[];
const run = (i: number) => ({ project_id: PROJECT_A, app_name: "my-model", execution_ms: i, queue_ms: 1, response_ms: i + 1, success: i % 3 !== 0 });

async function start(overrides: Record<string, unknown> = {}): Promise<Agent> {
  const config = parseConfig(
    {
      edge_url: edge.url,
      host_id: "unit-host",
      region: "us-east-1",
      interval_seconds: 0.2,
      spool_dir: spoolDir,
      listen: "127.0.0.1:0",
      cgroup_root: host.cgroupRoot,
      containers_under: "/apps",
      proc_root: host.procRoot,
      mapping: { rules: [{ pattern: APPS_RULE, readiness_file: host.readinessTemplate }] },
      retry_base_ms: 20,
      retry_max_ms: 100,
      log_level: "debug",
      ...overrides,
    },
    path.join(host.root, "agent.json"),
  );
  agent = await Agent.start(config, "cmx_ik_unit", createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }));
  return agent;
}

const call = async (method: string, p: string, body?: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`http://${agent!.address}${p}`, { method, headers: { "content-type": "application/json", ...headers }, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
};

beforeEach(async () => {
  host = new FakeHost();
  buildScenario(host);
  edge = await EdgeProxy.start();
  spoolDir = mkdtempSync(path.join(tmpdir(), "agent-unit-spool-"));
  logs = [];
  Object.assign(process.env, fakeNvidiaSmiEnv(BUSY_GPUS, BUSY_APPS));
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await edge.stop();
  host.remove();
  rmSync(spoolDir, { recursive: true, force: true });
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

describe("agent with a stub edge", () => {
  it("seals runs at batch_max_samples and at each interval, each batch with a fresh batch_id, gzip-compressed", async () => {
    await start({ batch_max_samples: 5 });
    const r = await call("POST", "/runs", JSON.stringify(Array.from({ length: 12 }, (_, i) => run(i))));
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ accepted: 12, rejected: [] });
    await expect.poll(() => edge.delivered().flatMap((e) => e.samples).filter((s) => s.type === "run").length, { timeout: 5_000 }).toBe(12);
    await expect.poll(() => edge.delivered().filter((e) => e.samples.some((s) => s.type === "resource")).length, { timeout: 5_000 }).toBeGreaterThan(1);

    const batches = edge.delivered();
    expect(new Set(batches.map((b) => b.batchId)).size).toBe(batches.length);
    expect(Math.max(...batches.map((b) => b.samples.length))).toBeLessThanOrEqual(5);
    expect(batches.every((b) => b.hostId === "unit-host")).toBe(true);
    const runs = batches.flatMap((b) => b.samples).filter((s) => s.type === "run");
    expect(runs.map((s) => s.execution_ms).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // The first batch holds the first 5 runs, sealed at once, before any interval passed.
    expect(batches[0]!.samples.map((s) => s.execution_ms)).toEqual([0, 1, 2, 3, 4]);

    const resource = batches.flatMap((b) => b.samples).find((s) => s.type === "resource" && s.app_name === "my-model")!;
    // The fake counters do not move: 0 cores.
    expect(resource).toEqual({ ...myModelSample(0), time: expect.any(Number) });
  });

  it("the run endpoint answers each kind of bad request with the edge's error shape", async () => {
    await start();
    const bad = await call("POST", "/runs", JSON.stringify([run(1), { ...run(2), queue_ms: -1 }]));
    expect(bad.status).toBe(202);
    expect(bad.json()).toEqual({ accepted: 1, rejected: [{ index: 1, code: "invalid_field", message: "queue_ms: must not be negative." }] });
    const cases: [string, string, string | undefined, Record<string, string>, number, string][] = [
      ["POST", "/runs", "{not json", {}, 400, "invalid_json"],
      ["POST", "/runs", "[]", {}, 400, "invalid_request"],
      ["POST", "/runs", JSON.stringify("x".repeat(1024 * 1024)), {}, 413, "payload_too_large"],
      ["POST", "/runs", "{}", { "content-encoding": "gzip" }, 415, "unsupported_media_type"],
      ["GET", "/runs", undefined, {}, 405, "method_not_allowed"],
      ["GET", "/nothing", undefined, {}, 404, "not_found"],
    ];
    for (const [method, p, body, headers, status, code] of cases) {
      const r = await call(method, p, body, headers);
      expect([p, r.status, (r.json().error as { code: string }).code]).toEqual([p, status, code]);
    }
    const metrics = (await call("GET", "/metrics")).text;
    expect(metrics).toContain("metrics_export_agent_runs_received_total 1\n");
    expect(metrics).toContain("metrics_export_agent_runs_invalid_total 1\n");
  });

  it("GET /healthz and GET /metrics report the spool, deliveries and the containers seen", async () => {
    await start();
    await expect.poll(async () => (await call("GET", "/metrics")).text, { timeout: 5_000 }).toMatch(/metrics_export_agent_batches_sent_total [1-9]/);
    const health = await call("GET", "/healthz");
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ ok: true, spool_batches: expect.any(Number), last_success_at: expect.stringMatching(/^20\d\d-/) });
    const metrics = (await call("GET", "/metrics")).text;
    expect(metrics).toContain('metrics_export_agent_containers{state="mapped"} 3\n');
    expect(metrics).toContain('metrics_export_agent_containers{state="unmapped"} 1\n');
    expect(metrics).toContain('metrics_export_agent_gpu_utilization_percent{gpu="0",uuid="GPU-00000000-1111-2222-3333-444444444444"} 100\n');
    expect((await call("GET", "/metrics")).headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  it("stop() refuses new runs, seals what is pending and delivers it before returning", async () => {
    await start({ interval_seconds: 3600 });
    expect((await call("POST", "/runs", JSON.stringify([run(1), run(2), run(3)]))).status).toBe(202);
    const stopping = agent!.stop();
    await stopping;
    expect(edge.delivered().flatMap((e) => e.samples).filter((s) => s.type === "run")).toHaveLength(3);
    expect(logs.find((l) => l.event === "agent_stopped")).toMatchObject({ delivered_all: true, spool_batches: 0 });
    agent = undefined;
  });
});
