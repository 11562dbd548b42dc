/**
 * D1 table `export_states` (migrations/0002_export_states.sql): a fleet-wide copy of each export's
 * state, so an operator can list exports across projects without waking every project's object.
 * Plain reads and writes; no caching. Times are Unix milliseconds.
 */
import type { ExportState } from "./export/status";

/** Every ExportState, in the order the API documents them (runtime list for validation). */
export const EXPORT_STATES = ["unconfigured", "disabled", "pending", "connected", "failing", "paused"] as const satisfies readonly ExportState[];
// Compile-time guard: adding a state to ExportState without listing it here fails the typecheck.
const _everyStateListed: Exclude<ExportState, (typeof EXPORT_STATES)[number]> extends never ? true : never = true;
void _everyStateListed;

export function isExportState(value: string): value is ExportState {
  return (EXPORT_STATES as readonly string[]).includes(value);
}

export interface ExportStateRecord {
  projectId: string;
  exportId: string;
  name: string;
  state: ExportState;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastAttemptAt: number | null;
  lastErrorClassification: string | null;
  lastErrorAt: number | null;
  updatedAt: number;
}

interface Row {
  project_id: string;
  export_id: string;
  name: string;
  state: ExportState;
  consecutive_failures: number;
  last_success_at: number | null;
  last_attempt_at: number | null;
  last_error_classification: string | null;
  last_error_at: number | null;
  updated_at: number;
}

const COLUMNS =
  "project_id, export_id, name, state, consecutive_failures, last_success_at, last_attempt_at, " +
  "last_error_classification, last_error_at, updated_at";

function fromRow(r: Row): ExportStateRecord {
  return {
    projectId: r.project_id,
    exportId: r.export_id,
    name: r.name,
    state: r.state,
    consecutiveFailures: r.consecutive_failures,
    lastSuccessAt: r.last_success_at,
    lastAttemptAt: r.last_attempt_at,
    lastErrorClassification: r.last_error_classification,
    lastErrorAt: r.last_error_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Inserts the export's row, or replaces every column of the existing one (last write wins; callers
 * that may race should write from one place, the project's object).
 */
export async function recordExportState(db: D1Database, r: ExportStateRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO export_states (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (project_id, export_id) DO UPDATE SET
         name = excluded.name,
         state = excluded.state,
         consecutive_failures = excluded.consecutive_failures,
         last_success_at = excluded.last_success_at,
         last_attempt_at = excluded.last_attempt_at,
         last_error_classification = excluded.last_error_classification,
         last_error_at = excluded.last_error_at,
         updated_at = excluded.updated_at`,
    )
    .bind(
      r.projectId,
      r.exportId,
      r.name,
      r.state,
      r.consecutiveFailures,
      r.lastSuccessAt,
      r.lastAttemptAt,
      r.lastErrorClassification,
      r.lastErrorAt,
      r.updatedAt,
    )
    .run();
}

/** Deletes the export's row; nothing happens when there is none. */
export async function forgetExportState(db: D1Database, projectId: string, exportId: string): Promise<void> {
  await db.prepare("DELETE FROM export_states WHERE project_id = ? AND export_id = ?").bind(projectId, exportId).run();
}

/**
 * Up to `limit` rows ordered by (project_id, export_id), optionally of one state, starting strictly
 * after `after` (keyset pagination: pass the last row's keys to get the next page). With a state the
 * scan uses the index export_states_state (state, project_id, export_id); without, the primary key.
 */
export async function listExportStates(
  db: D1Database,
  q: { state?: ExportState; limit: number; after?: { projectId: string; exportId: string } },
): Promise<ExportStateRecord[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.state !== undefined) {
    where.push("state = ?");
    params.push(q.state);
  }
  if (q.after !== undefined) {
    where.push("(project_id, export_id) > (?, ?)");
    params.push(q.after.projectId, q.after.exportId);
  }
  params.push(q.limit);
  const sql =
    `SELECT ${COLUMNS} FROM export_states` +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    " ORDER BY project_id, export_id LIMIT ?";
  const rows = await db.prepare(sql).bind(...params).all<Row>();
  return rows.results.map(fromRow);
}
