/** The test receiver's scripting and recording shapes, shared by receiver.ts (Node) and client.ts (workerd). */

/** One scripted answer; every field is optional. */
export interface ScriptedResponse {
  /** Default 200. */
  status?: number;
  /** Sent as is (text); replaces the default OTLP response body. */
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Never answer; the client has to give up (close() ends the socket). */
  hang?: true;
  /** Write the status line and headers, part of a body, then destroy the socket. */
  reset?: true;
  /** Write the status line and headers at once, then one body byte every this many ms (for up to a minute). */
  trickleMs?: number;
  /** Answer with the request's headers as JSON, to prove what a client sent (and never leaks). */
  echoHeaders?: true;
  /** An ExportMetricsServiceResponse with partial_success, in the request's content type. */
  partialSuccess?: { rejectedDataPoints: number; errorMessage: string };
}

export interface RecordedRequest {
  path: string;
  method: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  contentType: string | null;
  contentEncoding: string | null;
  /** Bytes on the wire. */
  bodyBytes: number;
  /** Bytes after gunzip (equal to bodyBytes when not compressed). */
  uncompressedBytes: number;
  /** ExportMetricsServiceRequest as a plain object: protobufjs `toObject` (64-bit numbers as Number) or JSON.parse. */
  body?: unknown;
  decodeError?: string;
  /** The body (after gunzip) as UTF-8 text, exactly as received; only for paths other than `…/v1/metrics` (webhooks). */
  bodyText?: string;
  receivedAtMs: number;
}
