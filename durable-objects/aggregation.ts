/**
 * The project's aggregate state in memory and what is durable of it (docs/storage-schema.md):
 *
 * - A batch costs one row: its ledger entry, holding the samples it added (`batches.samples`).
 *   The state in memory is updated once that row is written; nothing else is written per batch.
 * - Compaction (housekeeping, a configuration save, or a long log) writes the series and host
 *   states that changed since the previous one — one row each — and the number of the last batch
 *   folded in, in one transaction.
 * - Loading reads the compacted rows and folds in the batches logged after the last compaction.
 */
import { applyBatch, planBatch, type AggregateState } from "../src/aggregation/apply-batch";
import type { HostReport } from "../src/aggregation/gauges";
import { ledgerEntry } from "../src/aggregation/ledger-entry";
import { sampleCount, type PackedSamples } from "../src/aggregation/packed-samples";
import { rebucket, seriesKey } from "../src/aggregation/series";
import { encodeBounds } from "../src/aggregation/state-codec";
import type { AggregateStore } from "./aggregate-store";
import type { RowMeter, WriteCategory } from "./row-meter";
import type { IngestResult, StorageStats } from "./rpc-types";
import type { ProjectStore } from "./store";

/** Compact early when this many batches (or bytes of samples) wait, bounding what a load replays. */
const COMPACT_AFTER_BATCHES = 1_000;
const COMPACT_AFTER_BYTES = 8 * 1024 * 1024;
/** Above this, the samples of compacted batches are dropped from the ledger (their entries stay). */
const MAX_RETAINED_SAMPLE_BYTES = 32 * 1024 * 1024;

type Write = <T>(category: WriteCategory, writes: () => T) => T;

export class Aggregation {
  readonly state: AggregateState = { series: new Map(), reports: new Map() };
  /** Which series each host reports for (to rewrite a host's row from memory). */
  readonly #hostSeries = new Map<string, Set<string>>();
  readonly #dirtySeries = new Set<string>();
  readonly #dirtyHosts = new Set<string>();
  #lastSeq = 0;
  #compactedSeq = 0;
  #uncompactedBatches = 0;
  #uncompactedBytes = 0;
  #retainedBytes = 0;
  #boundsBlob: { bounds: readonly number[]; bytes: Uint8Array } | null = null;
  lastIngest: StorageStats["last_ingest"] = null;
  lastCompaction: StorageStats["last_compaction"] = null;

  constructor(
    private readonly rows: AggregateStore,
    private readonly meta: ProjectStore,
    private readonly write: Write,
    private readonly meter: RowMeter,
  ) {}

  /** Compacted rows, then every batch logged after the last compaction, folded in as ingest did. */
  load(bounds: readonly number[]): void {
    for (const s of this.rows.allSeries()) this.state.series.set(seriesKey(s.appName, s.region), s);
    for (const r of this.rows.allHostReports()) this.#putReport(r);
    this.#compactedSeq = Number(this.meta.meta("compacted_seq") ?? 0);
    this.#lastSeq = Math.max(this.rows.lastSeq(), this.#compactedSeq);
    for (const b of this.rows.uncompacted(this.#compactedSeq)) this.#apply(b.hostId, b.samples, b.appliedAt, bounds);
    this.#uncompactedBatches = this.#lastSeq - this.#compactedSeq;
    this.#retainedBytes = this.rows.storedSampleBytes();
  }

  /** One host batch, at most once per (host_id, batch_id): one row written, then memory updated. */
  ingest(hostId: string, batchId: string, samples: PackedSamples, nowMs: number, bounds: readonly number[], maxSeries: number): IngestResult {
    const started = performance.now();
    const previous = this.rows.batch(hostId, batchId);
    if (previous) return { accepted: previous.accepted, duplicate: true, rejected: previous.examples, rejectedCount: previous.rejectedCount };
    const plan = planBatch(this.state, samples, maxSeries);
    const seq = this.#lastSeq + 1;
    const rowsBefore = this.meter.total;
    const bytes = this.write("ingest", () => this.rows.logBatch(hostId, batchId, seq, nowMs, ledgerEntry(plan.acceptedCount, plan.rejected), plan.accepted));
    this.#lastSeq = seq;
    this.#uncompactedBatches += 1;
    this.#uncompactedBytes += bytes;
    this.#retainedBytes += bytes;
    const touched = this.#apply(hostId, plan.accepted, nowMs, bounds);
    this.lastIngest = { samples: sampleCount(samples), series_touched: touched, rows_written: this.meter.total - rowsBefore, duration_ms: performance.now() - started };
    return { accepted: plan.acceptedCount, duplicate: false, rejected: plan.rejected, rejectedCount: plan.rejected.length };
  }

  /** True when enough waits in the log that compaction should not wait for housekeeping. */
  get compactionDue(): boolean {
    return this.#uncompactedBatches >= COMPACT_AFTER_BATCHES || this.#uncompactedBytes >= COMPACT_AFTER_BYTES;
  }

  #apply(hostId: string, samples: PackedSamples, nowMs: number, bounds: readonly number[]): number {
    const applied = applyBatch(this.state, hostId, samples, nowMs, bounds);
    for (const key of applied.series) this.#dirtySeries.add(key);
    if (applied.reports) {
      this.#dirtyHosts.add(hostId);
      let keys = this.#hostSeries.get(hostId);
      if (!keys) this.#hostSeries.set(hostId, (keys = new Set()));
      for (let q = 0; q < samples.resourceSeries.length; q++) {
        const i = samples.resourceSeries[q]!;
        keys.add(seriesKey(samples.appNames[i]!, samples.regions[i]!));
      }
    }
    return applied.series.length;
  }

  #putReport(r: HostReport): void {
    const key = seriesKey(r.appName, r.region);
    let hosts = this.state.reports.get(key);
    if (!hosts) this.state.reports.set(key, (hosts = new Map()));
    hosts.set(r.hostId, r);
    let keys = this.#hostSeries.get(r.hostId);
    if (!keys) this.#hostSeries.set(r.hostId, (keys = new Set()));
    keys.add(key);
  }

  /** Every series usually has the same bounds: encoded once, reused for each row. */
  #encodedBounds(bounds: readonly number[]): Uint8Array {
    const cached = this.#boundsBlob;
    if (cached && cached.bounds.length === bounds.length && cached.bounds.every((b, i) => b === bounds[i])) return cached.bytes;
    this.#boundsBlob = { bounds, bytes: encodeBounds(bounds) };
    return this.#boundsBlob.bytes;
  }

  /** Writes what changed since the last compaction, with the number of the last batch folded in. */
  compact(): void {
    if (this.#dirtySeries.size === 0 && this.#dirtyHosts.size === 0 && this.#lastSeq === this.#compactedSeq) return;
    const started = performance.now();
    const before = this.meter.total;
    this.write("housekeeping", () => {
      for (const key of this.#dirtySeries) {
        const s = this.state.series.get(key);
        if (s) this.rows.saveSeries(s, this.#encodedBounds(s.bounds));
        else {
          const [appName, region] = key.split("\u0000") as [string, string];
          this.rows.deleteSeries(appName, region);
        }
      }
      for (const host of this.#dirtyHosts) this.rows.saveHostReports(host, this.#reportsOf(host));
      this.meta.setMeta("compacted_seq", String(this.#lastSeq));
      if (this.#retainedBytes > MAX_RETAINED_SAMPLE_BYTES) {
        this.rows.dropCompactedSamples(this.#lastSeq);
        this.#retainedBytes = 0;
      }
    });
    const rows = this.meter.total - before;
    this.lastCompaction = {
      batches: this.#lastSeq - this.#compactedSeq,
      series: this.#dirtySeries.size,
      hosts: this.#dirtyHosts.size,
      rows_written: rows,
      duration_ms: performance.now() - started,
    };
    this.#dirtySeries.clear();
    this.#dirtyHosts.clear();
    this.#compactedSeq = this.#lastSeq;
    this.#uncompactedBatches = 0;
    this.#uncompactedBytes = 0;
  }

  #reportsOf(host: string): HostReport[] {
    const out: HostReport[] = [];
    for (const key of this.#hostSeries.get(host) ?? []) {
      const r = this.state.reports.get(key)?.get(host);
      if (r) out.push(r);
    }
    return out;
  }

  /** Forgets ledger entries older than `batchCutoffMs` and reports older than `reportCutoffMs`. */
  expire(batchCutoffMs: number, reportCutoffMs: number): void {
    for (const [key, hosts] of this.state.reports) {
      for (const [host, r] of hosts) {
        if (r.timeMs >= reportCutoffMs) continue;
        hosts.delete(host);
        this.#hostSeries.get(host)?.delete(key);
        this.#dirtyHosts.add(host);
      }
      if (hosts.size === 0) this.state.reports.delete(key);
    }
    this.write("housekeeping", () => this.rows.expireBatches(batchCutoffMs, this.#compactedSeq));
    this.#retainedBytes = this.rows.storedSampleBytes();
  }

  /** Deletes series (expired): their rows at the next compaction, their reports now. */
  deleteSeries(keys: Iterable<string>): void {
    for (const key of keys) {
      if (!this.state.series.delete(key)) continue;
      for (const host of this.state.reports.get(key)?.keys() ?? []) {
        this.#hostSeries.get(host)?.delete(key);
        this.#dirtyHosts.add(host);
      }
      this.state.reports.delete(key);
      this.#dirtySeries.add(key);
    }
  }

  /** New bucket bounds for every series (histograms restart); call after compact(). Returns their keys. */
  rebucketAll(bounds: readonly number[], nowMs: number): string[] {
    const changed: string[] = [];
    for (const [key, s] of this.state.series) {
      if (!rebucket(s, bounds, nowMs)) continue;
      changed.push(key);
      this.#dirtySeries.add(key);
    }
    return changed;
  }

  holdsState(): boolean {
    return this.state.series.size > 0 || this.state.reports.size > 0 || this.rows.hasBatches();
  }

  stats(): Pick<StorageStats, "series" | "host_reports" | "batches" | "last_ingest" | "last_compaction"> {
    const c = this.rows.counts();
    let reports = 0;
    for (const hosts of this.state.reports.values()) reports += hosts.size;
    return { series: this.state.series.size, host_reports: reports, batches: c.batches, last_ingest: this.lastIngest, last_compaction: this.lastCompaction };
  }
}
