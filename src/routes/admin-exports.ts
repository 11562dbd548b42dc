/**
 * GET /v1/admin/exports: every project's export state on one page (admin token only), from the D1
 * copy in export_states. Query: state (one of EXPORT_STATES), limit (1-500, default 100), cursor
 * (opaque; the previous answer's next_cursor). Ordered by project_id, export_id.
 */
import { Hono } from "hono";
import { requireAdmin } from "../auth";
import type { AppEnv } from "../context";
import { invalid } from "../errors";
import type { ExportState } from "../export/status";
import { EXPORT_STATES, isExportState, listExportStates, type ExportStateRecord } from "../export-states";

export const adminExportRoutes = new Hono<AppEnv>();

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;
/** A cursor is far shorter; this only bounds the work spent on a forged one. */
const MAX_CURSOR_CHARS = 2048;

interface Cursor {
  projectId: string;
  exportId: string;
}

function base64urlEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The UTF-8 text of an unpadded base64url string, or null when it is not one. */
function base64urlDecode(value: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) return null;
  try {
    const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (value.length % 4)) % 4));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  } catch {
    return null;
  }
}

export function encodeCursor(c: Cursor): string {
  return base64urlEncode(JSON.stringify({ p: c.projectId, e: c.exportId }));
}

/** The keys a cursor resumes after, or null when it is not one this route handed out. */
export function decodeCursor(value: string): Cursor | null {
  if (value.length === 0 || value.length > MAX_CURSOR_CHARS) return null;
  const text = base64urlDecode(value);
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const { p, e, ...rest } = parsed as Record<string, unknown>;
  if (typeof p !== "string" || typeof e !== "string" || Object.keys(rest).length > 0) return null;
  return { projectId: p, exportId: e };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function exportJson(r: ExportStateRecord) {
  return {
    project_id: r.projectId,
    export_id: r.exportId,
    name: r.name,
    state: r.state,
    consecutive_failures: r.consecutiveFailures,
    last_success_at: iso(r.lastSuccessAt),
    last_attempt_at: iso(r.lastAttemptAt),
    last_error:
      r.lastErrorClassification === null && r.lastErrorAt === null
        ? null
        : { classification: r.lastErrorClassification, at: iso(r.lastErrorAt) },
    updated_at: iso(r.updatedAt)!,
  };
}

adminExportRoutes.get("/v1/admin/exports", async (c) => {
  requireAdmin(c);

  const stateParam = c.req.query("state");
  let state: ExportState | undefined;
  if (stateParam !== undefined) {
    if (!isExportState(stateParam)) throw invalid(`state: must be one of ${EXPORT_STATES.join(", ")}.`);
    state = stateParam;
  }

  const limitParam = c.req.query("limit");
  if (limitParam !== undefined && !(/^[1-9][0-9]{0,2}$/.test(limitParam) && Number(limitParam) <= MAX_LIMIT)) {
    throw invalid(`limit: must be a whole number from 1 to ${MAX_LIMIT}.`);
  }
  const limit = limitParam === undefined ? DEFAULT_LIMIT : Number(limitParam);

  const cursorParam = c.req.query("cursor");
  let after: Cursor | undefined;
  if (cursorParam !== undefined) {
    const decoded = decodeCursor(cursorParam);
    if (decoded === null) throw invalid("cursor: not a cursor from a previous answer's next_cursor.");
    after = decoded;
  }

  // One row more than asked tells whether another page exists.
  const rows = await listExportStates(c.env.DB, { state, limit: limit + 1, after });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return c.json({
    exports: page.map(exportJson),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null,
  });
});
