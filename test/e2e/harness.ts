/**
 * End-to-end helpers, run from Node (vitest project "e2e"): a real VictoriaMetrics and the real worker
 * under `wrangler dev`, each on 127.0.0.1 at a free port with fresh temporary storage.
 *
 * Every process is started in its own process group (`detached`) so that `stop()` also reaches the
 * grandchildren (wrangler's workerd). Whatever a test forgets to stop is killed, and its temp dir
 * removed, when the test process exits or receives SIGINT/SIGTERM/SIGHUP.
 *
 * Set E2E_VERBOSE=1 to see the children's output as it happens; otherwise the tail of it is put into
 * the error when a start fails.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { nextPushAt } from "../../src/export/schedule";

const PROJECT_DIR = path.resolve(import.meta.dirname, "../..");
const VICTORIA_METRICS_SCRIPT = path.join(PROJECT_DIR, "scripts/victoria-metrics.sh");
const WRANGLER_JS = path.join(PROJECT_DIR, "node_modules/wrangler/bin/wrangler.js");

const VICTORIA_METRICS_READY_TIMEOUT_MS = 30_000;
const NEW_SERIES_VISIBLE_TIMEOUT_MS = 5_000;
// The first `wrangler dev` bundles the worker and boots workerd; on 2 cores that can take a while.
const WORKER_READY_TIMEOUT_MS = 90_000;
const MIGRATIONS_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const READY_POLL_INTERVAL_MS = 100;
// A free port can be taken by someone else between freePort() and the child's bind.
const START_ATTEMPTS = 3;
const OUTPUT_TAIL_LINES = 60;

// ---------------------------------------------------------------------------------------------------
// Ports and cleanup

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("freePort: no port assigned"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Synchronous last-resort cleanups, run on process exit or a terminating signal. */
const exitCleanups = new Set<() => void>();
let exitHooksInstalled = false;

function runExitCleanups(): void {
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is going away.
    }
  }
  exitCleanups.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", runExitCleanups);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      runExitCleanups();
      // Re-raise so the process still ends the way the signal meant it to.
      process.kill(process.pid, signal);
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone.
  }
}

function groupAlive(pid: number): boolean {
  return killGroup(pid, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------
// Child processes

interface Managed {
  child: ChildProcess;
  /** Last lines of stdout+stderr, for error messages. */
  tail(): string;
  /** Resolves once the child has exited (immediately if it already has). */
  exited: Promise<void>;
  hasExited(): boolean;
  stop(): Promise<void>;
}

function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, tempDir: string): Managed {
  installExitHooks();
  const child = spawn(command, args, {
    cwd: PROJECT_DIR,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const verbose = Boolean(process.env.E2E_VERBOSE);
  const collect = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    if (verbose) process.stderr.write(text.replace(/^(?=.)/gm, `[${name}] `));
    lines.push(...text.split("\n").filter((line) => line.length > 0));
    if (lines.length > OUTPUT_TAIL_LINES) lines.splice(0, lines.length - OUTPUT_TAIL_LINES);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      lines.push(`spawn error: ${error.message}`);
      exited = true;
      resolve();
    });
  });

  const pid = child.pid;
  const removeTemp = () => rmSync(tempDir, { recursive: true, force: true });
  const lastResort = () => {
    if (pid !== undefined) killGroup(pid, "SIGKILL");
    removeTemp();
  };
  exitCleanups.add(lastResort);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (pid !== undefined) {
        killGroup(pid, "SIGTERM");
        await Promise.race([exitedPromise, sleep(STOP_GRACE_MS)]);
        // The leader may be gone while its children (workerd) still shut down.
        const deadline = Date.now() + STOP_GRACE_MS;
        while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
        killGroup(pid, "SIGKILL");
        await exitedPromise;
      }
      exitCleanups.delete(lastResort);
      removeTemp();
    })();
    return stopping;
  };

  return {
    child,
    tail: () => lines.join("\n"),
    exited: exitedPromise,
    hasExited: () => exited,
    stop,
  };
}

/**
 * Polls `url` until `accept(status)` holds. Fails early, with the child's output, if the child exits.
 */
async function waitUntilReady(
  name: string,
  managed: Managed,
  url: string,
  accept: (status: number) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = "no answer yet";
  while (Date.now() < deadline) {
    if (managed.hasExited()) {
      throw new ChildExitedEarly(`${name} exited before ${url} answered:\n${managed.tail()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (accept(response.status)) return;
      lastProblem = `status ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? `${error.message}` : String(error);
    }
    await sleep(READY_POLL_INTERVAL_MS);
  }
  throw new Error(`${name}: ${url} not ready after ${timeoutMs} ms (${lastProblem}). Output:\n${managed.tail()}`);
}

class ChildExitedEarly extends Error {}

/** Runs `start` up to START_ATTEMPTS times while the child dies at start-up because its port was taken. */
async function withStartRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const portTaken = error instanceof ChildExitedEarly && /EADDRINUSE|address already in use/i.test(error.message);
      if (!portTaken || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// VictoriaMetrics

let resolvedVictoriaMetrics: { bin?: string; problem?: string } | undefined;

/**
 * Absolute path of a victoria-metrics binary (scripts/victoria-metrics.sh: $VICTORIA_METRICS_BIN, the
 * project cache, or Debian's package fetched into the cache), or undefined with the reason recorded.
 * Synchronous so that it can decide `describe.skipIf` at collection time; the result is memoised.
 */
export function victoriaMetricsBin(): string | undefined {
  if (resolvedVictoriaMetrics === undefined) {
    try {
      const out = execFileSync("bash", [VICTORIA_METRICS_SCRIPT], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 300_000,
      });
      const bin = out.trim().split("\n").pop();
      resolvedVictoriaMetrics = bin ? { bin } : { problem: "scripts/victoria-metrics.sh printed nothing" };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      resolvedVictoriaMetrics = { problem: stderr || (error instanceof Error ? error.message : String(error)) };
    }
  }
  return resolvedVictoriaMetrics.bin;
}

function inCi(): boolean {
  const ci = process.env.CI?.toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * True when tests needing VictoriaMetrics should be skipped: no binary can be had AND we are not in CI.
 * In CI it is always false (the house rule forbids skipped tests there): startVictoriaMetrics() then
 * throws, so the suite fails loudly instead. Use as `describe.skipIf(skipWithoutVictoriaMetrics())`.
 */
export function skipWithoutVictoriaMetrics(): boolean {
  if (victoriaMetricsBin() !== undefined || inCi()) return false;
  const banner = "!".repeat(100);
  console.warn(
    `\n${banner}\n!!! SKIPPING VictoriaMetrics end-to-end tests: no victoria-metrics binary.\n` +
      `!!! ${resolvedVictoriaMetrics?.problem ?? ""}\n` +
      `!!! Set VICTORIA_METRICS_BIN=/path/to/victoria-metrics (>= 1.112), or run on a Debian-family machine.\n` +
      `!!! In CI (CI set) these tests fail instead of skipping.\n${banner}\n`,
  );
  return true;
}

/** One series of an instant-vector answer of /api/v1/query. */
export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as a string] */
  value: [number, string];
}

export interface VictoriaMetrics {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /**
   * Flushes recent inserts, then runs an instant PromQL/MetricsQL query and returns `data.result`.
   * An empty answer is retried for up to 5 s (new series become queryable ~1 s after ingestion), so
   * asserting absence costs 5 s.
   */
  query(promql: string): Promise<PromSample[]>;
  /** GET /internal/force_flush: makes everything ingested so far visible to queries. */
  forceFlush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const bin = victoriaMetricsBin();
  if (bin === undefined) {
    throw new Error(
      `VictoriaMetrics is not available: ${resolvedVictoriaMetrics?.problem ?? "unknown reason"}\n` +
        "Set VICTORIA_METRICS_BIN=/path/to/victoria-metrics (>= 1.112), or run on a Debian-family machine " +
        "so scripts/victoria-metrics.sh can fetch it.",
    );
  }
  return withStartRetries(async () => {
    const port = await freePort();
    const storage = mkdtempSync(path.join(tmpdir(), "e2e-victoria-metrics-"));
    const managed = startProcess(
      "victoria-metrics",
      bin,
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${storage}`,
        // Prometheus' OTLP naming: unit suffixes (`_milliseconds`), `_total` for monotonic sums.
        "-opentelemetry.usePrometheusNaming",
        // By default samples younger than 30 s are hidden from queries.
        "-search.latencyOffset=0s",
        // The smallest retention VictoriaMetrics accepts; storage is thrown away after the run anyway.
        "-retentionPeriod=1d",
        "-loggerLevel=WARN",
      ],
      process.env,
      storage,
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady("victoria-metrics", managed, `${url}/health`, (status) => status === 200, VICTORIA_METRICS_READY_TIMEOUT_MS);
    } catch (error) {
      await managed.stop();
      throw error;
    }

    const forceFlush = async () => {
      const response = await fetch(`${url}/internal/force_flush`);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`victoria-metrics force_flush: status ${response.status}`);
    };
    const queryOnce = async (promql: string) => {
      await forceFlush();
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: PromSample[] };
      };
      if (!response.ok || body.status !== "success" || body.data === undefined) {
        throw new Error(`victoria-metrics query ${promql}: status ${response.status} ${JSON.stringify(body)}`);
      }
      return body.data.result;
    };
    const query = async (promql: string) => {
      // force_flush makes new samples of known series visible at once, but a series seen for the
      // first time is indexed in the background (~1 s with 1.112), so an empty answer is retried.
      const deadline = Date.now() + NEW_SERIES_VISIBLE_TIMEOUT_MS;
      for (;;) {
        const result = await queryOnce(promql);
        if (result.length > 0 || Date.now() >= deadline) return result;
        await sleep(READY_POLL_INTERVAL_MS);
      }
    };
    return { url, port, query, forceFlush, stop: managed.stop };
  });
}

// ---------------------------------------------------------------------------------------------------
// The worker

export interface StartWorkerOptions {
  /** Extra or overriding vars/secrets, e.g. `{ EXPORT_RETRY_BASE_MS: "5" }`. */
  vars?: Record<string, string>;
  /**
   * Persist D1 and Durable Object state here instead of a fresh temp dir (kept after stop), so a
   * second worker can start on what a first one stored: a deployment changing its settings.
   */
  state?: string;
}

export interface Worker {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The ADMIN_TOKEN this instance was started with (random unless options.vars sets it). */
  adminToken: string;
  /**
   * The workerd process running the worker's code (wrangler's process group holds two: one for its
   * dev proxy on the public port, and this one, which is the one wrangler attaches the inspector to).
   */
  workerdPid(): number;
  stop(): Promise<void>;
}

/** Peak resident set (VmHWM) of a process in bytes, from /proc (Linux). */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** The pid of the one process named `name` in process group `group` whose command line contains `marker`. */
function processInGroup(group: number, name: string, marker: string): number {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ")".
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (comm !== name || pgrp !== group) continue;
    if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) found.push(Number(entry));
  }
  if (found.length !== 1) throw new Error(`expected one ${name} with "${marker}" in process group ${group}, found ${found.length}`);
  return found[0]!;
}

/** One JSON call to the worker as a client would make it: status and parsed body. */
export async function api(worker: { url: string }, method: string, route: string, token: string, body?: unknown) {
  const response = await fetch(`${worker.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
}

/**
 * Creates a project whose first scheduled push is at least `clearMs` away. A project pushes at a
 * stable offset within the interval (src/export/schedule.ts), derived from its random id: a test that
 * counts requests or samples would otherwise see an extra scheduled push whenever the offset happened
 * to fall inside the test (CI once saw one in a 2-second window of a 60-second interval).
 */
export async function createProjectClearOfSchedule(
  worker: Worker,
  name: string,
  options: { intervalSeconds: number; clearMs: number },
): Promise<string> {
  const intervalMs = options.intervalSeconds * 1000;
  if (options.clearMs >= intervalMs / 2) throw new Error("createProjectClearOfSchedule: clearMs must be under half the interval");
  for (let attempt = 0; attempt < 50; attempt++) {
    const created = await api(worker, "POST", "/v1/projects", worker.adminToken, { name });
    if (created.status !== 201) throw new Error(`POST /v1/projects answered ${created.status}`);
    const projectId = created.body.project_id as string;
    if (nextPushAt(projectId, intervalMs, Date.now()) - Date.now() >= options.clearMs) return projectId;
  }
  throw new Error("createProjectClearOfSchedule: no project id clear of the schedule in 50 tries");
}

function wranglerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  // Would hand this process's whole environment to the worker as secrets.
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
  return env;
}

/**
 * Starts the real worker with `wrangler dev` on 127.0.0.1 at a free port, persisting D1 and Durable
 * Object state into a fresh temp dir that has the D1 migrations applied first.
 *
 * Secrets are passed as `--var`s; an explicit empty `--env-file` stops wrangler from reading the
 * project's `.dev.vars` (wrangler reads .dev.vars only when no --env-file is given).
 */
export async function startWorker(options: StartWorkerOptions = {}): Promise<Worker> {
  const vars: Record<string, string> = {
    ADMIN_TOKEN: `e2e-${randomBytes(16).toString("hex")}`,
    HEADER_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ALLOW_PRIVATE_ENDPOINTS: "true",
    ...options.vars,
  };
  const adminToken = vars.ADMIN_TOKEN ?? "";
  const env = wranglerEnv();

  return withStartRetries(async () => {
    const port = await freePort();
    const inspectorPort = await freePort();
    const tempDir = mkdtempSync(path.join(tmpdir(), "e2e-worker-"));
    const state = options.state ?? path.join(tempDir, "state");
    const emptyEnvFile = path.join(tempDir, "empty.env");
    writeFileSync(emptyEnvFile, "", { mode: 0o600 });

    try {
      execFileSync(
        process.execPath,
        [WRANGLER_JS, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state],
        // stdin not a TTY: wrangler takes the non-interactive "yes" instead of prompting.
        { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "pipe"], timeout: MIGRATIONS_TIMEOUT_MS, encoding: "utf8" },
      );
    } catch (error) {
      rmSync(tempDir, { recursive: true, force: true });
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`wrangler d1 migrations apply failed:\n${stdout ?? ""}\n${stderr ?? ""}`);
    }

    const args = [
      WRANGLER_JS,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--env-file",
      emptyEnvFile,
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ];
    const managed = startProcess("wrangler", process.execPath, args, env, tempDir);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady("wrangler dev", managed, `${url}/healthz`, (status) => status === 200, WORKER_READY_TIMEOUT_MS);
    } catch (error) {
      await managed.stop();
      throw error;
    }
    const group = managed.child.pid!;
    return { url, adminToken, workerdPid: () => processInGroup(group, "workerd", "--inspector-addr"), stop: managed.stop };
  });
}
