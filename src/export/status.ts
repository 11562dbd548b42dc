/**
 * Export status bookkeeping: failure accounting, auto-pause and the state users see. Pure functions
 * over plain data; the Durable Object persists the result.
 */
import type { Compression, Destination, Protocol } from "../validation/export-config";
import type { ExportFilters } from "./filters";
import type { Classification, ClassifiedError } from "./classify";
import type { Temporality } from "./model";

/** ../shared/PRODUCT-GUIDE.md: "If pushes fail 10 consecutive times, export is automatically paused". */
export const PAUSE_AFTER_FAILURES = 10;

export interface StoredConfig {
  /** The user's label, unique in the project. */
  name: string;
  destination: Destination;
  endpoint: string;
  protocol: Protocol;
  compression: Compression;
  temporality: Temporality;
  /** null: the default bounds. */
  histogramBoundsMs: number[] | null;
  enabled: boolean;
  /** What is sent (never what is aggregated); null: everything. */
  filters: ExportFilters | null;
  /** The largest body the destination accepted after answering 413 (adaptive splitting); null: the destination's known limit. */
  bodyLimitBytes: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface LastError {
  at: number;
  httpStatus: number | null;
  classification: Classification;
  message: string;
  hint: string;
}

export interface PushTotals {
  pushesSucceeded: number;
  pushesFailed: number;
  retries: number;
  dataPointsSent: number;
  bytesSent: number;
  lastPushDurationMs: number | null;
}

export interface ExportStatus {
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastAttemptAt: number | null;
  lastError: LastError | null;
  pausedAt: number | null;
  warning: string | null;
  totals: PushTotals;
  nextPushAt: number | null;
}

export const INITIAL_STATUS: Readonly<ExportStatus> = Object.freeze({
  consecutiveFailures: 0,
  lastSuccessAt: null,
  lastAttemptAt: null,
  lastError: null,
  pausedAt: null,
  warning: null,
  totals: Object.freeze({ pushesSucceeded: 0, pushesFailed: 0, retries: 0, dataPointsSent: 0, bytesSent: 0, lastPushDurationMs: null }),
  nextPushAt: null,
});

export interface PushSummary {
  ok: boolean;
  /** Set when !ok. */
  error: ClassifiedError | null;
  /** A partial success's message. */
  warning: string | null;
  requests: number;
  attempts: number;
  dataPoints: number;
  bytes: number;
  durationMs: number;
  /** After a 413 split: the largest (uncompressed) body the destination then accepted. */
  bodyLimitBytes?: number;
}

/** Status after a push: success resets the failure count; the 10th consecutive failure pauses. */
export function recordPush(status: ExportStatus, push: PushSummary, nowMs: number): ExportStatus {
  const totals: PushTotals = {
    pushesSucceeded: status.totals.pushesSucceeded + (push.ok ? 1 : 0),
    pushesFailed: status.totals.pushesFailed + (push.ok ? 0 : 1),
    retries: status.totals.retries + Math.max(0, push.attempts - push.requests),
    dataPointsSent: status.totals.dataPointsSent + push.dataPoints,
    bytesSent: status.totals.bytesSent + push.bytes,
    lastPushDurationMs: push.durationMs,
  };
  if (push.ok) {
    return { ...status, consecutiveFailures: 0, lastSuccessAt: nowMs, lastAttemptAt: nowMs, lastError: null, warning: push.warning, totals };
  }
  const failures = status.consecutiveFailures + 1;
  const error = push.error!;
  return {
    ...status,
    consecutiveFailures: failures,
    lastAttemptAt: nowMs,
    lastError: { at: nowMs, httpStatus: error.httpStatus, classification: error.classification, message: error.message, hint: error.hint },
    pausedAt: status.pausedAt ?? (failures >= PAUSE_AFTER_FAILURES ? nowMs : null),
    totals,
  };
}

export type ExportState = "unconfigured" | "disabled" | "pending" | "connected" | "failing" | "paused";

export function exportState(config: StoredConfig | null, status: ExportStatus): ExportState {
  if (config === null) return "unconfigured";
  if (status.pausedAt !== null) return "paused";
  if (!config.enabled) return "disabled";
  // Connected only when the latest attempt succeeded; after a resume or a save nothing is proven yet.
  if (status.lastSuccessAt !== null && status.lastAttemptAt !== null && status.lastSuccessAt >= status.lastAttemptAt) {
    return "connected";
  }
  return status.consecutiveFailures > 0 ? "failing" : "pending";
}

/** Saving a configuration is the user's fix: failures, pause and the last error start over. */
export function statusAfterSave(status: ExportStatus): ExportStatus {
  return { ...status, consecutiveFailures: 0, pausedAt: null, lastError: null, warning: null, lastAttemptAt: null };
}

/** Resume after a pause: the count starts over; the last error stays visible until a push succeeds. */
export function statusAfterResume(status: ExportStatus): ExportStatus {
  return { ...status, consecutiveFailures: 0, pausedAt: null };
}
