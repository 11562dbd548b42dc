/**
 * Row mapping of the aggregation's tables (schema: sql-migrations.ts, migration 4; documented in
 * docs/storage-schema.md): the batch ledger that is also the log of what batches added, the
 * compacted series and host states, and the delta journal. Synchronous, so the object groups
 * writes in one `transactionSync`.
 */
import type { HostReport } from "../src/aggregation/gauges";
import type { LedgerEntry } from "../src/aggregation/ledger-entry";
import { decodePacked, encodePacked, type PackedSamples } from "../src/aggregation/packed-samples";
import type { SeriesState, Snapshot } from "../src/aggregation/series";
import {
  decodeBounds,
  decodeHistograms,
  decodeHostReports,
  decodeSnapshots,
  encodeHistograms,
  encodeHostReports,
  encodeSnapshots,
} from "../src/aggregation/state-codec";
import type { SampleRejection } from "../src/validation/samples";
import type { RecordState } from "./delta-journal";

type Row = Record<string, SqlStorageValue>;

/** A delta journal record is split into rows of at most this many series (SQLite rows stay far below 2 MB). */
const SNAPSHOTS_PER_ROW = 500;

export interface LoggedBatch {
  seq: number;
  hostId: string;
  appliedAt: number;
  samples: PackedSamples;
}

export class AggregateStore {
  constructor(private readonly sql: SqlStorage) {}

  // --- compacted state ---------------------------------------------------------------------------
  allSeries(): SeriesState[] {
    return this.sql
      .exec<Row>("SELECT * FROM aggregates")
      .toArray()
      .map((r) => {
        const bounds = decodeBounds(r.bounds as ArrayBuffer);
        return {
          appName: r.app_name as string,
          region: r.region as string,
          countersStartMs: r.counters_start_ms as number,
          histogramsStartMs: r.histograms_start_ms as number,
          lastSampleMs: r.last_sample_ms as number,
          runs: r.runs as number,
          successes: r.successes as number,
          errors: r.errors as number,
          bounds,
          histograms: decodeHistograms(r.histograms as ArrayBuffer, bounds.length + 1),
        };
      });
  }

  /** `bounds` is the series' bounds already encoded (one buffer shared by every series using them). */
  saveSeries(s: SeriesState, bounds: Uint8Array): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO aggregates (app_name, region, counters_start_ms, histograms_start_ms, last_sample_ms, runs, successes, errors, bounds, histograms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      s.appName,
      s.region,
      s.countersStartMs,
      s.histogramsStartMs,
      s.lastSampleMs,
      s.runs,
      s.successes,
      s.errors,
      bounds,
      encodeHistograms(s.histograms),
    );
  }

  deleteSeries(appName: string, region: string): void {
    this.sql.exec("DELETE FROM aggregates WHERE app_name = ? AND region = ?", appName, region);
  }

  allHostReports(): HostReport[] {
    return this.sql
      .exec<Row>("SELECT host_id, reports FROM host_states")
      .toArray()
      .flatMap((r) => decodeHostReports(r.host_id as string, r.reports as ArrayBuffer));
  }

  /** One row per host with all its latest reports; none left: the row goes. */
  saveHostReports(hostId: string, reports: readonly HostReport[]): void {
    if (reports.length === 0) this.sql.exec("DELETE FROM host_states WHERE host_id = ?", hostId);
    else this.sql.exec("INSERT OR REPLACE INTO host_states (host_id, reports) VALUES (?, ?)", hostId, encodeHostReports(reports));
  }

  // --- the batch ledger and log -----------------------------------------------------------------
  batch(hostId: string, batchId: string): LedgerEntry | null {
    const r = this.sql.exec<Row>("SELECT accepted, rejected FROM batches WHERE host_id = ? AND batch_id = ?", hostId, batchId).toArray()[0];
    if (!r) return null;
    const stored = JSON.parse(r.rejected as string) as SampleRejection[] | { count: number; examples: SampleRejection[] };
    // Rows written before migration 3 hold the whole list.
    const rejected = Array.isArray(stored) ? { count: stored.length, examples: stored.slice(0, 5) } : stored;
    return { accepted: r.accepted as number, rejectedCount: rejected.count, examples: rejected.examples };
  }

  /** The one row a batch costs: its ledger entry and the samples it added. Returns the blob's size. */
  logBatch(hostId: string, batchId: string, seq: number, appliedAt: number, entry: LedgerEntry, samples: PackedSamples): number {
    const blob = encodePacked(samples);
    this.sql.exec(
      "INSERT INTO batches (host_id, batch_id, applied_at, accepted, rejected, seq, samples) VALUES (?, ?, ?, ?, ?, ?, ?)",
      hostId,
      batchId,
      appliedAt,
      entry.accepted,
      JSON.stringify({ count: entry.rejectedCount, examples: entry.examples }),
      seq,
      blob,
    );
    return blob.byteLength;
  }

  /** Batches logged after the last compaction, oldest first (a scan of the ledger: load only). */
  uncompacted(afterSeq: number): LoggedBatch[] {
    return this.sql
      .exec<Row>("SELECT seq, host_id, applied_at, samples FROM batches WHERE seq > ? AND samples IS NOT NULL ORDER BY seq", afterSeq)
      .toArray()
      .map((r) => ({ seq: r.seq as number, hostId: r.host_id as string, appliedAt: r.applied_at as number, samples: decodePacked(r.samples as ArrayBuffer) }));
  }

  lastSeq(): number {
    return this.sql.exec<{ n: number | null }>("SELECT MAX(seq) AS n FROM batches").one().n ?? 0;
  }

  /** Forgets batches older than `cutoffMs` whose samples are compacted (never one still to be folded in). */
  expireBatches(cutoffMs: number, compactedSeq: number): void {
    this.sql.exec("DELETE FROM batches WHERE applied_at < ? AND (seq IS NULL OR seq <= ?)", cutoffMs, compactedSeq);
  }

  storedSampleBytes(): number {
    return this.sql.exec<{ n: number }>("SELECT COALESCE(SUM(length(samples)), 0) AS n FROM batches").one().n;
  }

  /** Drops the samples of compacted batches, keeping their ledger entries (bounds storage under heavy ingest). */
  dropCompactedSamples(compactedSeq: number): void {
    this.sql.exec("UPDATE batches SET samples = NULL WHERE seq <= ? AND samples IS NOT NULL", compactedSeq);
  }

  hasBatches(): boolean {
    return this.sql.exec("SELECT 1 FROM batches LIMIT 1").toArray().length > 0;
  }

  counts(): { series: number; hostStates: number; batches: number } {
    const one = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return { series: one("aggregates"), hostStates: one("host_states"), batches: one("batches") };
  }

  // --- the delta journal ---------------------------------------------------------------------------
  journal(exportId: string): { seq: number; state: RecordState; entries: { key: string; snapshot: Snapshot }[] }[] {
    const records = new Map<number, { seq: number; state: RecordState; entries: { key: string; snapshot: Snapshot }[] }>();
    for (const r of this.sql.exec<Row>("SELECT seq, state, snapshots FROM delta_journal WHERE export_id = ? ORDER BY seq, part", exportId)) {
      const seq = r.seq as number;
      let record = records.get(seq);
      if (!record) records.set(seq, (record = { seq, state: r.state as RecordState, entries: [] }));
      record.entries.push(...decodeSnapshots(r.snapshots as ArrayBuffer));
    }
    return [...records.values()];
  }

  insertRecord(exportId: string, seq: number, entries: readonly { key: string; snapshot: Snapshot }[]): void {
    for (let part = 0; part * SNAPSHOTS_PER_ROW < Math.max(entries.length, 1); part++) {
      const slice = entries.slice(part * SNAPSHOTS_PER_ROW, (part + 1) * SNAPSHOTS_PER_ROW);
      this.sql.exec(
        "INSERT INTO delta_journal (export_id, seq, part, state, snapshots) VALUES (?, ?, ?, 'sent', ?)",
        exportId,
        seq,
        part,
        encodeSnapshots(slice),
      );
    }
  }

  markDelivered(exportId: string, seq: number): void {
    this.sql.exec("UPDATE delta_journal SET state = 'delivered' WHERE export_id = ? AND seq = ?", exportId, seq);
  }

  removeRecord(exportId: string, seq: number): void {
    this.sql.exec("DELETE FROM delta_journal WHERE export_id = ? AND seq = ?", exportId, seq);
  }
}
