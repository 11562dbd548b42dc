/**
 * When a notification delivery counts as delivered, is retried, or is given up, and when its next
 * attempt is due: exponential backoff with jitter, Retry-After honoured, nothing after an hour.
 */
import { parseRetryAfter } from "../export/retry-policy";

/** A delivery is retried for this long after the event was created, then given up. */
export const DELIVERY_WINDOW_MS = 60 * 60_000;
/** The longest wait between two attempts (backoff and Retry-After alike). */
export const MAX_DELAY_MS = 10 * 60_000;

/** What one attempt came back with. */
export type DeliveryResult = { kind: "status"; status: number } | { kind: "network" } | { kind: "timeout" };

/** What to do after an attempt. */
export type DeliveryVerdict = "delivered" | "retry" | "give_up";

const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

/**
 * 2xx: delivered. 408, 425, 429, 5xx, network errors and timeouts: retry. Anything else (1xx, 3xx —
 * redirects are never followed — and other 4xx): give up.
 */
export function classifyDelivery(r: DeliveryResult): DeliveryVerdict {
  if (r.kind !== "status") return "retry";
  const s = r.status;
  if (s >= 200 && s < 300) return "delivered";
  if (RETRY_STATUSES.has(s) || (s >= 500 && s < 600)) return "retry";
  return "give_up";
}

/** Whether an attempt at `atMs` is still inside the delivery window of an event created at `createdAtMs`. */
const inWindow = (createdAtMs: number, atMs: number): boolean => atMs <= createdAtMs + DELIVERY_WINDOW_MS;

/**
 * When to make the next attempt after `attempts` (≥ 1) failed ones: `nowMs` + base × 2^(attempts-1)
 * with ±20% jitter, each delay capped at `MAX_DELAY_MS`; null when that falls beyond the delivery
 * window (give up).
 */
export function nextAttemptAt(
  createdAtMs: number,
  attempts: number,
  baseMs: number,
  nowMs: number,
  random: () => number = Math.random,
): number | null {
  const exponent = Math.max(0, Math.floor(attempts) - 1);
  const delay = Math.min(MAX_DELAY_MS, Math.round(baseMs * 2 ** exponent * (0.8 + 0.4 * random())));
  const at = nowMs + delay;
  return inWindow(createdAtMs, at) ? at : null;
}

/**
 * A `Retry-After` value as a delay in ms from `nowMs`: delay-seconds or an HTTP-date (a past date:
 * 0), capped at `MAX_DELAY_MS`; null when absent or unreadable (the export retry policy's parser).
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | null {
  return parseRetryAfter(value, nowMs, MAX_DELAY_MS);
}

/**
 * The next attempt after a retryable answer: its `Retry-After` when readable (never sooner than
 * `baseMs`, so `Retry-After: 0` cannot make a tight loop), else `nextAttemptAt`'s backoff; null when
 * that falls beyond the delivery window.
 */
export function retryAt(
  createdAtMs: number,
  attempts: number,
  baseMs: number,
  nowMs: number,
  retryAfter: string | null | undefined,
  random: () => number = Math.random,
): number | null {
  const wait = retryAfterMs(retryAfter, nowMs);
  if (wait === null) return nextAttemptAt(createdAtMs, attempts, baseMs, nowMs, random);
  const at = nowMs + Math.max(wait, Math.min(baseMs, MAX_DELAY_MS));
  return inWindow(createdAtMs, at) ? at : null;
}
