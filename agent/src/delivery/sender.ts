/**
 * Delivers spooled batches to the edge, oldest first, in rounds of up to `maxInFlight` batches.
 *
 * A batch is sent with the body (and so the batch_id) it was spooled with, every time, until the edge
 * answers 2xx or refuses it for good (outcome.ts); only then is its file deleted. When any batch of a
 * round fails, the next round waits (exponential backoff with jitter) and starts again from the oldest.
 * The edge applies a (host_id, batch_id) at most once for at least an hour after it first applied it,
 * so a batch is never sent later than `maxBatchAgeMs` (< 1 hour) after it was sealed: a re-send always
 * reaches an edge that still remembers the first one. Older batches are dropped and counted.
 */
import { errorMessage, type Logger } from "../log";
import type { Stats } from "../stats";
import { retryDelayMs, type PostOutcome } from "./outcome";
import type { Spool, SpoolEntry } from "./spool";

export interface SenderOptions {
  spool: Spool;
  post: (body: Uint8Array, signal: AbortSignal) => Promise<PostOutcome>;
  maxInFlight: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxBatchAgeMs: number;
  stats: Stats;
  log: Logger;
  nowMs?: () => number;
  random?: () => number;
}

export class Sender {
  #o: SenderOptions;
  #nowMs: () => number;
  #busy = new Set<SpoolEntry>();
  #abort = new AbortController();
  #stopped = false;
  #failures = 0;
  #lastRoundFailed = false;
  #loop: Promise<void> | undefined;
  /** Resolves the loop's wait for work (a new batch) or for the end of a backoff pause. */
  #wake: (() => void) | undefined;
  #afterRound: (() => void)[] = [];

  constructor(options: SenderOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Whether a batch is being posted right now (so it must not be dropped to make room). */
  isBusy(entry: SpoolEntry): boolean {
    return this.#busy.has(entry);
  }

  start(): void {
    this.#loop ??= this.#run().catch((error: unknown) => this.#o.log.error("sender_crashed", { error: errorMessage(error) }));
  }

  /** A batch was spooled: send it now unless the sender is backing off. */
  notify(): void {
    if (this.#failures === 0) this.#wakeUp();
  }

  /**
   * For shutdown: one more round at once (skipping a backoff pause), then more while rounds succeed.
   * Resolves true once the spool is empty; false when a round fails or `timeoutMs` passes first.
   */
  drain(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      let done = false;
      const finish = (empty: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(empty);
      };
      const check = () => {
        if (this.#o.spool.entries.length === 0) finish(true);
        else if (this.#lastRoundFailed) finish(false);
        else this.#afterRound.push(check);
      };
      this.#lastRoundFailed = false;
      this.#failures = 0;
      this.#wakeUp();
      check();
    });
  }

  /** Stops the loop and aborts posts still in flight; their batches stay in the spool. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#wakeUp();
    await this.#loop;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.#wakeUp(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const round = this.#o.spool.entries.slice(0, this.#o.maxInFlight);
      if (round.length === 0) {
        await this.#wait();
        continue;
      }
      const outcomes = await Promise.all(round.map((entry) => this.#deliver(entry)));
      const failed = outcomes.filter((o): o is Extract<PostOutcome, { kind: "retry" }> => o.kind === "retry");
      this.#lastRoundFailed = failed.length > 0;
      for (const listener of this.#afterRound.splice(0)) listener();
      if (failed.length === 0) {
        this.#failures = 0;
        continue;
      }
      this.#failures += 1;
      const retryAfterMs = Math.max(0, ...failed.map((o) => o.retryAfterMs ?? 0));
      const delayMs = retryDelayMs(this.#failures, this.#o.retryBaseMs, this.#o.retryMaxMs, retryAfterMs || null, this.#o.random);
      const first = failed[0]!;
      this.#o.log.everyMinute("warn", "delivery_failed", "delivery_failed", {
        status: first.status,
        error: first.message,
        consecutive_failures: this.#failures,
        retry_in_ms: delayMs,
        spool_batches: this.#o.spool.entries.length,
      });
      if (!this.#stopped) await this.#wait(delayMs);
    }
  }

  async #deliver(entry: SpoolEntry): Promise<PostOutcome | { kind: "gone" }> {
    const { spool, stats, log } = this.#o;
    if (this.#nowMs() - entry.sealedAtMs > this.#o.maxBatchAgeMs) {
      await spool.remove(entry);
      stats.dropped("too_old", entry);
      log.warn("batch_dropped_too_old", { batch_id: entry.batchId, samples: entry.samples, runs: entry.runs, sealed_at: new Date(entry.sealedAtMs).toISOString() });
      return { kind: "gone" };
    }
    this.#busy.add(entry);
    try {
      let body: Buffer;
      try {
        body = await spool.read(entry);
      } catch (error) {
        await spool.remove(entry);
        stats.dropped("io_error", entry);
        log.error("batch_unreadable", { batch_id: entry.batchId, file: entry.file, error: errorMessage(error) });
        return { kind: "gone" };
      }
      if (this.#stopped) return { kind: "retry", status: null, message: "stopping", retryAfterMs: null };
      const outcome = await this.#o.post(body, this.#abort.signal);
      switch (outcome.kind) {
        case "delivered":
          await spool.remove(entry);
          stats.batchesSent += 1;
          stats.lastSuccessMs = this.#nowMs();
          if (outcome.duplicate) stats.batchesDuplicate += 1;
          else stats.samplesAcceptedByEdge += outcome.accepted;
          this.#countRejections(entry, outcome.rejected);
          log.debug("batch_delivered", { batch_id: entry.batchId, samples: entry.samples, accepted: outcome.accepted, duplicate: outcome.duplicate });
          break;
        case "drop":
          await spool.remove(entry);
          stats.dropped("rejected", entry);
          log.error("batch_rejected", { batch_id: entry.batchId, samples: entry.samples, runs: entry.runs, status: outcome.status, code: outcome.code, message: outcome.message });
          break;
        case "retry":
          stats.attemptsFailed += 1;
          break;
      }
      return outcome;
    } catch (error) {
      // The spool could not delete the file: the batch stays and is sent (and answered duplicate) again.
      return { kind: "retry", status: null, message: `spool: ${errorMessage(error)}`, retryAfterMs: null };
    } finally {
      this.#busy.delete(entry);
    }
  }

  #countRejections(entry: SpoolEntry, rejected: readonly { code: string; message: string }[]): void {
    if (rejected.length === 0) return;
    const byCode: Record<string, number> = {};
    for (const r of rejected) {
      byCode[r.code] = (byCode[r.code] ?? 0) + 1;
      this.#o.stats.samplesRejectedByEdge.set(r.code, (this.#o.stats.samplesRejectedByEdge.get(r.code) ?? 0) + 1);
    }
    this.#o.log.everyMinute("warn", "samples_rejected", "samples_rejected", { batch_id: entry.batchId, by_code: byCode, first: rejected[0]!.message });
  }
}
