/**
 * Row mapping of the exports' tables — configuration, sealed headers, status, one set per export id
 * — and `meta` (schema: sql-migrations.ts). The aggregation's tables are aggregate-store.ts.
 * Synchronous, so a caller can group writes in one `transactionSync`.
 */
import type { SealedValue } from "../src/crypto/header-crypto";
import { INITIAL_STATUS, type ExportStatus, type StoredConfig } from "../src/export/status";

type Row = Record<string, SqlStorageValue>;

/** One stored export header: its sealed value and the origin it may be sent to (null: sealed before that binding). */
export interface SealedHeader {
  name: string;
  origin: string | null;
  /** False: sealed before the export id was part of the additional data (re-sealed on load). */
  exportBound: boolean;
  sealed: SealedValue;
}

export interface StoredExport {
  id: string;
  config: StoredConfig;
}


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
  /** Every export, in the order they were created (the first is the singular routes' export). */
  exports(): StoredExport[] {
    return this.sql
      .exec<Row>("SELECT * FROM export_config ORDER BY position")
      .toArray()
      .map((r) => ({ id: r.export_id as string, config: configOf(r) }));
  }

  config(exportId: string): StoredConfig | null {
    const r = this.sql.exec<Row>("SELECT * FROM export_config WHERE export_id = ?", exportId).toArray()[0];
    return r ? configOf(r) : null;
  }

  saveConfig(exportId: string, c: StoredConfig): void {
    this.sql.exec(
      `INSERT INTO export_config (export_id, position, name, destination, endpoint, protocol, compression, temporality, histogram_bounds_ms,
         enabled, filters, body_limit_bytes, created_at, updated_at)
       VALUES (?, (SELECT COALESCE(MAX(position), -1) + 1 FROM export_config), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (export_id) DO UPDATE SET name = excluded.name, destination = excluded.destination, endpoint = excluded.endpoint,
         protocol = excluded.protocol, compression = excluded.compression, temporality = excluded.temporality,
         histogram_bounds_ms = excluded.histogram_bounds_ms, enabled = excluded.enabled, filters = excluded.filters,
         body_limit_bytes = excluded.body_limit_bytes, updated_at = excluded.updated_at`,
      exportId,
      c.name,
      c.destination,
      c.endpoint,
      c.protocol,
      c.compression,
      c.temporality,
      c.histogramBoundsMs === null ? null : JSON.stringify(c.histogramBoundsMs),
      c.enabled ? 1 : 0,
      c.filters === null ? null : JSON.stringify(c.filters),
      c.bodyLimitBytes,
      c.createdAt,
      c.updatedAt,
    );
  }

  /** Bucket bounds are the project's (one aggregation): a save sets them on every export. */
  setBoundsEverywhere(bounds: number[] | null): void {
    this.sql.exec("UPDATE export_config SET histogram_bounds_ms = ?", bounds === null ? null : JSON.stringify(bounds));
  }

  /** The export's configuration, headers and status. */
  deleteExport(exportId: string): void {
    this.sql.exec("DELETE FROM export_config WHERE export_id = ?", exportId);
    this.sql.exec("DELETE FROM export_headers WHERE export_id = ?", exportId);
    this.sql.exec("DELETE FROM export_status WHERE export_id = ?", exportId);
    // Notification quiet-period state of this export (a new export with the same id starts afresh).
    this.sql.exec("DELETE FROM notification_runs WHERE export_id = ?", exportId);
  }

  headers(exportId: string): SealedHeader[] {
    return this.sql
      .exec<Row>("SELECT name, origin, export_bound, key_version, iv, ciphertext FROM export_headers WHERE export_id = ? ORDER BY position", exportId)
      .toArray()
      .map((r) => ({
        name: r.name as string,
        origin: r.origin as string | null,
        exportBound: r.export_bound === 1,
        sealed: {
          keyVersion: r.key_version as string,
          iv: new Uint8Array(r.iv as ArrayBuffer),
          ciphertext: new Uint8Array(r.ciphertext as ArrayBuffer),
        },
      }));
  }

  replaceHeaders(exportId: string, headers: readonly SealedHeader[]): void {
    this.sql.exec("DELETE FROM export_headers WHERE export_id = ?", exportId);
    headers.forEach((h, i) => {
      this.sql.exec(
        "INSERT INTO export_headers (export_id, name, position, origin, export_bound, key_version, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        exportId,
        h.name,
        i,
        h.origin,
        h.exportBound ? 1 : 0,
        h.sealed.keyVersion,
        h.sealed.iv,
        h.sealed.ciphertext,
      );
    });
  }

  // --- status ---------------------------------------------------------------------------------------
  status(exportId: string): ExportStatus {
    const r = this.sql.exec<Row>("SELECT * FROM export_status WHERE export_id = ?", exportId).toArray()[0];
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

  saveStatus(exportId: string, s: ExportStatus): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO export_status (export_id, consecutive_failures, last_success_at, last_attempt_at, last_error, paused_at, warning,
         pushes_succeeded, pushes_failed, retries, data_points_sent, bytes_sent, last_push_duration_ms, next_push_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      exportId,
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
}

function configOf(r: Row): StoredConfig {
  return {
    name: r.name as string,
    destination: r.destination as StoredConfig["destination"],
    endpoint: r.endpoint as string,
    protocol: r.protocol as StoredConfig["protocol"],
    compression: r.compression as StoredConfig["compression"],
    temporality: r.temporality as StoredConfig["temporality"],
    histogramBoundsMs: r.histogram_bounds_ms === null ? null : (JSON.parse(r.histogram_bounds_ms as string) as number[]),
    enabled: r.enabled === 1,
    filters: r.filters === null ? null : (JSON.parse(r.filters as string) as StoredConfig["filters"]),
    bodyLimitBytes: r.body_limit_bytes as number | null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}
