/**
 * When and how long to retry a request (OTLP/HTTP: only 429, 502, 503, 504 and network errors or
 * timeouts are retryable — opentelemetry-proto docs/specification.md "Retryable Response Codes").
 */
import type { SendFailure } from "./send-outcome";

export const MAX_RETRIES = 3;
/** The longest `Retry-After` honoured (EXPORT_RETRY_AFTER_MAX_MS lowers it, for tests only). */
export const MAX_RETRY_AFTER_MS = 30_000;
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export function isRetryable(failure: SendFailure): boolean {
  switch (failure.kind) {
    case "timeout":
    case "network":
      return true;
    case "http":
      return RETRYABLE_STATUSES.has(failure.status);
    case "credentials_unreadable":
    case "endpoint_not_allowed":
      return false;
  }
}

/** Exponential backoff: base × 1, 2, 4 … with ±20% jitter so a fleet does not retry in step. */
export function backoffMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  return Math.round(baseMs * 2 ** (retry - 1) * (0.8 + 0.4 * random()));
}

/** An HTTP-date has a month or weekday name; this keeps `Date.parse` from reading "1.5" as a date. */
const LOOKS_LIKE_DATE = /[A-Za-z]{3}/;

/**
 * `Retry-After` as delay in ms (delay-seconds or an HTTP-date; a past date: 0), capped at `maxMs`;
 * null when absent or unreadable. Shared by pushes and notification deliveries.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number, maxMs = MAX_RETRY_AFTER_MS): number | null {
  if (value == null) return null;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    if (!LOOKS_LIKE_DATE.test(text)) return null;
    const at = Date.parse(text);
    if (!Number.isFinite(at)) return null;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, maxMs);
}

/** Delay before retry number `retry` (1-based) after `failure`. */
export function retryDelayMs(
  failure: SendFailure,
  retry: number,
  baseMs: number,
  nowMs: number,
  retryAfterMaxMs = MAX_RETRY_AFTER_MS,
  random?: () => number,
): number {
  if (failure.kind === "http") {
    const retryAfter = parseRetryAfter(failure.retryAfter, nowMs, retryAfterMaxMs);
    if (retryAfter !== null) return retryAfter;
  }
  return backoffMs(retry, baseMs, random);
}
