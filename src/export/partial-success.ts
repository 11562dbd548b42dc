/**
 * Reads `partial_success` from an ExportMetricsServiceResponse (opentelemetry-proto
 * collector/metrics/v1/metrics_service.proto): field 1 ExportMetricsPartialSuccess
 * { int64 rejected_data_points = 1; string error_message = 2; }. Hand-written because it is the
 * only thing we ever decode, and bodies that are not valid protobuf must simply yield null.
 */
import type { PartialSuccess } from "./send-outcome";

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length || shift > 63) throw new Error("truncated varint");
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.varint();
    else if (wireType === 5) this.pos += 4;
    else throw new Error("unsupported wire type");
    if (this.pos > this.buf.length) throw new Error("truncated field");
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error("truncated bytes");
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

function fromProtobuf(body: Uint8Array): PartialSuccess | null {
  const r = new Reader(body);
  let found: PartialSuccess | null = null;
  while (r.pos < body.length) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const inner = new Reader(r.bytes());
      found = { rejectedDataPoints: 0, errorMessage: "" };
      while (inner.pos < inner.buf.length) {
        const t = inner.varint();
        if (t >>> 3 === 1 && (t & 7) === 0) found.rejectedDataPoints = inner.varint();
        else if (t >>> 3 === 2 && (t & 7) === 2) found.errorMessage = new TextDecoder().decode(inner.bytes());
        else inner.skip(t & 7);
      }
    } else r.skip(tag & 7);
  }
  return found;
}

function fromJson(body: Uint8Array): PartialSuccess | null {
  const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
  if (typeof parsed !== "object" || parsed === null) return null;
  const ps = (parsed as Record<string, unknown>).partialSuccess ?? (parsed as Record<string, unknown>).partial_success;
  if (typeof ps !== "object" || ps === null) return null;
  const p = ps as Record<string, unknown>;
  const rejected = Number(p.rejectedDataPoints ?? p.rejected_data_points ?? 0);
  const message = p.errorMessage ?? p.error_message ?? "";
  return { rejectedDataPoints: Number.isFinite(rejected) ? rejected : 0, errorMessage: typeof message === "string" ? message : "" };
}

/** The partial success a 2xx response reports, or null (including for unreadable bodies). */
export function parsePartialSuccess(body: Uint8Array, contentType: string | null): PartialSuccess | null {
  if (body.length === 0) return null;
  try {
    const ps = contentType?.includes("json") ? fromJson(body) : fromProtobuf(body);
    return ps && (ps.rejectedDataPoints > 0 || ps.errorMessage !== "") ? ps : null;
  } catch {
    return null;
  }
}
