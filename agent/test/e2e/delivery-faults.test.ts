/**
 * Delivery faults, end to end: the bundled agent (a real child process) → a switchable proxy
 * (support/edge-proxy.ts) → the real worker under wrangler. Totals are read back from the worker
 * (its next push, the preview), so "nothing lost, nothing counted twice" is checked where it counts.
 *
 * Intervals are 200 ms and the backoff 50–400 ms, so an outage of "several intervals" takes a second.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type Worker } from "../../../test/e2e/harness";
import { parseSpoolFileName, spoolFileName } from "../../src/delivery/spool";
import { EdgeProxy } from "../support/edge-proxy";
import { APPS_RULE, buildScenario, FakeHost, PROJECT_A, PROJECT_B } from "../support/fake-host";
import { AgentProcess, until } from "./agent-process";
import { edgeApi, type EdgeApi } from "./edge-api";

let worker: Worker;
let edge: EdgeApi;
let root: string;

beforeAll(async () => {
  worker = await startWorker();
  edge = edgeApi(worker);
  root = mkdtempSync(path.join(tmpdir(), "agent-faults-"));
  for (const id of [PROJECT_A, PROJECT_B]) await edge.project(id);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Runs with known values: `n` of them, every third a failure, every fourth with a cold start. */
function runs(projectId: string, n: number, from = 0) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      project_id: projectId,
      app_name: "svc",
      execution_ms: 10 + i,
      queue_ms: 1,
      response_ms: 12 + i,
      success: i % 3 !== 0,
      ...(i % 4 === 0 ? { coldstart_ms: 900 } : {}),
    };
  });
}

/** A scenario: its project, its host and key, a proxy to the worker, and a config for agents on one spool. */
async function scenario(name: string, extra: Record<string, unknown> = {}) {
  const projectId = `p-${name}`;
  await edge.project(projectId);
  const hostId = `host-${name}`;
  const key = await edge.ingestKey(hostId);
  const proxy = await EdgeProxy.start(worker.url);
  const dir = path.join(root, name);
  const emptyTree = mkdtempSync(path.join(root, `${name}-cgroup-`));
  const config = {
    edge_url: proxy.url,
    host_id: hostId,
    region: "eu-west-1",
    interval_seconds: 0.2,
    spool_dir: "spool",
    cgroup_root: emptyTree,
    // A CPU-only host: no nvidia-smi at all.
    nvidia_smi: path.join(root, "no-nvidia-smi"),
    mapping: { rules: [{ pattern: APPS_RULE }] },
    retry_base_ms: 50,
    retry_max_ms: 400,
    request_timeout_ms: 10_000,
    shutdown_timeout_seconds: 2,
    ...extra,
  };
  const env = { METRICS_EXPORT_INGEST_KEY: key };
  const start = () => AgentProcess.start(dir, config, env);
  const totals = async () => {
    const [total, successes, errors] = await Promise.all(
      ["cerebrium_run_total", "cerebrium_run_successes_total", "cerebrium_run_errors_total"].map(async (m) => (await edge.counter(projectId, m)).get("svc|eu-west-1") ?? 0),
    );
    return { total, successes, errors };
  };
  return { projectId, proxy, dir, spoolDir: path.join(dir, "spool"), start, totals };
}

/** Batch files in a spool, not counting a temporary file a seal is writing right now. */
const spooled = (spoolDir: string) => readdirSync(spoolDir).filter((f) => parseSpoolFileName(f) !== undefined);
const expected = (n: number) => ({ total: n, successes: n - Math.ceil(n / 3), errors: Math.ceil(n / 3) });
/** The figures behind each test's assertions, for the record (the closing note asks for them). */
const report = (test: string, figures: Record<string, unknown>) => console.log(`[agent faults] ${test}: ${JSON.stringify(figures)}`);

describe("the agent delivers through faults without loss or double counting", () => {
  it("edge down for several intervals (connection refused, then 503), then up: totals exact", async () => {
    const s = await scenario("outage");
    await s.proxy.setMode("refuse");
    const agent = await s.start();
    // The empty cgroup tree gives no resource samples: each wave of runs is one batch.
    const sealed = (batches: number) => until(`${batches} batches spooled`, async () => ((await agent.metric("batches_sealed_total")) >= batches ? true : undefined));
    try {
      const readingsBefore = await agent.metric("readings_total");
      expect((await agent.postRuns(runs(s.projectId, 40))).body).toEqual({ accepted: 40, rejected: [] });
      await sealed(1);
      await until("two failed attempts while refused", async () => ((await agent.metric("batches_failed_total")) >= 2 ? true : undefined));
      expect((await agent.postRuns(runs(s.projectId, 40, 40))).status).toBe(202);
      await sealed(2);
      await s.proxy.setMode("unavailable");
      expect((await agent.postRuns(runs(s.projectId, 40, 80))).status).toBe(202);
      await sealed(3);
      await until("503s seen by the proxy", () => (s.proxy.exchanges.filter((e) => e.status === 503).length >= 3 ? true : undefined));
      const m = await agent.metrics();
      expect(m.get("spool_batches")).toBe(3);
      expect(m.get("batches_sent_total")).toBe(0);
      // The outage lasted several intervals.
      expect(m.get("readings_total")! - readingsBefore).toBeGreaterThanOrEqual(3);

      await s.proxy.setMode("forward");
      await agent.drained();
      expect(await s.totals()).toEqual(expected(120));
      // Every delivered batch was applied once: no duplicates were needed.
      const delivered = s.proxy.delivered();
      expect(delivered.every((e) => e.response?.duplicate === false)).toBe(true);
      expect(new Set(delivered.map((e) => e.batchId)).size).toBe(delivered.length);
      expect(delivered.flatMap((e) => e.samples)).toHaveLength(120);
      expect(await agent.metric("runs_received_total")).toBe(120);
      expect(await agent.metric("samples_accepted_total")).toBe(120);
      // Failures are logged once a minute, not per attempt; so is the missing nvidia-smi.
      expect(agent.events("delivery_failed")).toHaveLength(1);
      expect(await agent.metric("readings_total")).toBeGreaterThan(5);
      expect(agent.events("nvidia_smi_unavailable")).toHaveLength(1);
      // The empty folder standing in for the cgroup tree is no cgroup v2 mount: said once, at start.
      expect(agent.events("cgroup_not_v2")).toHaveLength(1);
      const after = await agent.metrics();
      expect(after.get("nvidia_smi_failures_total")).toBe(after.get("readings_total"));
      report("outage", { runs_posted: 120, ...(await s.totals()), failed_attempts: after.get("batches_failed_total"), batches: delivered.length });
    } finally {
      await agent.kill("SIGKILL");
      await s.proxy.stop();
    }
  });

  it("kill -9 between spool write and post, and between post and delete; restarts: totals exact, re-sends answered duplicate", async () => {
    const s = await scenario("restarts");

    // 1. Written, never posted: the edge refuses connections; the agent dies with its batch on disk.
    await s.proxy.setMode("refuse");
    const first = await s.start();
    expect((await first.postRuns(runs(s.projectId, 30))).status).toBe(202);
    await until("the runs spooled", async () => {
      const m = await first.metrics();
      return m.get("pending_samples") === 0 && m.get("spool_batches")! >= 1 ? true : undefined;
    });
    expect((await first.kill("SIGKILL")).signal).toBe("SIGKILL");
    const afterFirst = spooled(s.spoolDir);
    expect(afterFirst.length).toBeGreaterThanOrEqual(1);

    // 2. Posted and applied, never answered: the proxy holds the edge's 202s. New runs are spooled
    //    behind them (not yet posted: the sender waits for its round). The agent dies again.
    await s.proxy.setMode("hold");
    const second = await s.start();
    expect((await second.postRuns(runs(s.projectId, 20, 30))).status).toBe(202);
    const held = await until("the old batches applied at the edge and the new runs spooled", async () => {
      const applied = s.proxy.delivered().map((e) => e.batchId);
      // Counted once a batch is renamed into place and the folder synced (not while it is being written).
      const m = await second.metrics();
      const ready = m.get("pending_samples") === 0 && m.get("spool_batches") === afterFirst.length + 1 && afterFirst.every((f) => applied.some((id) => f.includes(id)));
      return ready ? applied : undefined;
    });
    expect(spooled(s.spoolDir)).toHaveLength(afterFirst.length + 1);
    expect((await second.kill("SIGKILL")).signal).toBe("SIGKILL");
    expect(await s.totals()).toEqual(expected(30));

    // A batch from long ago, as a crashed agent might leave it: never sent, dropped and counted.
    const oldId = "00000000-0000-4000-8000-000000000001";
    const old = { batchId: oldId, sealedAtMs: Date.now() - 2 * 3_600_000, seq: 0, samples: 1, runs: 1 };
    const oldRun = { type: "run", region: "eu-west-1", time: old.sealedAtMs, ...runs(s.projectId, 1)[0] };
    writeFileSync(path.join(s.spoolDir, spoolFileName(old)), gzipSync(JSON.stringify({ host_id: "host-restarts", batch_id: oldId, samples: [oldRun] })));

    // 3. Back up: everything re-sent with its batch_id; the edge answers duplicate and counts nothing twice.
    await s.proxy.setMode("forward");
    const third = await s.start();
    try {
      // The held batch(es), the one spooled behind them and the old one; no seal was cut off by the kill.
      expect(third.events("spool_opened")).toEqual([expect.objectContaining({ batches: afterFirst.length + 2, temp_files_removed: 0 })]);
      await third.drained();
      expect(await s.totals()).toEqual(expected(50));
      const resent = s.proxy.exchanges.filter((e) => e.mode === "forward" && held.includes(e.batchId));
      expect(resent.map((e) => [e.status, e.response?.duplicate]).sort()).toEqual(held.map(() => [202, true]));
      expect(await third.metric("batches_duplicate_total")).toBe(held.length);
      expect(await third.metric('batches_dropped_total{reason="too_old"}')).toBe(1);
      expect(await third.metric('runs_dropped_total{reason="too_old"}')).toBe(1);
      expect(s.proxy.exchanges.some((e) => e.batchId === oldId)).toBe(false);
      expect(readdirSync(s.spoolDir)).toEqual([]);
      report("kill -9 at each spool step", { runs_posted: 50, ...(await s.totals()), batches_resent_as_duplicate: held.length, old_batches_dropped: 1 });
    } finally {
      await third.kill("SIGKILL");
      await s.proxy.stop();
    }
  });

  it("spool full: POST /runs answers 503, the oldest batches are dropped and counted; the edge gets exactly the rest", async () => {
    const host = new FakeHost();
    buildScenario(host);
    // Readings of the fake host keep filling the spool while runs are refused.
    const s = await scenario("spoolfull", { spool_max_bytes: 4096, cgroup_root: host.cgroupRoot, proc_root: host.procRoot, containers_under: "/apps" });
    await s.proxy.setMode("refuse");
    const agent = await s.start();
    try {
      let accepted = 0;
      let refused: { status: number; body: { error?: { code: string } } } | undefined;
      for (let i = 0; refused === undefined; i += 25) {
        const r = await agent.postRuns(runs(s.projectId, 25, i));
        if (r.status === 202) accepted += 25;
        else refused = r;
        await until("a seal", async () => ((await agent.metric("pending_samples")) === 0 ? true : undefined));
        expect(i).toBeLessThan(5000);
      }
      expect(refused).toEqual({ status: 503, body: { error: { code: "spool_full", message: expect.stringContaining("spool is full") } } });
      await until("dropped batches", async () => ((await agent.metric('batches_dropped_total{reason="spool_full"}')) >= 3 ? true : undefined));
      const m = await agent.metrics();
      expect(m.get("spool_bytes")).toBeLessThanOrEqual(4096);
      expect(m.get("run_requests_refused_total")).toBeGreaterThanOrEqual(1);

      await s.proxy.setMode("forward");
      await agent.drained();
      expect(agent.events("batch_dropped_spool_full").length).toBe(await agent.metric('batches_dropped_total{reason="spool_full"}'));
      const runsDropped = await agent.metric('runs_dropped_total{reason="spool_full"}');
      expect(runsDropped).toBeGreaterThan(0);
      expect(await agent.metric("runs_received_total")).toBe(accepted);
      expect((await s.totals()).total).toBe(accepted - runsDropped);
      report("spool full", { runs_accepted: accepted, runs_dropped: runsDropped, edge_total: (await s.totals()).total, requests_refused_503: await agent.metric("run_requests_refused_total") });
      // Accepted again once there is room.
      expect((await agent.postRuns(runs(s.projectId, 1))).status).toBe(202);
    } finally {
      await agent.kill("SIGKILL");
      await s.proxy.stop();
      host.remove();
    }
  });

  it("a batch the edge answers 400 is dropped with the edge's reason logged; later batches are delivered", async () => {
    const s = await scenario("badbatch");
    await s.proxy.setMode("corrupt");
    const agent = await s.start();
    try {
      expect((await agent.postRuns(runs(s.projectId, 10))).status).toBe(202);
      const [rejected] = await until("batch_rejected", () => (agent.events("batch_rejected").length > 0 ? agent.events("batch_rejected") : undefined));
      expect(rejected).toMatchObject({
        level: "error",
        samples: 10,
        runs: 10,
        status: 400,
        code: "invalid_request",
        message: 'Unknown field "extra" (expected host_id, batch_id, samples).',
      });
      expect(await agent.metric('batches_dropped_total{reason="rejected"}')).toBe(1);
      expect(await agent.metric('runs_dropped_total{reason="rejected"}')).toBe(10);

      await s.proxy.setMode("forward");
      expect((await agent.postRuns(runs(s.projectId, 5, 10))).status).toBe(202);
      await agent.drained();
      await until("the 5 runs counted", async () => ((await s.totals()).total === 5 ? true : undefined));
      expect(await agent.metric('batches_dropped_total{reason="rejected"}')).toBe(1);
      expect(readdirSync(s.spoolDir)).toEqual([]);
      report("400 batch", { runs_posted: 15, runs_dropped_400: 10, edge_total: (await s.totals()).total });
    } finally {
      await agent.kill("SIGKILL");
      await s.proxy.stop();
    }
  });
});
