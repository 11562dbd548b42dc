/**
 * Sending one OTLP request, and a request with its retries. Network I/O only; the decisions come
 * from retry-policy.ts. `fetch`, `sleep` and the clock are parameters so tests control time.
 *
 * A response is classified by its status line as soon as it arrives: the body is then read under a
 * short deadline of its own and only as far as needed (an excerpt for errors), so a destination that
 * answers 400 and trickles its body is a prompt, non-retried 400, not a timeout.
 */
import type { Settings } from "../settings";
import { parsePartialSuccess } from "./partial-success";
import { isRetryable, MAX_RETRIES, retryDelayMs } from "./retry-policy";
import type { SendFailure, SendOutcome } from "./send-outcome";

/** A 2xx body is read whole (an ExportMetricsServiceResponse with partial_success) up to this. */
const MAX_SUCCESS_BODY_BYTES = 64 * 1024;
/** Of an error body only an excerpt is shown (512 characters); this leaves room for redaction. */
const MAX_ERROR_BODY_BYTES = 8 * 1024;
/** How long the body may take once the status line is in. */
export const BODY_TIMEOUT_MS = 2_000;

export interface OtlpRequest {
  url: string;
  body: Uint8Array;
  contentType: "application/x-protobuf" | "application/json";
  gzip: boolean;
  headers: ReadonlyArray<{ name: string; value: string }>;
}

export interface Transport {
  fetch: typeof fetch;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
  /** Until the status line arrives. */
  timeoutMs: number;
  /** For the body, after the status line. */
  bodyTimeoutMs: number;
  retryBaseMs: number;
  retryAfterMaxMs: number;
}

/** The transport of the running worker, from its settings. */
export function realTransport(settings: Settings): Transport {
  return {
    fetch: (input, init) => fetch(input, init),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        }
        signal?.addEventListener("abort", done);
      }),
    now: () => Date.now(),
    timeoutMs: settings.requestTimeoutMs,
    bodyTimeoutMs: Math.min(BODY_TIMEOUT_MS, settings.requestTimeoutMs),
    retryBaseMs: settings.retryBaseMs,
    retryAfterMaxMs: settings.retryAfterMaxMs,
  };
}

/** At most `limit` bytes of the body, within `deadlineMs`; `cut` when the body was not read to its end. */
async function readBody(response: Response, limit: number, deadlineMs: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(), cut: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"deadline">((resolve) => (timer = setTimeout(() => resolve("deadline"), deadlineMs)));
  try {
    while (total < limit) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === "deadline") {
        cut = true;
        break;
      }
      if (next.done) break;
      chunks.push(next.value);
      total += next.value.byteLength;
    }
    if (total >= limit) cut = true;
  } catch {
    cut = true;
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
    if (offset >= out.length) break;
  }
  return { bytes: out, cut };
}

function networkMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Never echo anything that could carry request details; keep the runtime's short reason.
  return text.split("\n")[0]!.slice(0, 200) || "connection failed";
}

/**
 * One try: the timeout covers the wait for the status line; the body then gets its own deadline.
 * `signal` (the push being abandoned) aborts the request.
 */
export async function sendOnce(request: OtlpRequest, transport: Transport, signal?: AbortSignal): Promise<SendOutcome> {
  const headers = new Headers();
  for (const h of request.headers) headers.set(h.name, h.value);
  headers.set("content-type", request.contentType);
  if (request.gzip) headers.set("content-encoding", "gzip");
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal?.addEventListener("abort", abort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, transport.timeoutMs);
  let response: Response;
  try {
    response = await transport.fetch(request.url, {
      method: "POST",
      headers,
      body: request.body as Uint8Array<ArrayBuffer>,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (err) {
    if (timedOut) return { kind: "timeout", timeoutMs: transport.timeoutMs };
    return { kind: "network", message: signal?.aborted ? "cancelled: the configuration changed" : networkMessage(err) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
  const ok = response.status >= 200 && response.status < 300;
  const { bytes, cut } = await readBody(response, ok ? MAX_SUCCESS_BODY_BYTES : MAX_ERROR_BODY_BYTES, transport.bodyTimeoutMs);
  const text = new TextDecoder().decode(bytes);
  if (ok) {
    // A 2xx status line means the destination accepted the request; a body cut off only loses
    // its optional ExportMetricsServiceResponse. Retrying would deliver delta points twice.
    return { kind: "ok", status: response.status, partialSuccess: cut ? null : parsePartialSuccess(bytes, response.headers.get("content-type")), bodyExcerpt: text };
  }
  return {
    kind: "http",
    status: response.status,
    bodyExcerpt: cut && text !== "" ? `${text} …(body cut off)` : text,
    retryAfter: response.headers.get("retry-after"),
    location: response.headers.get("location"),
  };
}

export interface SendResult {
  outcome: SendOutcome;
  attempts: number;
  /**
   * Some attempt ended without a status line (timeout, connection lost, abandoned): the destination
   * may have applied that request even though the outcome is a failure.
   */
  mayHaveApplied: boolean;
}

/**
 * One try plus up to MAX_RETRIES retries for retryable failures. `signal` abandons it: no further
 * attempt, and a pending backoff ends at once (the caller then drops the outcome).
 */
export async function sendWithRetries(request: OtlpRequest, transport: Transport, signal?: AbortSignal): Promise<SendResult> {
  let attempts = 0;
  let mayHaveApplied = false;
  for (;;) {
    attempts += 1;
    const outcome = await sendOnce(request, transport, signal);
    if (outcome.kind === "timeout" || outcome.kind === "network") mayHaveApplied = true;
    if (outcome.kind === "ok" || signal?.aborted) return { outcome, attempts, mayHaveApplied };
    const failure: SendFailure = outcome;
    if (attempts > MAX_RETRIES || !isRetryable(failure)) return { outcome, attempts, mayHaveApplied };
    await transport.sleep(retryDelayMs(failure, attempts, transport.retryBaseMs, transport.now(), transport.retryAfterMaxMs), signal);
    if (signal?.aborted) return { outcome, attempts, mayHaveApplied };
  }
}
