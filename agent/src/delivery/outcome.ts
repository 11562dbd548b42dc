/**
 * What the edge's answer to `POST /v1/samples` means for a spooled batch (README "Sample format").
 *
 * - 2xx: delivered (also with `duplicate: true`: an earlier send was applied). Samples the edge refused
 *   one by one (`rejected`) are counted and logged; sending them again would not change the answer.
 * - 400, 413, 415 and other 4xx about the request itself: the batch can never be accepted; it is
 *   dropped and the edge's reason logged.
 * - 401, 403, 404: the key, the host_id or the edge URL is wrong — configuration, not the batch. The
 *   batch is kept and retried, so fixing the configuration loses nothing (the spool's size and age
 *   limits still apply). 408, 425, 429, 5xx, network errors and timeouts: retried.
 */
import { parseRetryAfter } from "../../../src/export/retry-policy";
import type { SampleRejection } from "../edge-rules";

export type PostOutcome =
  | { kind: "delivered"; status: number; accepted: number; duplicate: boolean; rejected: SampleRejection[] }
  | { kind: "retry"; status: number | null; message: string; retryAfterMs: number | null }
  | { kind: "drop"; status: number; code: string; message: string };

const RETRIED_CLIENT_ERRORS: ReadonlySet<number> = new Set([401, 403, 404, 408, 425, 429]);
const MESSAGE_CHARS = 500;

function json(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The edge's `{"error": {"code", "message"}}`, or the start of whatever else it said. */
function errorOf(body: string): { code: string; message: string } {
  const error = json(body)?.error as { code?: unknown; message?: unknown } | undefined;
  if (typeof error?.code === "string") return { code: error.code, message: String(error.message ?? "").slice(0, MESSAGE_CHARS) };
  return { code: "unknown", message: body.slice(0, MESSAGE_CHARS) };
}

function rejections(value: unknown): SampleRejection[] {
  if (!Array.isArray(value)) return [];
  return value.filter((r): r is SampleRejection => typeof r === "object" && r !== null && typeof (r as SampleRejection).code === "string");
}

export function classifyResponse(status: number, retryAfter: string | null, body: string, nowMs: number): PostOutcome {
  if (status >= 200 && status < 300) {
    // 2xx means durable at the edge even if the body was cut off on the way.
    const b = json(body) ?? {};
    return {
      kind: "delivered",
      status,
      accepted: typeof b.accepted === "number" ? b.accepted : 0,
      duplicate: b.duplicate === true,
      rejected: rejections(b.rejected),
    };
  }
  const { code, message } = errorOf(body);
  if (status >= 400 && status < 500 && !RETRIED_CLIENT_ERRORS.has(status)) return { kind: "drop", status, code, message };
  return { kind: "retry", status, message: `${status} ${code}: ${message}`, retryAfterMs: parseRetryAfter(retryAfter, nowMs) };
}

export function classifyError(error: unknown): PostOutcome {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const message =
    e.name === "TimeoutError" ? "timed out" : e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
  return { kind: "retry", status: null, message, retryAfterMs: null };
}

/**
 * Delay before the next attempt after `failures` consecutive failed rounds: base × 2^(failures−1),
 * capped at `maxMs`, then ±20% jitter (also at the cap) so a fleet of hosts coming back from an outage
 * does not retry in step. A Retry-After from the edge wins when it is longer, up to `maxMs`.
 */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 52));
  const jittered = Math.round(exponential * (0.8 + 0.4 * random()));
  return Math.max(jittered, Math.min(maxMs, retryAfterMs ?? 0));
}
