/**
 * The running agent: every interval a reading of the host becomes one `resource` sample per app; runs
 * reported to `POST /runs` join them; every interval (or at `batchMaxSamples`) the pending samples are
 * sealed into a batch with a fresh batch_id, spooled durably, and handed to the sender.
 *
 * Runs answered 202 are in memory until the next seal (at most one interval or `batchMaxSamples`
 * runs); SIGTERM seals them before the agent exits, a kill -9 loses them. From the seal on, nothing is
 * lost or counted twice (agent/README.md "Delivery guarantees").
 */
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { AgentConfig } from "./config";
import { postBatch } from "./delivery/post";
import { Sender } from "./delivery/sender";
import { entriesToDrop, Spool } from "./delivery/spool";
import { errorMessage, type Logger } from "./log";
import { MappingFile } from "./mapping/mapping-file";
import { Collector, isCgroupV2, type HostReading } from "./readings/collector";
import { parseRuns, resourceSample, type Sample } from "./samples";
import { startServer, type LocalServer, type Reply } from "./server/http";
import { renderMetrics, Stats } from "./stats";

/** The edge remembers a batch for at least an hour after first applying it; one minute covers a send in flight. */
export const MAX_BATCH_AGE_MS = 59 * 60_000;
/** Above this share of its cap the spool refuses new runs, leaving room for the readings and runs already taken. */
export const SPOOL_FULL_FRACTION = 0.9;
export const NVIDIA_SMI_TIMEOUT_MS = 5000;

const gzipAsync = promisify(gzip);

export function createCollector(config: AgentConfig, log: Logger): Collector {
  return new Collector({
    cgroupRoot: config.cgroupRoot,
    containersUnder: config.containersUnder,
    procRoot: config.procRoot,
    nvidiaSmi: config.nvidiaSmi,
    nvidiaSmiTimeoutMs: NVIDIA_SMI_TIMEOUT_MS,
    region: config.region,
    rules: config.mapping.rules,
    ...(config.mapping.file === undefined ? {} : { mappingFile: new MappingFile(config.mapping.file, log) }),
    ...(config.mapping.readinessFile === undefined ? {} : { readinessFile: config.mapping.readinessFile }),
  });
}

export class Agent {
  readonly stats = new Stats();
  #config: AgentConfig;
  #log: Logger;
  #spool: Spool;
  #sender: Sender;
  #collector: Collector;
  #server: LocalServer | undefined;
  #pending: Sample[] = [];
  #sealing: Promise<void> = Promise.resolve();
  #stopping = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #tickRunning: Promise<void> = Promise.resolve();
  #baselineTaken = false;
  #lastReadingMs = Date.now();

  private constructor(config: AgentConfig, ingestKey: string, log: Logger, spool: Spool) {
    this.#config = config;
    this.#log = log;
    this.#spool = spool;
    this.#collector = createCollector(config, log);
    this.#sender = new Sender({
      spool,
      post: (body, signal) => postBatch(config.edgeUrl, ingestKey, body, config.requestTimeoutMs, signal),
      maxInFlight: config.maxInFlight,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      maxBatchAgeMs: MAX_BATCH_AGE_MS,
      stats: this.stats,
      log,
    });
  }

  static async start(config: AgentConfig, ingestKey: string, log: Logger): Promise<Agent> {
    const { spool, tempFilesRemoved, foreignFiles } = await Spool.open(config.spoolDir);
    log.info("spool_opened", { dir: config.spoolDir, batches: spool.entries.length, bytes: spool.bytes, temp_files_removed: tempFilesRemoved });
    if (foreignFiles.length > 0) log.warn("spool_foreign_files", { dir: config.spoolDir, files: foreignFiles.slice(0, 10) });
    // cgroup v1 (or a hybrid host's v1 mounts) has no usage_usec or memory.current: every value would be skipped.
    if (!(await isCgroupV2(config.cgroupRoot))) log.warn("cgroup_not_v2", { cgroup_root: config.cgroupRoot, expected: "a cgroup v2 mount (cgroup.controllers at its root)" });
    const agent = new Agent(config, ingestKey, log, spool);
    agent.#server = await startServer(config.listen, agent.#handlers(), log);
    agent.#sender.start();
    // The first reading only sets the CPU baselines; resource samples start one interval later.
    agent.#scheduleTicks();
    log.info("agent_started", { listen: agent.#server.address, edge_url: config.edgeUrl, host_id: config.hostId, interval_ms: config.intervalMs });
    return agent;
  }

  get address(): string {
    return this.#server?.address ?? "";
  }

  /** Graceful stop: refuse new runs, seal what is pending, try to deliver for `shutdownTimeoutMs`, close. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#tickTimer);
    await this.#tickRunning;
    await this.#seal(true);
    const delivered = this.#config.shutdownTimeoutMs > 0 && (await this.#sender.drain(this.#config.shutdownTimeoutMs));
    await this.#sender.stop();
    await this.#server?.close();
    this.#log.info("agent_stopped", { delivered_all: delivered || this.#spool.entries.length === 0, spool_batches: this.#spool.entries.length });
  }

  #scheduleTicks(): void {
    const startMs = Date.now();
    let n = 0;
    const tick = () => {
      this.#tickRunning = this.#tick().finally(() => {
        if (this.#stopping) return;
        // Keep to the grid start + n × interval; after a slow reading, go on at the next slot.
        n = Math.max(n + 1, Math.ceil((Date.now() - startMs) / this.#config.intervalMs));
        this.#tickTimer = setTimeout(tick, Math.max(0, startMs + n * this.#config.intervalMs - Date.now()));
      });
    };
    tick();
  }

  async #tick(): Promise<void> {
    try {
      const reading = await this.#collector.read();
      this.#lastReadingMs = Date.now();
      this.#record(reading);
      if (this.#baselineTaken) this.#pending.push(...reading.apps.map((app) => resourceSample(app, this.#config.region, this.#lastReadingMs)));
      this.#baselineTaken = true;
    } catch (error) {
      this.#log.everyMinute("error", "reading_failed", "reading_failed", { error: errorMessage(error) });
    }
    await this.#seal(true);
  }

  #record(r: HostReading): void {
    const stats = this.stats;
    const log = this.#log;
    stats.readings += 1;
    stats.readingsSkipped.cgroup += r.skipped.cgroup;
    stats.readingsSkipped.proc += r.skipped.proc;
    stats.readingsSkipped.gpu += r.skipped.gpu;
    stats.containersMapped = r.containers.length;
    stats.containersUnmapped = r.unmappedContainers.length;
    stats.containersInvalid = r.invalidContainers.length;
    stats.gpuProcessesUnmapped = r.unmappedGpuPids.length;
    stats.devices = r.devices;
    if (r.gpuFailure !== undefined) {
      stats.nvidiaSmiFailures += 1;
      log.everyMinute("warn", `nvidia_smi_${r.gpuFailure.kind}`, "nvidia_smi_unavailable", { kind: r.gpuFailure.kind, error: r.gpuFailure.message });
    }
    if (r.unmappedContainers.length > 0) log.everyMinute("info", "containers_unmapped", "containers_unmapped", { count: r.unmappedContainers.length, cgroups: r.unmappedContainers.slice(0, 10) });
    if (r.invalidContainers.length > 0) log.everyMinute("warn", "containers_invalid", "containers_invalid", { count: r.invalidContainers.length, first: r.invalidContainers[0] });
    if (r.unmappedGpuPids.length > 0) log.everyMinute("info", "gpu_processes_unmapped", "gpu_processes_unmapped", { pids: r.unmappedGpuPids.slice(0, 10) });
    for (const problem of r.walkProblems) log.everyMinute("warn", `walk:${problem}`, "cgroup_walk_incomplete", { problem });
  }

  /** Queues sealing: `all` seals everything pending, otherwise only full batches. Seals run one at a time. */
  #seal(all: boolean): Promise<void> {
    this.#sealing = this.#sealing.then(async () => {
      const max = this.#config.batchMaxSamples;
      while (this.#pending.length >= max || (all && this.#pending.length > 0)) {
        await this.#writeBatch(this.#pending.splice(0, max));
      }
    });
    return this.#sealing;
  }

  async #writeBatch(samples: Sample[]): Promise<void> {
    const stats = this.stats;
    const log = this.#log;
    const batch = { batchId: randomUUID(), samples: samples.length, runs: samples.filter((s) => s.type === "run").length };
    try {
      const body = await gzipAsync(JSON.stringify({ host_id: this.#config.hostId, batch_id: batch.batchId, samples }));
      const drop = entriesToDrop(this.#spool.entries, this.#spool.bytes, body.byteLength, this.#config.spoolMaxBytes, (e) => this.#sender.isBusy(e));
      // Each drop is data lost for good: logged one by one (at most one a seal, i.e. a few a minute).
      if (drop === undefined) {
        stats.dropped("spool_full", batch);
        log.error("batch_dropped_spool_full", { batch_id: batch.batchId, samples: batch.samples, runs: batch.runs, which: "new", spool_bytes: this.#spool.bytes });
        return;
      }
      for (const old of drop) {
        await this.#spool.remove(old);
        stats.dropped("spool_full", old);
        log.error("batch_dropped_spool_full", { batch_id: old.batchId, samples: old.samples, runs: old.runs, which: "oldest", spool_bytes: this.#spool.bytes });
      }
      await this.#spool.write({ ...batch, sealedAtMs: Date.now() }, body);
      stats.batchesSealed += 1;
      log.debug("batch_spooled", { batch_id: batch.batchId, samples: batch.samples, bytes: body.byteLength });
      this.#sender.notify();
    } catch (error) {
      stats.dropped("io_error", batch);
      log.everyMinute("error", "spool_write_failed", "spool_write_failed", { batch_id: batch.batchId, samples: batch.samples, error: errorMessage(error) });
    }
  }

  #handlers() {
    return {
      refuseRuns: (): Reply | undefined => {
        if (!this.#stopping && this.#spool.bytes < SPOOL_FULL_FRACTION * this.#config.spoolMaxBytes) return undefined;
        this.stats.runRequestsRefused += 1;
        const [code, message] = this.#stopping
          ? ["shutting_down", "The agent is stopping."]
          : ["spool_full", "The agent's spool is full (the edge has been unreachable); retry later."];
        return { status: 503, body: { error: { code, message } }, headers: { "retry-after": String(Math.ceil(this.#config.intervalMs / 1000)) } };
      },
      runs: (body: unknown): Reply => {
        const parsed = parseRuns(body, this.#config.region, Date.now());
        if (!parsed.ok) return { status: parsed.status, body: { error: { code: parsed.code, message: parsed.message } } };
        this.#pending.push(...parsed.samples);
        this.stats.runsAccepted += parsed.samples.length;
        this.stats.runsInvalid += parsed.rejected.length;
        if (this.#pending.length >= this.#config.batchMaxSamples) void this.#seal(false);
        return { status: 202, body: { accepted: parsed.samples.length, rejected: parsed.rejected } };
      },
      health: (): Reply => {
        // A reading loop stuck for three intervals (beyond nvidia-smi's own timeout) is a sick agent.
        const stale = Date.now() - this.#lastReadingMs > 3 * this.#config.intervalMs + NVIDIA_SMI_TIMEOUT_MS;
        const last = this.stats.lastSuccessMs;
        return {
          status: stale ? 503 : 200,
          body: {
            ok: !stale,
            spool_batches: this.#spool.entries.length,
            spool_bytes: this.#spool.bytes,
            last_success_at: last === null ? null : new Date(last).toISOString(),
            last_reading_at: new Date(this.#lastReadingMs).toISOString(),
          },
        };
      },
      metrics: () =>
        renderMetrics(this.stats, {
          spoolBatches: this.#spool.entries.length,
          spoolBytes: this.#spool.bytes,
          spoolMaxBytes: this.#config.spoolMaxBytes,
          pendingSamples: this.#pending.length,
        }),
    };
  }
}
