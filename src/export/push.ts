/**
 * Sending one push: its requests in order, each with its retries, against a port through which the
 * caller records what every request carried and how it ended. No storage here.
 *
 * A push obeys the configuration it was built from only while that is still the current one: the
 * port is asked before every request, and the caller's abort signal ends retries and pending
 * backoffs at once. An abandoned push records no outcome (the caller drops it).
 */
import { describeFailure } from "./classify";
import { gzip, type EncodedChunk } from "./encode-push";
import { redactFailure, safeExcerpt } from "./redact";
import type { PushSummary } from "./status";
import { sendWithRetries, type OtlpRequest, type Transport } from "./transport";
import type { Destination } from "../validation/export-config";

/** How one request ended, as far as what the destination applied. */
export type Settlement = "delivered" | "refused" | "unknown";

export interface PushPort {
  /** False once the configuration this push was built from has been replaced. */
  current(): boolean;
  /** Before a request is sent: record (durably, for delta) what it carries. */
  sending(chunk: EncodedChunk): void;
  /** After it ended: delivered, refused (an HTTP error: not applied), or unknown (it may have been applied). */
  settled(chunk: EncodedChunk, how: Settlement): void;
}

export interface PushTarget {
  url: string;
  destination: Destination;
  contentType: OtlpRequest["contentType"];
  gzip: boolean;
  headers: OtlpRequest["headers"];
}

/** Where a push's time went (ms, as the runtime's clock sees it: 1 ms steps locally). */
export interface PushTimings {
  snapshotMs: number;
  encodeMs: number;
  gzipMs: number;
  sendMs: number;
  storageMs: number;
}

export function emptyTimings(): PushTimings {
  return { snapshotMs: 0, encodeMs: 0, gzipMs: 0, sendMs: 0, storageMs: 0 };
}

export function emptySummary(): PushSummary {
  return { ok: true, error: null, warning: null, requests: 0, attempts: 0, dataPoints: 0, bytes: 0, durationMs: 0 };
}

/** At most this many 413 answers are split again in one push (each split halves a part's series). */
export const MAX_SPLITS_PER_PUSH = 64;

/**
 * Sends the chunks until one fails; "abandoned" when the configuration changed meanwhile.
 *
 * A part answered 413 is sent again as two halves (by series, each encoded once from the measured
 * batch) as long as it holds more than one series: nothing it carried was applied, and parts that
 * succeeded are never re-sent. The largest body delivered after a 413 is returned as
 * `bodyLimitBytes`, for the next pushes to plan with. Only a single series too large for the
 * destination fails the push (`payload_too_large`).
 */
export async function sendPush(
  chunks: readonly EncodedChunk[],
  target: PushTarget,
  transport: Transport,
  port: PushPort,
  signal: AbortSignal,
  timings: PushTimings = emptyTimings(),
): Promise<PushSummary | "abandoned"> {
  const started = transport.now();
  const summary = emptySummary();
  const secrets = target.headers.map((h) => h.value);
  const queue = [...chunks];
  let splits = 0;
  let learnt: number | null = null;
  for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
    if (!port.current()) return "abandoned";
    let at = performance.now();
    port.sending(chunk);
    timings.storageMs += performance.now() - at;
    at = performance.now();
    const body = target.gzip ? await gzip(chunk.body) : chunk.body;
    timings.gzipMs += performance.now() - at;
    const request: OtlpRequest = { url: target.url, body, contentType: target.contentType, gzip: target.gzip, headers: target.headers };
    at = performance.now();
    const { outcome, attempts, mayHaveApplied } = await sendWithRetries(request, transport, signal);
    timings.sendMs += performance.now() - at;
    at = performance.now();
    summary.requests += 1;
    summary.attempts += attempts;
    if (!port.current()) {
      // The request may still have reached the old destination; the caller decides what that means.
      port.settled(chunk, outcome.kind === "ok" ? "delivered" : "unknown");
      return "abandoned";
    }
    const halves = outcome.kind === "http" && outcome.status === 413 && splits < MAX_SPLITS_PER_PUSH ? (chunk.split?.() ?? null) : null;
    if (halves !== null) {
      port.settled(chunk, "refused");
      timings.storageMs += performance.now() - at;
      splits += 1;
      learnt ??= 0;
      queue.unshift(...halves);
      continue;
    }
    if (outcome.kind !== "ok") {
      port.settled(chunk, mayHaveApplied ? "unknown" : "refused");
      timings.storageMs += performance.now() - at;
      summary.ok = false;
      summary.error = describeFailure(redactFailure(outcome, secrets), target.destination);
      break;
    }
    port.settled(chunk, "delivered");
    timings.storageMs += performance.now() - at;
    summary.dataPoints += chunk.dataPoints;
    summary.bytes += body.byteLength;
    if (learnt !== null) learnt = Math.max(learnt, chunk.body.byteLength);
    if (outcome.partialSuccess) {
      const ps = outcome.partialSuccess;
      const said = ps.errorMessage ? `: ${safeExcerpt(ps.errorMessage, secrets)}` : ".";
      summary.warning = `The destination accepted the push but rejected ${ps.rejectedDataPoints} data point(s)${said}`;
    }
  }
  summary.durationMs = transport.now() - started;
  if (learnt !== null && learnt > 0) summary.bodyLimitBytes = learnt;
  return summary;
}
