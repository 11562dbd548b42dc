/**
 * Which notification events one recorded push produces, and the quiet period that keeps a flapping
 * export from flooding a channel. Pure functions over plain data; the caller persists the run state.
 */
import type { ExportStatus } from "../export/status";

/** What a notification webhook can be told about an export. */
export type NotificationEventType = "export.failing" | "export.paused" | "export.recovered" | "export.credentials_unreadable";

/** Every event type, in documentation order. */
export const EVENT_TYPES: readonly NotificationEventType[] = Object.freeze([
  "export.failing",
  "export.paused",
  "export.recovered",
  "export.credentials_unreadable",
] as const);

const unreadable = (s: ExportStatus): boolean => s.lastError?.classification === "credentials_unreadable";

/**
 * The events of one recorded push, `before` and `after` being the status around `recordPush`:
 * - `export.credentials_unreadable`: the last error became "credentials_unreadable" (it replaces
 *   `export.failing` on that push);
 * - `export.failing`: the first failure of a run (0 → ≥1 consecutive failures), never again in that run;
 * - `export.paused`: the export was paused by this push (after failing/unreadable when both happen);
 * - `export.recovered`: a success ended a failing run, or was the first success after a resume (the
 *   resume keeps the last error, so `before.lastError` still marks the run) or after a save (a save is
 *   the user's fix and clears failures, pause and error, leaving no attempt since: `lastAttemptAt`
 *   null, of an export that failed before). Whether a webhook is told is `decide`'s: only one that
 *   was told the export broke.
 */
export function exportEvents(before: ExportStatus, after: ExportStatus): NotificationEventType[] {
  const events: NotificationEventType[] = [];
  if (unreadable(after) && !unreadable(before)) events.push("export.credentials_unreadable");
  else if (before.consecutiveFailures === 0 && after.consecutiveFailures > 0) events.push("export.failing");
  if (before.pausedAt === null && after.pausedAt !== null) events.push("export.paused");
  const newSuccess = after.lastSuccessAt !== null && (before.lastSuccessAt === null || after.lastSuccessAt > before.lastSuccessAt);
  const wasBroken = before.consecutiveFailures > 0 || before.pausedAt !== null || before.lastError !== null;
  // A save leaves no attempt since it; only an export that ever failed can have been announced.
  const firstSinceSave = before.lastAttemptAt === null && before.totals.pushesFailed > 0;
  if (after.consecutiveFailures === 0 && newSuccess && (wasBroken || firstSinceSave)) events.push("export.recovered");
  return events;
}

/** Per export and webhook: when a failure was last announced, and whether a recovery is owed. */
export interface RunState {
  /** When `export.failing` or `export.credentials_unreadable` was last sent; null: never. */
  failingSentAt: number | null;
  /**
   * The webhook was told this export broke (failing, paused or unreadable credentials) and not yet
   * that it recovered: the next `export.recovered` goes to it, and only then.
   */
  announced: boolean;
}

/** The state of an export nothing was sent about yet. */
export const INITIAL_RUN_STATE: Readonly<RunState> = Object.freeze({ failingSentAt: null, announced: false });

/**
 * Whether to send `type` now, and the state after it. Failures are announced at most once per
 * `quietMs` (0: no quiet period). A pause and unreadable credentials are always sent: both need
 * someone to act (neither goes away by itself), and credentials become unreadable only once per run.
 * Unreadable credentials start the quiet period like a failure, so an `export.failing` right after
 * is held back. A recovery is sent to a webhook that was told of the failure, never otherwise (a
 * failure held back by the quiet period has its recovery held back too: nobody was told it failed).
 */
export function decide(type: NotificationEventType, state: RunState, nowMs: number, quietMs: number): { send: boolean; state: RunState } {
  switch (type) {
    case "export.failing":
      if (state.failingSentAt !== null && quietMs > 0 && nowMs - state.failingSentAt < quietMs) return { send: false, state };
      return { send: true, state: { failingSentAt: nowMs, announced: true } };
    case "export.credentials_unreadable":
      return { send: true, state: { failingSentAt: nowMs, announced: true } };
    case "export.paused":
      return { send: true, state: { ...state, announced: true } };
    case "export.recovered":
      return state.announced ? { send: true, state: { ...state, announced: false } } : { send: false, state };
  }
}
