/**
 * Append-only schema migrations of the ProjectExporter's SQLite storage. Never edit an applied
 * migration; add a new one. Every table is documented in docs/storage-schema.md.
 */
import { FIRST_EXPORT_ID, upgradeFromV3 } from "./legacy-v3";

export interface SqlMigration {
  id: number;
  description: string;
  sql: string;
  /** Data that SQL alone cannot convert (binary encodings), in the same transaction, after `sql`. */
  upgrade?: (sql: SqlStorage) => void;
}

export const MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    description: "export configuration, encrypted headers, status, aggregated series, host reports, batch ledger",
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE export_config (
        id                  INTEGER PRIMARY KEY CHECK (id = 1),
        destination         TEXT NOT NULL,
        endpoint            TEXT NOT NULL,
        protocol            TEXT NOT NULL,
        compression         TEXT NOT NULL,
        temporality         TEXT NOT NULL,
        histogram_bounds_ms TEXT,
        enabled             INTEGER NOT NULL,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
      );
      CREATE TABLE export_headers (
        name        TEXT PRIMARY KEY,
        position    INTEGER NOT NULL,
        key_version TEXT NOT NULL,
        iv          BLOB NOT NULL,
        ciphertext  BLOB NOT NULL
      );
      CREATE TABLE export_status (
        id                    INTEGER PRIMARY KEY CHECK (id = 1),
        consecutive_failures  INTEGER NOT NULL DEFAULT 0,
        last_success_at       INTEGER,
        last_attempt_at       INTEGER,
        last_error            TEXT,
        paused_at             INTEGER,
        warning               TEXT,
        pushes_succeeded      INTEGER NOT NULL DEFAULT 0,
        pushes_failed         INTEGER NOT NULL DEFAULT 0,
        retries               INTEGER NOT NULL DEFAULT 0,
        data_points_sent      INTEGER NOT NULL DEFAULT 0,
        bytes_sent            INTEGER NOT NULL DEFAULT 0,
        last_push_duration_ms INTEGER,
        next_push_at          INTEGER
      );
      CREATE TABLE series (
        app_name            TEXT NOT NULL,
        region              TEXT NOT NULL,
        counters_start_ms   INTEGER NOT NULL,
        runs                INTEGER NOT NULL,
        successes           INTEGER NOT NULL,
        errors              INTEGER NOT NULL,
        histograms_start_ms INTEGER NOT NULL,
        bounds              TEXT NOT NULL,
        histograms          TEXT NOT NULL,
        acked               TEXT,
        PRIMARY KEY (app_name, region)
      ) WITHOUT ROWID;
      CREATE TABLE host_reports (
        host_id             TEXT NOT NULL,
        app_name            TEXT NOT NULL,
        region              TEXT NOT NULL,
        time_ms             INTEGER NOT NULL,
        cpu_cores           REAL NOT NULL,
        memory_bytes        REAL NOT NULL,
        gpu_memory_bytes    REAL NOT NULL,
        gpu_compute_percent REAL NOT NULL,
        gpu_count           INTEGER NOT NULL,
        containers_running  INTEGER NOT NULL,
        containers_ready    INTEGER NOT NULL,
        PRIMARY KEY (host_id, app_name, region)
      ) WITHOUT ROWID;
      CREATE TABLE batches (
        host_id    TEXT NOT NULL,
        batch_id   TEXT NOT NULL,
        applied_at INTEGER NOT NULL,
        accepted   INTEGER NOT NULL,
        rejected   TEXT NOT NULL,
        PRIMARY KEY (host_id, batch_id)
      ) WITHOUT ROWID;
      CREATE INDEX batches_applied_at ON batches (applied_at);
      CREATE TABLE pending_push (
        app_name TEXT NOT NULL,
        region   TEXT NOT NULL,
        acked    TEXT NOT NULL,
        PRIMARY KEY (app_name, region)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 2,
    description: "export headers remember the origin they were sealed for (NULL: sealed before the origin binding)",
    sql: `ALTER TABLE export_headers ADD COLUMN origin TEXT;`,
  },
  {
    id: 3,
    description: "series remember their latest sample (expiry); batches.rejected holds a count and a few examples",
    // Existing series count as seen now: they expire SERIES_RETENTION_HOURS after the upgrade at the earliest.
    sql: `ALTER TABLE series ADD COLUMN last_sample_ms INTEGER NOT NULL DEFAULT 0;
          UPDATE series SET last_sample_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000;`,
  },
  {
    id: 4,
    description:
      "writes follow what changed: batches log their samples (one row per batch, no applied_at index), binary aggregates and one row per host compacted from them, a delta journal keyed by export",
    sql: `
      CREATE TABLE aggregates (
        app_name            TEXT NOT NULL,
        region              TEXT NOT NULL,
        counters_start_ms   INTEGER NOT NULL,
        histograms_start_ms INTEGER NOT NULL,
        last_sample_ms      INTEGER NOT NULL,
        runs                INTEGER NOT NULL,
        successes           INTEGER NOT NULL,
        errors              INTEGER NOT NULL,
        bounds              BLOB NOT NULL,
        histograms          BLOB NOT NULL,
        PRIMARY KEY (app_name, region)
      ) WITHOUT ROWID;
      CREATE TABLE host_states (
        host_id TEXT PRIMARY KEY,
        reports BLOB NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE delta_journal (
        export_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        part      INTEGER NOT NULL,
        state     TEXT NOT NULL,
        snapshots BLOB NOT NULL,
        PRIMARY KEY (export_id, seq, part)
      ) WITHOUT ROWID;
      ALTER TABLE batches ADD COLUMN seq INTEGER;
      ALTER TABLE batches ADD COLUMN samples BLOB;
      DROP INDEX batches_applied_at;
    `,
    upgrade: upgradeFromV3,
  },
  {
    id: 5,
    description:
      "several exports per project: configuration, headers and status keyed by export id (the single export becomes export \"default\"), filters, the body size learnt from 413",
    sql: `
      ALTER TABLE export_config RENAME TO export_config_v4;
      CREATE TABLE export_config (
        export_id           TEXT PRIMARY KEY,
        position            INTEGER NOT NULL UNIQUE,
        name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
        destination         TEXT NOT NULL,
        endpoint            TEXT NOT NULL,
        protocol            TEXT NOT NULL,
        compression         TEXT NOT NULL,
        temporality         TEXT NOT NULL,
        histogram_bounds_ms TEXT,
        enabled             INTEGER NOT NULL,
        filters             TEXT,
        body_limit_bytes    INTEGER,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO export_config (export_id, position, name, destination, endpoint, protocol, compression, temporality,
          histogram_bounds_ms, enabled, filters, body_limit_bytes, created_at, updated_at)
        SELECT '${FIRST_EXPORT_ID}', 0, destination, destination, endpoint, protocol, compression, temporality,
          histogram_bounds_ms, enabled, NULL, NULL, created_at, updated_at FROM export_config_v4;
      DROP TABLE export_config_v4;

      ALTER TABLE export_headers RENAME TO export_headers_v4;
      CREATE TABLE export_headers (
        export_id    TEXT NOT NULL,
        name         TEXT NOT NULL,
        position     INTEGER NOT NULL,
        origin       TEXT,
        export_bound INTEGER NOT NULL DEFAULT 1,
        key_version  TEXT NOT NULL,
        iv           BLOB NOT NULL,
        ciphertext   BLOB NOT NULL,
        PRIMARY KEY (export_id, name)
      ) WITHOUT ROWID;
      INSERT INTO export_headers (export_id, name, position, origin, export_bound, key_version, iv, ciphertext)
        SELECT '${FIRST_EXPORT_ID}', name, position, origin, 0, key_version, iv, ciphertext FROM export_headers_v4
        WHERE EXISTS (SELECT 1 FROM export_config);
      DROP TABLE export_headers_v4;

      ALTER TABLE export_status RENAME TO export_status_v4;
      CREATE TABLE export_status (
        export_id             TEXT PRIMARY KEY,
        consecutive_failures  INTEGER NOT NULL DEFAULT 0,
        last_success_at       INTEGER,
        last_attempt_at       INTEGER,
        last_error            TEXT,
        paused_at             INTEGER,
        warning               TEXT,
        pushes_succeeded      INTEGER NOT NULL DEFAULT 0,
        pushes_failed         INTEGER NOT NULL DEFAULT 0,
        retries               INTEGER NOT NULL DEFAULT 0,
        data_points_sent      INTEGER NOT NULL DEFAULT 0,
        bytes_sent            INTEGER NOT NULL DEFAULT 0,
        last_push_duration_ms INTEGER,
        next_push_at          INTEGER
      ) WITHOUT ROWID;
      INSERT INTO export_status SELECT '${FIRST_EXPORT_ID}', consecutive_failures, last_success_at, last_attempt_at, last_error, paused_at,
          warning, pushes_succeeded, pushes_failed, retries, data_points_sent, bytes_sent, last_push_duration_ms, next_push_at
        FROM export_status_v4 WHERE EXISTS (SELECT 1 FROM export_config);
      DROP TABLE export_status_v4;
      DELETE FROM delta_journal WHERE NOT EXISTS (SELECT 1 FROM export_config WHERE export_config.export_id = delta_journal.export_id);
    `,
  },
  {
    id: 6,
    description:
      "notification webhooks (encrypted URL and signing secret), their durable delivery queue and quiet-period state, and the audit log of configuration changes",
    sql: `
      CREATE TABLE audit_log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        target_name TEXT,
        changes     TEXT NOT NULL,
        outcome     TEXT NOT NULL
      );
      CREATE TABLE notifications (
        notification_id TEXT PRIMARY KEY,
        position        INTEGER NOT NULL,
        name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
        format          TEXT NOT NULL,
        events          TEXT NOT NULL,
        quiet_period_ms INTEGER NOT NULL,
        url_origin      TEXT NOT NULL,
        url_redacted    TEXT NOT NULL,
        key_version     TEXT NOT NULL,
        url_iv          BLOB NOT NULL,
        url_ct          BLOB NOT NULL,
        secret_iv       BLOB NOT NULL,
        secret_ct       BLOB NOT NULL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        last_delivery   TEXT
      ) WITHOUT ROWID;
      CREATE TABLE notification_outbox (
        notification_id TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        event           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        PRIMARY KEY (notification_id, event_id)
      ) WITHOUT ROWID;
      CREATE TABLE notification_runs (
        notification_id TEXT NOT NULL,
        export_id       TEXT NOT NULL,
        failing_sent_at INTEGER,
        announced       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (notification_id, export_id)
      ) WITHOUT ROWID;
    `,
  },
];

/** Applies the migrations not applied yet, all in one transaction. */
export function migrate(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    const applied = sql.exec<{ id: number }>("SELECT COALESCE(MAX(id), 0) AS id FROM _migrations").one().id;
    for (const m of MIGRATIONS) {
      if (m.id <= applied) continue;
      sql.exec(m.sql);
      m.upgrade?.(sql);
      sql.exec("INSERT INTO _migrations (id, description, applied_at) VALUES (?, ?, ?)", m.id, m.description, Date.now());
    }
  });
}
