/**
 * Row mapping for the ProjectExporter's SQLite tables (schema: sql-migrations.ts). Synchronous, so
 * a caller can group writes in one `transactionSync`.
 */
import type { HostReport } from "../src/aggregation/gauges";
import type { Histogram } from "../src/aggregation/histogram";
import { HISTOGRAM_FIELDS, type Histograms, type SeriesState, type Snapshot } from "../src/aggregation/series";
import { NO_DELTA, type DeltaState } from "../src/export/delta";
import type { SealedValue } from "../src/crypto/header-crypto";
import type { SampleRejection } from "../src/validation/samples";
import type { LedgerEntry } from "../src/aggregation/ledger-entry";
import { INITIAL_STATUS, type ExportStatus, type StoredConfig } from "../src/export/status";

type Row = Record<string, SqlStorageValue>;

/** One stored export header: its sealed value and the origin it may be sent to (null: sealed before that binding). */
export interface SealedHeader {
  name: string;
  origin: string | null;
  sealed: SealedValue;
}

// Histograms are stored compactly: [count, sum, min|null, max|null, ...buckets] per field.
type PackedHistogram = (number | null)[];

function packHistogram(h: Histogram): PackedHistogram {
  return [h.count, h.sum, h.count > 0 ? h.min : null, h.count > 0 ? h.max : null, ...h.buckets];
}

function unpackHistogram(p: PackedHistogram): Histogram {
  return {
    count: p[0] as number,
    sum: p[1] as number,
    min: (p[2] as number | null) ?? Infinity,
    max: (p[3] as number | null) ?? -Infinity,
    buckets: p.slice(4) as number[],
  };
}

function packHistograms(h: Histograms): PackedHistogram[] {
  return HISTOGRAM_FIELDS.map((f) => packHistogram(h[f]));
}

function unpackHistograms(p: PackedHistogram[]): Histograms {
  return {
    execution: unpackHistogram(p[0]!),
    queue: unpackHistogram(p[1]!),
    coldstart: unpackHistogram(p[2]!),
    response: unpackHistogram(p[3]!),
  };
}

interface PackedSnapshot {
  at: number;
  c: [number, number, number];
  h: PackedHistogram[] | null;
}

function packSnapshot(a: Snapshot): PackedSnapshot {
  return { at: a.atMs, c: [a.runs, a.successes, a.errors], h: a.histograms ? packHistograms(a.histograms) : null };
}

function unpackSnapshot(v: PackedSnapshot): Snapshot {
  const snapshot: Snapshot = { atMs: v.at, runs: v.c[0], successes: v.c[1], errors: v.c[2] };
  if (v.h) snapshot.histograms = unpackHistograms(v.h);
  return snapshot;
}

/** The `acked` column: the delivered snapshot's fields, plus `u` for unconfirmed intervals. */
function packDelta(d: DeltaState): string | null {
  if (d.acked === null && d.unconfirmed.length === 0) return null;
  const acked = d.acked ? packSnapshot(d.acked) : { at: -1, c: [0, 0, 0], h: null };
  return JSON.stringify(d.unconfirmed.length > 0 ? { ...acked, u: d.unconfirmed.map(packSnapshot) } : acked);
}

function unpackDelta(text: SqlStorageValue | undefined): DeltaState {
  if (typeof text !== "string") return NO_DELTA;
  const v = JSON.parse(text) as PackedSnapshot & { u?: PackedSnapshot[] };
  return { acked: v.at >= 0 ? unpackSnapshot(v) : null, unconfirmed: (v.u ?? []).map(unpackSnapshot) };
}

export { seriesKey } from "../src/aggregation/series";

export class ProjectStore {
  constructor(private readonly sql: SqlStorage) {}

  // --- meta -------------------------------------------------------------------------------------
  meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? row.value : null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  // --- export configuration ----------------------------------------------------------------------
  config(): StoredConfig | null {
    const r = this.sql.exec<Row>("SELECT * FROM export_config WHERE id = 1").toArray()[0];
    if (!r) return null;
    return {
      destination: r.destination as StoredConfig["destination"],
      endpoint: r.endpoint as string,
      protocol: r.protocol as StoredConfig["protocol"],
      compression: r.compression as StoredConfig["compression"],
      temporality: r.temporality as StoredConfig["temporality"],
      histogramBoundsMs: r.histogram_bounds_ms === null ? null : (JSON.parse(r.histogram_bounds_ms as string) as number[]),
      enabled: r.enabled === 1,
      createdAt: r.created_at as number,
      updatedAt: r.updated_at as number,
    };
  }

  saveConfig(c: StoredConfig): void {
    this.sql.exec(
      `INSERT INTO export_config (id, destination, endpoint, protocol, compression, temporality, histogram_bounds_ms, enabled, created_at, updated_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET destination = excluded.destination, endpoint = excluded.endpoint,
         protocol = excluded.protocol, compression = excluded.compression, temporality = excluded.temporality,
         histogram_bounds_ms = excluded.histogram_bounds_ms, enabled = excluded.enabled, updated_at = excluded.updated_at`,
      c.destination,
      c.endpoint,
      c.protocol,
      c.compression,
      c.temporality,
      c.histogramBoundsMs === null ? null : JSON.stringify(c.histogramBoundsMs),
      c.enabled ? 1 : 0,
      c.createdAt,
      c.updatedAt,
    );
  }

  deleteConfig(): void {
    this.sql.exec("DELETE FROM export_config");
    this.sql.exec("DELETE FROM export_headers");
  }

  headers(): SealedHeader[] {
    return this.sql
      .exec<Row>("SELECT name, origin, key_version, iv, ciphertext FROM export_headers ORDER BY position")
      .toArray()
      .map((r) => ({
        name: r.name as string,
        origin: r.origin as string | null,
        sealed: {
          keyVersion: r.key_version as string,
          iv: new Uint8Array(r.iv as ArrayBuffer),
          ciphertext: new Uint8Array(r.ciphertext as ArrayBuffer),
        },
      }));
  }

  replaceHeaders(headers: readonly SealedHeader[]): void {
    this.sql.exec("DELETE FROM export_headers");
    headers.forEach((h, i) => {
      this.sql.exec(
        "INSERT INTO export_headers (name, position, origin, key_version, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?)",
        h.name,
        i,
        h.origin,
        h.sealed.keyVersion,
        h.sealed.iv,
        h.sealed.ciphertext,
      );
    });
  }

  // --- status ---------------------------------------------------------------------------------------
  status(): ExportStatus {
    const r = this.sql.exec<Row>("SELECT * FROM export_status WHERE id = 1").toArray()[0];
    if (!r) return { ...INITIAL_STATUS, totals: { ...INITIAL_STATUS.totals } };
    return {
      consecutiveFailures: r.consecutive_failures as number,
      lastSuccessAt: r.last_success_at as number | null,
      lastAttemptAt: r.last_attempt_at as number | null,
      lastError: r.last_error === null ? null : JSON.parse(r.last_error as string),
      pausedAt: r.paused_at as number | null,
      warning: r.warning as string | null,
      totals: {
        pushesSucceeded: r.pushes_succeeded as number,
        pushesFailed: r.pushes_failed as number,
        retries: r.retries as number,
        dataPointsSent: r.data_points_sent as number,
        bytesSent: r.bytes_sent as number,
        lastPushDurationMs: r.last_push_duration_ms as number | null,
      },
      nextPushAt: r.next_push_at as number | null,
    };
  }

  saveStatus(s: ExportStatus): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO export_status (id, consecutive_failures, last_success_at, last_attempt_at, last_error, paused_at, warning,
         pushes_succeeded, pushes_failed, retries, data_points_sent, bytes_sent, last_push_duration_ms, next_push_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      s.consecutiveFailures,
      s.lastSuccessAt,
      s.lastAttemptAt,
      s.lastError === null ? null : JSON.stringify(s.lastError),
      s.pausedAt,
      s.warning,
      s.totals.pushesSucceeded,
      s.totals.pushesFailed,
      s.totals.retries,
      s.totals.dataPointsSent,
      s.totals.bytesSent,
      s.totals.lastPushDurationMs,
      s.nextPushAt,
    );
  }

  // --- series -----------------------------------------------------------------------------------
  allSeries(): { series: SeriesState; delta: DeltaState }[] {
    return this.sql
      .exec<Row>("SELECT * FROM series")
      .toArray()
      .map((r) => ({ series: {
        appName: r.app_name as string,
        region: r.region as string,
        countersStartMs: r.counters_start_ms as number,
        runs: r.runs as number,
        successes: r.successes as number,
        errors: r.errors as number,
        histogramsStartMs: r.histograms_start_ms as number,
        bounds: JSON.parse(r.bounds as string) as number[],
        histograms: unpackHistograms(JSON.parse(r.histograms as string) as PackedHistogram[]),
        lastSampleMs: r.last_sample_ms as number,
      }, delta: unpackDelta(r.acked) }));
  }

  /** Returns the rows written (as SQLite counts them). */
  saveSeries(s: SeriesState, delta: DeltaState): number {
    return this.sql.exec(
      `INSERT OR REPLACE INTO series (app_name, region, counters_start_ms, runs, successes, errors, histograms_start_ms, bounds, histograms, acked, last_sample_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      s.appName,
      s.region,
      s.countersStartMs,
      s.runs,
      s.successes,
      s.errors,
      s.histogramsStartMs,
      JSON.stringify(s.bounds),
      JSON.stringify(packHistograms(s.histograms)),
      packDelta(delta),
      s.lastSampleMs,
    ).rowsWritten;
  }

  saveDelta(appName: string, region: string, delta: DeltaState): void {
    this.sql.exec("UPDATE series SET acked = ? WHERE app_name = ? AND region = ?", packDelta(delta), appName, region);
  }

  deleteSeries(appName: string, region: string): void {
    this.sql.exec("DELETE FROM series WHERE app_name = ? AND region = ?", appName, region);
    this.sql.exec("DELETE FROM host_reports WHERE app_name = ? AND region = ?", appName, region);
  }

  // --- pending push (delta: what a push in flight carries) ------------------------------------------
  pendingSnapshots(): { appName: string; region: string; snapshot: Snapshot }[] {
    return this.sql
      .exec<Row>("SELECT app_name, region, acked FROM pending_push")
      .toArray()
      .map((r) => ({ appName: r.app_name as string, region: r.region as string, snapshot: unpackSnapshot(JSON.parse(r.acked as string) as PackedSnapshot) }));
  }

  savePendingSnapshot(appName: string, region: string, snapshot: Snapshot): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO pending_push (app_name, region, acked) VALUES (?, ?, ?)",
      appName,
      region,
      JSON.stringify(packSnapshot(snapshot)),
    );
  }

  clearPendingAcks(): void {
    this.sql.exec("DELETE FROM pending_push");
  }

  // --- host reports -----------------------------------------------------------------------------
  allReports(): HostReport[] {
    return this.sql
      .exec<Row>("SELECT * FROM host_reports")
      .toArray()
      .map((r) => ({
        hostId: r.host_id as string,
        appName: r.app_name as string,
        region: r.region as string,
        timeMs: r.time_ms as number,
        cpuCores: r.cpu_cores as number,
        memoryBytes: r.memory_bytes as number,
        gpuMemoryBytes: r.gpu_memory_bytes as number,
        gpuComputePercent: r.gpu_compute_percent as number,
        gpuCount: r.gpu_count as number,
        containersRunning: r.containers_running as number,
        containersReady: r.containers_ready as number,
      }));
  }

  saveReport(r: HostReport): number {
    return this.sql.exec(
      `INSERT OR REPLACE INTO host_reports (host_id, app_name, region, time_ms, cpu_cores, memory_bytes, gpu_memory_bytes,
         gpu_compute_percent, gpu_count, containers_running, containers_ready) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.hostId,
      r.appName,
      r.region,
      r.timeMs,
      r.cpuCores,
      r.memoryBytes,
      r.gpuMemoryBytes,
      r.gpuComputePercent,
      r.gpuCount,
      r.containersRunning,
      r.containersReady,
    ).rowsWritten;
  }

  deleteReportsOlderThan(cutoffMs: number): void {
    this.sql.exec("DELETE FROM host_reports WHERE time_ms < ?", cutoffMs);
  }

  // --- batch ledger (idempotency) -------------------------------------------------------------------
  batch(hostId: string, batchId: string): LedgerEntry | null {
    const r = this.sql
      .exec<Row>("SELECT accepted, rejected FROM batches WHERE host_id = ? AND batch_id = ?", hostId, batchId)
      .toArray()[0];
    if (!r) return null;
    const stored = JSON.parse(r.rejected as string) as SampleRejection[] | { count: number; examples: SampleRejection[] };
    // Rows written before migration 3 hold the whole list.
    const rejected = Array.isArray(stored) ? { count: stored.length, examples: stored.slice(0, 5) } : stored;
    return { accepted: r.accepted as number, rejectedCount: rejected.count, examples: rejected.examples };
  }

  saveBatch(hostId: string, batchId: string, appliedAt: number, entry: LedgerEntry): number {
    return this.sql.exec(
      "INSERT INTO batches (host_id, batch_id, applied_at, accepted, rejected) VALUES (?, ?, ?, ?, ?)",
      hostId,
      batchId,
      appliedAt,
      entry.accepted,
      JSON.stringify({ count: entry.rejectedCount, examples: entry.examples }),
    ).rowsWritten;
  }

  counts(): { series: number; hostReports: number; batches: number } {
    const one = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return { series: one("series"), hostReports: one("host_reports"), batches: one("batches") };
  }

  hasBatches(): boolean {
    return this.sql.exec("SELECT 1 FROM batches LIMIT 1").toArray().length > 0;
  }

  deleteBatchesOlderThan(cutoffMs: number): void {
    this.sql.exec("DELETE FROM batches WHERE applied_at < ?", cutoffMs);
  }
}
