/**
 * The project's audit log (table `audit_log`, migration 6): who changed which export or notification
 * setting, when, what (src/audit/changes.ts: old and new values of non-secret fields, "value replaced"
 * for secrets, never a value) and the outcome. Appended in the same transaction as the change it
 * records; kept 90 days and at most MAX_AUDIT_ENTRIES rows (the oldest go first), each entry's
 * changes at most MAX_AUDIT_CHANGES_BYTES (larger values are replaced by their size).
 */
import { AUDIT_RETENTION_MS, boundChanges, MAX_AUDIT_ENTRIES, type Actor, type AuditAction, type AuditEntry, type FieldChange } from "../src/audit/changes";

export interface AuditRecord {
  actor: Actor;
  action: AuditAction;
  target: AuditEntry["target"];
  changes: FieldChange[];
  outcome: string;
}

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target_kind: string;
  target_id: string;
  target_name: string | null;
  changes: string;
  outcome: string;
}

export class AuditLog {
  constructor(private readonly sql: SqlStorage) {}

  /** Call inside the transaction of the change. */
  append(record: AuditRecord, nowMs: number): void {
    this.sql.exec(
      "INSERT INTO audit_log (at, actor, action, target_kind, target_id, target_name, changes, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      nowMs,
      JSON.stringify(record.actor),
      record.action,
      record.target.kind,
      record.target.id,
      record.target.name,
      JSON.stringify(boundChanges(record.changes)),
      record.outcome,
    );
    // Bounded: beyond the cap the oldest entry goes (one row per append at most, by primary key).
    this.sql.exec("DELETE FROM audit_log WHERE seq <= (SELECT MAX(seq) FROM audit_log) - ?", MAX_AUDIT_ENTRIES);
  }

  /** Newest first; `before` is the cursor (an entry id) of the previous page. */
  page(limit: number, before: number | null): { entries: AuditEntry[]; next_before: number | null } {
    const rows = this.sql
      .exec<Row>("SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?", before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    const entries = rows.slice(0, limit).map(
      (r): AuditEntry => ({
        id: r.seq,
        at: new Date(r.at).toISOString(),
        actor: JSON.parse(r.actor) as Actor,
        action: r.action as AuditAction,
        target: { kind: r.target_kind as AuditEntry["target"]["kind"], id: r.target_id, name: r.target_name },
        changes: JSON.parse(r.changes) as FieldChange[],
        outcome: r.outcome,
      }),
    );
    return { entries, next_before: rows.length > limit ? entries.at(-1)!.id : null };
  }

  /** Whether the log holds an entry of `action` on the target with this id. */
  holds(action: AuditAction, targetId: string): boolean {
    return this.sql.exec("SELECT 1 FROM audit_log WHERE action = ? AND target_id = ? LIMIT 1", action, targetId).toArray().length > 0;
  }

  /**
   * Whether entries older than 90 days exist: one row read (the oldest, by primary key), so that
   * housekeeping every minute neither scans the log nor opens a transaction for nothing.
   */
  hasExpired(nowMs: number): boolean {
    const oldest = this.sql.exec<{ at: number }>("SELECT at FROM audit_log ORDER BY seq LIMIT 1").toArray()[0];
    return oldest !== undefined && oldest.at < nowMs - AUDIT_RETENTION_MS;
  }

  /** Housekeeping: entries older than 90 days. */
  expire(nowMs: number): void {
    this.sql.exec("DELETE FROM audit_log WHERE at < ?", nowMs - AUDIT_RETENTION_MS);
  }
}
