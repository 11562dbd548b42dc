/**
 * Row mapping of the export's tables — configuration, sealed headers, status — and `meta`
 * (schema: sql-migrations.ts). The aggregation's tables are aggregate-store.ts. Synchronous, so a
 * caller can group writes in one `transactionSync`.
 */
import type { SealedValue } from "../src/crypto/header-crypto";
import { INITIAL_STATUS, type ExportStatus, type StoredConfig } from "../src/export/status";

type Row = Record<string, SqlStorageValue>;

/** One stored export header: its sealed value and the origin it may be sent to (null: sealed before that binding). */
export interface SealedHeader {
  name: string;
  origin: string | null;
  sealed: SealedValue;
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
}
