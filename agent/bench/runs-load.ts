/**
 * `npm run bench:agent`: the agent's CPU and memory while the platform's router reports 1,000 runs per
 * second to `POST /runs` (one run per request by default, as a router reports each finished request).
 *
 * The bundled agent runs as its own process on the fake host (readings every 15 s with the fake
 * nvidia-smi), delivering to a stub edge on 127.0.0.1 that answers 202; this process generates the
 * load. CPU is the agent process's own user + system time over the measured window (its children —
 * nvidia-smi — reported apart), RSS from /proc/<pid>/status. Loopback only, bounded in time.
 *
 * BENCH_AGENT_SECONDS (30), BENCH_AGENT_RATE (1000 runs/s), BENCH_AGENT_RUNS_PER_REQUEST (1).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { percentile, request } from "../../bench/load.ts";
import { AgentProcess, sleep } from "../test/e2e/agent-process.ts";
import { EdgeProxy } from "../test/support/edge-proxy.ts";
import { APPS_RULE, BUSY_APPS, BUSY_GPUS, buildScenario, FakeHost, fakeNvidiaSmiEnv, PROJECT_A } from "../test/support/fake-host.ts";

const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 30);
const RATE = Number(process.env.BENCH_AGENT_RATE ?? 1000);
const RUNS_PER_REQUEST = Number(process.env.BENCH_AGENT_RUNS_PER_REQUEST ?? 1);
const WARMUP_SECONDS = 3;
const TICK_MS = 10;
const MAX_SOCKETS = 16;
const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime, stime, cutime, cstime of a process, in seconds (proc(5): fields 14-17 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  const [utime, stime, cutime, cstime] = [fields[11]!, fields[12]!, fields[13]!, fields[14]!];
  return { own: (utime + stime) / CLOCK_TICKS_PER_SECOND, children: (cutime + cstime) / CLOCK_TICKS_PER_SECOND };
}

function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kib / 1024;
}

async function main(): Promise<void> {
  const host = new FakeHost();
  buildScenario(host);
  const edge = await EdgeProxy.start();
  const dir = mkdtempSync(path.join(tmpdir(), "agent-bench-"));
  const agent = await AgentProcess.start(
    dir,
    {
      edge_url: edge.url,
      host_id: "bench-host",
      region: "us-east-1",
      spool_dir: "spool",
      cgroup_root: host.cgroupRoot,
      containers_under: "/apps",
      proc_root: host.procRoot,
      mapping: { rules: [{ pattern: APPS_RULE, readiness_file: host.readinessTemplate }] },
    },
    { ...fakeNvidiaSmiEnv(BUSY_GPUS, BUSY_APPS), METRICS_EXPORT_INGEST_KEY: "cmx_ik_bench" },
  );
  const runsUrl = new URL(`http://${agent.address}/runs`);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const latenciesMs: number[] = [];
  let sent = 0;
  let accepted = 0;
  let failed = 0;
  let inFlight = 0;

  const post = async (runs: unknown[]) => {
    const started = performance.now();
    inFlight += 1;
    try {
      const reply = await request(keepAlive, runsUrl, "POST", { "content-type": "application/json" }, Buffer.from(JSON.stringify(runs.length === 1 ? runs[0] : runs)));
      latenciesMs.push(performance.now() - started);
      if (reply.status === 202) accepted += (JSON.parse(reply.body) as { accepted: number }).accepted;
      else failed += runs.length;
    } catch {
      failed += runs.length;
    } finally {
      inFlight -= 1;
    }
  };

  const run = (i: number) => ({ project_id: PROJECT_A, app_name: "my-model", execution_ms: 50 + (i % 400), queue_ms: i % 9, response_ms: 60 + (i % 400), success: i % 50 !== 0 });

  process.stderr.write(`agent pid ${agent.pid}; ${RATE} runs/s in requests of ${RUNS_PER_REQUEST}, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured\n`);
  const startMs = performance.now();
  const endMs = startMs + (WARMUP_SECONDS + SECONDS) * 1000;
  let measureFrom: { cpu: { own: number; children: number }; atMs: number; sent: number } | undefined;
  const rssSamples: number[] = [];
  let nextRssMs = startMs;
  while (performance.now() < endMs) {
    const now = performance.now();
    if (measureFrom === undefined && now - startMs >= WARMUP_SECONDS * 1000) {
      measureFrom = { cpu: cpuSeconds(agent.pid), atMs: now, sent };
      latenciesMs.length = 0;
    }
    if (measureFrom !== undefined && now >= nextRssMs) {
      rssSamples.push(rssMiB(agent.pid));
      nextRssMs = now + 1000;
    }
    // Catch up to the schedule: runs due by now, in whole requests.
    const due = Math.floor(((now - startMs) / 1000) * RATE);
    while (sent + RUNS_PER_REQUEST <= due && inFlight < MAX_SOCKETS * 4) {
      const runs = Array.from({ length: RUNS_PER_REQUEST }, (_, k) => run(sent + k));
      sent += RUNS_PER_REQUEST;
      void post(runs);
    }
    await sleep(TICK_MS);
  }
  const cpuEnd = cpuSeconds(agent.pid);
  const windowS = (performance.now() - measureFrom!.atMs) / 1000;
  const rssEnd = rssMiB(agent.pid);
  while (inFlight > 0) await sleep(TICK_MS);
  const metrics = await agent.metrics();
  expectEqual("agent stopped cleanly", (await agent.kill("SIGTERM")).code, 0);
  const deliveredRuns = edge.delivered().flatMap((e) => e.samples).filter((s) => s.type === "run").length;
  await edge.stop();
  host.remove();
  rmSync(dir, { recursive: true, force: true });

  const sorted = latenciesMs.sort((a, b) => a - b);
  const result = {
    runs_per_second_offered: RATE,
    runs_per_request: RUNS_PER_REQUEST,
    runs_per_second_achieved: Math.round((sent - measureFrom!.sent) / windowS),
    measured_seconds: Math.round(windowS * 10) / 10,
    agent_cpu_percent_of_one_core: Math.round(((cpuEnd.own - measureFrom!.cpu.own) / windowS) * 1000) / 10,
    children_cpu_seconds_nvidia_smi: Math.round((cpuEnd.children - measureFrom!.cpu.children) * 100) / 100,
    rss_mib_max: Math.round(Math.max(...rssSamples) * 10) / 10,
    rss_mib_end: Math.round(rssEnd * 10) / 10,
    runs_latency_ms_p50: Math.round(percentile(sorted, 50) * 100) / 100,
    runs_latency_ms_p99: Math.round(percentile(sorted, 99) * 100) / 100,
    runs_sent: sent,
    runs_accepted: accepted,
    runs_failed: failed,
    runs_delivered_to_edge: deliveredRuns,
    batches_sent: metrics.get("batches_sent_total"),
  };
  expectEqual("every accepted run delivered", deliveredRuns, accepted);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

await main();
