/**
 * The bundled agent (agent/dist, built by global-setup.ts) as a real child process under this Node
 * (22), so that tests can kill -9 it at any moment and start it again on the same spool.
 *
 * Its structured log lines are collected as objects; `/metrics` is read as name → value. A child still
 * running when the test process exits is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AGENT_BUNDLE } from "../../scripts/build.mjs";

const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value other than undefined, or fails naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

export type LogLine = { event: string; level: string; [field: string]: unknown };

export class AgentProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  address = "";
  #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
    running.add(child);
    let partial = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) if (line.trim()) this.logs.push(JSON.parse(line) as LogLine);
    });
    child.stderr!.on("data", (chunk: Buffer) => this.stderr.push(chunk.toString("utf8")));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  /** Writes `config` to `<dir>/agent.json` and starts the agent on it; resolves once it listens. */
  static async start(dir: string, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<AgentProcess> {
    mkdirSync(dir, { recursive: true });
    const configPath = path.join(dir, "agent.json");
    writeFileSync(configPath, JSON.stringify({ listen: "127.0.0.1:0", ...config }, null, 2));
    const child = spawn(process.execPath, [AGENT_BUNDLE, "--config", configPath], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const agent = new AgentProcess(child);
    let exited = false;
    void agent.exited.then(() => (exited = true));
    const started = await until(
      "agent_started",
      () => {
        if (exited) throw new Error(`the agent exited at start: ${agent.stderr.join("")}`);
        return agent.logs.find((l) => l.event === "agent_started");
      },
      START_TIMEOUT_MS,
    );
    agent.address = started.listen as string;
    return agent;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  events(event: string): LogLine[] {
    return this.logs.filter((l) => l.event === event);
  }

  async postRuns(runs: unknown): Promise<{ status: number; body: { accepted?: number; rejected?: unknown[]; error?: { code: string } } }> {
    const response = await fetch(`http://${this.address}/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(runs) });
    return { status: response.status, body: (await response.json()) as never };
  }

  /** GET /metrics as `name{labels}` → value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://${this.address}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^metrics_export_agent_(\S+) (\S+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  async metric(name: string): Promise<number> {
    const value = (await this.metrics()).get(name);
    if (value === undefined) throw new Error(`no metric ${name}`);
    return value;
  }

  /** Waits until the spool is empty and nothing is pending in memory. */
  async drained(timeoutMs = 20_000): Promise<void> {
    await until("an empty spool and nothing pending", async () => {
      const m = await this.metrics();
      return m.get("spool_batches") === 0 && m.get("pending_samples") === 0 ? true : undefined;
    }, timeoutMs);
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.#child.kill(signal);
    return this.exited;
  }
}
