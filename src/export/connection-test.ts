/**
 * Test Connection: one valid OTLP metrics request with no data points, sent once with the real
 * headers and encoding, and what came back in the words the guide's troubleshooting uses. Destination
 * text is shown only after redaction.
 */
import type { Compression, Destination, Protocol } from "../validation/export-config";
import { describeFailure, type Classification } from "./classify";
import { encodeBody, gzip } from "./encode-push";
import { redactFailure, safeExcerpt } from "./redact";
import type { SendFailure } from "./send-outcome";
import { sendOnce, type Transport } from "./transport";

export interface ConnectionTestResult {
  ok: boolean;
  url: string;
  http_status: number | null;
  latency_ms: number;
  classification: Classification | null;
  message: string;
  hint: string | null;
  response_excerpt: string;
}

export interface ConnectionTest {
  url: string;
  destination: Destination;
  protocol: Protocol;
  compression: Compression;
  headers: readonly { name: string; value: string }[];
  bounds: readonly number[];
}

/** The answer when nothing could be sent (refused endpoint, unreadable credentials). */
export function notSent(url: string, failure: SendFailure, destination: Destination): ConnectionTestResult {
  const d = describeFailure(failure, destination);
  return { ok: false, url, http_status: null, latency_ms: 0, classification: d.classification, message: d.message, hint: d.hint, response_excerpt: "" };
}

export async function testConnection(test: ConnectionTest, transport: Transport): Promise<ConnectionTestResult> {
  const raw = encodeBody({ timeMs: transport.now(), temporality: "cumulative", bounds: test.bounds.slice(), series: [] }, test.protocol);
  const gzipped = test.compression === "gzip";
  const secrets = test.headers.map((h) => h.value);
  const started = transport.now();
  const outcome = await sendOnce(
    {
      url: test.url,
      body: gzipped ? await gzip(raw) : raw,
      contentType: test.protocol === "http/json" ? "application/json" : "application/x-protobuf",
      gzip: gzipped,
      headers: test.headers,
    },
    transport,
  );
  const latency = transport.now() - started;
  if (outcome.kind === "ok") {
    return {
      ok: true,
      url: test.url,
      http_status: outcome.status,
      latency_ms: latency,
      classification: null,
      message: `Connected: the endpoint accepted an OTLP metrics request (HTTP ${outcome.status}).`,
      hint: null,
      response_excerpt: safeExcerpt(outcome.bodyExcerpt, secrets),
    };
  }
  const safe = redactFailure(outcome, secrets);
  const d = describeFailure(safe, test.destination);
  return {
    ok: false,
    url: test.url,
    http_status: d.httpStatus,
    latency_ms: latency,
    classification: d.classification,
    message: d.message,
    hint: d.hint,
    response_excerpt: safe.kind === "http" ? safe.bodyExcerpt : "",
  };
}
