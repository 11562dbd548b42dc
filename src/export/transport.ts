/**
 * Sending one OTLP request, and a request with its retries. Network I/O only; the decisions come
 * from retry-policy.ts. `fetch` and `sleep` are parameters so tests control time.
 */
import { parsePartialSuccess } from "./partial-success";
import { isRetryable, MAX_RETRIES, REQUEST_TIMEOUT_MS, retryDelayMs } from "./retry-policy";
import type { SendFailure, SendOutcome } from "./send-outcome";

const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OtlpRequest {
  url: string;
  body: Uint8Array;
  contentType: "application/x-protobuf" | "application/json";
  gzip: boolean;
  headers: ReadonlyArray<{ name: string; value: string }>;
}

export interface Transport {
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  timeoutMs: number;
}

export const realTransport = (): Transport => ({
  fetch: (input, init) => fetch(input, init),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
  timeoutMs: REQUEST_TIMEOUT_MS,
});

async function readCapped(response: Response): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < MAX_RESPONSE_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  const out = new Uint8Array(Math.min(total, MAX_RESPONSE_BYTES));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
    if (offset >= out.length) break;
  }
  return out;
}

function networkMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Never echo anything that could carry request details; keep the runtime's short reason.
  return text.split("\n")[0]!.slice(0, 200) || "connection failed";
}

/** One try, bounded by the timeout (covering the response body too). */
export async function sendOnce(request: OtlpRequest, transport: Transport): Promise<SendOutcome> {
  const headers = new Headers();
  for (const h of request.headers) headers.set(h.name, h.value);
  headers.set("content-type", request.contentType);
  if (request.gzip) headers.set("content-encoding", "gzip");
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, transport.timeoutMs);
  try {
    const response = await transport.fetch(request.url, {
      method: "POST",
      headers,
      body: request.body as Uint8Array<ArrayBuffer>,
      redirect: "manual",
      signal: controller.signal,
    });
    let body: Uint8Array;
    try {
      body = await readCapped(response);
    } catch (err) {
      // A 2xx status line means the destination accepted the request; only its optional
      // ExportMetricsServiceResponse was lost. Retrying would deliver delta points twice.
      if (response.status >= 200 && response.status < 300) return { kind: "ok", status: response.status, partialSuccess: null, bodyExcerpt: "" };
      throw err;
    }
    const text = new TextDecoder().decode(body);
    if (response.status >= 200 && response.status < 300) {
      return {
        kind: "ok",
        status: response.status,
        partialSuccess: parsePartialSuccess(body, response.headers.get("content-type")),
        bodyExcerpt: text,
      };
    }
    return {
      kind: "http",
      status: response.status,
      bodyExcerpt: text,
      retryAfter: response.headers.get("retry-after"),
      location: response.headers.get("location"),
    };
  } catch (err) {
    if (timedOut) return { kind: "timeout", timeoutMs: transport.timeoutMs };
    return { kind: "network", message: networkMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

export interface SendResult {
  outcome: SendOutcome;
  attempts: number;
}

/** One try plus up to MAX_RETRIES retries for retryable failures. */
export async function sendWithRetries(request: OtlpRequest, transport: Transport, retryBaseMs: number): Promise<SendResult> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const outcome = await sendOnce(request, transport);
    if (outcome.kind === "ok") return { outcome, attempts };
    const failure: SendFailure = outcome;
    if (attempts > MAX_RETRIES || !isRetryable(failure)) return { outcome, attempts };
    await transport.sleep(retryDelayMs(failure, attempts, retryBaseMs, transport.now()));
  }
}
