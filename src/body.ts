/**
 * Reading request bodies safely: size caps enforced while streaming (a large or endless body is
 * never buffered whole), gzip inflated with the cap applied to the inflated bytes (a gzip bomb
 * stops at the limit), JSON only with a JSON content type.
 */
import { gunzipSync } from "node:zlib";
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

export interface ReadBodyOptions {
  /** Maximum bytes after decompression. */
  maxBytes: number;
  /** Accept `Content-Encoding: gzip`. */
  allowGzip?: boolean;
  /** When false, an absent/empty body yields `undefined` instead of an error. */
  required?: boolean;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "payload_too_large", `The request body exceeds ${maxBytes} bytes.`);
}

async function readCapped(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Gunzips `bytes`, stopping as soon as the output would exceed `maxBytes` (413). node:zlib's
 * `maxOutputLength` (workerd implements it natively) checks as it inflates, so a bomb costs at most
 * one internal chunk beyond the cap. The Web DecompressionStream cannot do this in workerd: it
 * inflates every chunk written to it at once, without backpressure, so a 1 MiB upload became 1 GiB
 * in memory before the cap could apply (test/e2e/hardening.test.ts measures both).
 */
function inflate(bytes: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if (err instanceof RangeError) throw tooLarge(maxBytes);
    throw new ApiError(400, "invalid_request", "The body is not valid gzip data.");
  }
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const mediaType = value.split(";", 1)[0]!.trim().toLowerCase();
  return mediaType === "application/json";
}

/**
 * Parses a JSON body. Returns `undefined` for an empty body when `required` is false.
 * Errors: 415 wrong content type, 413 too large, 400 invalid gzip / JSON.
 */
export async function readJsonBody(c: Context<AppEnv>, options: ReadBodyOptions): Promise<unknown> {
  const { maxBytes, allowGzip = false, required = true } = options;
  const declaredLength = Number(c.req.header("content-length") ?? "NaN");
  const contentType = c.req.header("content-type");
  const encoding = (c.req.header("content-encoding") ?? "identity").trim().toLowerCase();
  const body = c.req.raw.body;

  const empty = (): undefined => {
    if (!required) return undefined;
    throw new ApiError(400, "invalid_json", "The request body is empty; a JSON object is expected.");
  };
  if (body === null || declaredLength === 0) return empty();
  if (Number.isFinite(declaredLength) && declaredLength > maxBytes) throw tooLarge(maxBytes);
  let bytes = await readCapped(body, maxBytes);
  if (bytes.byteLength === 0) return empty();
  if (!isJsonContentType(contentType)) {
    throw new ApiError(415, "unsupported_media_type", 'The request body must be JSON with "Content-Type: application/json".');
  }
  if (encoding === "gzip" && allowGzip) {
    bytes = inflate(bytes, maxBytes);
    if (bytes.byteLength === 0) return empty();
  } else if (encoding !== "identity") {
    throw new ApiError(
      415,
      "unsupported_media_type",
      allowGzip ? 'Content-Encoding must be "gzip" or absent.' : "Compressed bodies are not accepted on this route.",
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid UTF-8.");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
  }
}

/** An optional JSON body: absent means `{}` (all defaults); a JSON `null` stays null for the schema to refuse. */
export async function readOptionalJsonBody(c: Context<AppEnv>, maxBytes: number): Promise<unknown> {
  const body = await readJsonBody(c, { maxBytes, required: false });
  return body === undefined ? {} : body;
}

/** An HTML form's body (`application/x-www-form-urlencoded`), at most `maxBytes`. */
export async function readFormBody(c: Context<AppEnv>, maxBytes: number): Promise<URLSearchParams> {
  const mediaType = (c.req.header("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (mediaType !== "application/x-www-form-urlencoded") {
    throw new ApiError(415, "unsupported_media_type", "The form must be sent as application/x-www-form-urlencoded.");
  }
  const declaredLength = Number(c.req.header("content-length") ?? "NaN");
  if (Number.isFinite(declaredLength) && declaredLength > maxBytes) throw tooLarge(maxBytes);
  const body = c.req.raw.body;
  const bytes = body === null ? new Uint8Array() : await readCapped(body, maxBytes);
  return new URLSearchParams(new TextDecoder().decode(bytes));
}
