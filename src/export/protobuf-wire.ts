/**
 * Protocol Buffers wire format, the parts the OTLP encoder (./protobuf-encoder.ts) needs: an exactly
 * sized Writer (varints, fixed64/sfixed64 as the OpenTelemetry JS serializer writes them, doubles,
 * UTF-8), length and size helpers, and small encoded fields built once at start-up. Only Web APIs
 * (Uint8Array, DataView, TextEncoder): it runs in workerd.
 */

export const TWO_POW_32 = 4294967296;
const textEncoder = new TextEncoder();

export function skipLengthDelimited(bytes: Uint8Array, at: number): number {
  let length = 0;
  let shift = 0;
  let b: number;
  do {
    b = bytes[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return at + length;
}

/**
 * Unix ms → fixed64 nanoseconds as [low, high] 32-bit words, the way the SDK gets there
 * (`millisToHrTime`, then seconds × 1e9 + nanoseconds), without leaving exact double arithmetic:
 * ms × 1e6 exceeds 2^53 for today's dates.
 */
export function hrTimeFromMs(ms: number, into: Uint32Array, at: number): void {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms % 1000) * 1e6);
  const secondsLow = seconds % 65536;
  const high = ((seconds - secondsLow) / 65536) * 1e9; // × 2^16 still to apply
  const low = secondsLow * 1e9 + nanos;
  const lowSum = (high % 65536) * 65536 + (low % TWO_POW_32);
  into[at] = lowSum >>> 0;
  into[at + 1] = Math.floor(high / 65536) + Math.floor(low / TWO_POW_32) + Math.floor(lowSum / TWO_POW_32);
}

export function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** UTF-8 length as TextEncoder produces it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2;
      i++;
    } else length += 2;
  }
  return length;
}

export class Writer {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  pos = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.#view = new DataView(this.bytes.buffer);
  }

  byte(value: number): void {
    this.bytes[this.pos++] = value;
  }

  varint(value: number): void {
    while (value > 0x7f) {
      this.bytes[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[this.pos++] = value;
  }

  fixed64(low: number, high: number): void {
    this.#view.setUint32(this.pos, low, true);
    this.#view.setUint32(this.pos + 4, high, true);
    this.pos += 8;
  }

  /** As the SDK's `writeSfixed64`: two's complement for negatives, integer part of fractions. */
  sfixed64(value: number): void {
    if (value >= 0) {
      this.fixed64(value >>> 0, (value / TWO_POW_32) >>> 0);
      return;
    }
    const magnitude = Math.abs(value);
    const low = (~(magnitude >>> 0) + 1) >>> 0;
    let high = ~((magnitude / TWO_POW_32) >>> 0) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
    this.fixed64(low, high);
  }

  double(value: number): void {
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  copy(source: Uint8Array): void {
    this.bytes.set(source, this.pos);
    this.pos += source.length;
  }

  copyFrom(source: Uint8Array, start: number, length: number): void {
    this.bytes.set(source.subarray(start, start + length), this.pos);
    this.pos += length;
  }

  utf8(text: string, byteLength: number): void {
    if (byteLength === text.length) {
      const bytes = this.bytes;
      let pos = this.pos;
      for (let i = 0; i < text.length; i++) bytes[pos++] = text.charCodeAt(i);
      this.pos = pos;
    } else {
      textEncoder.encodeInto(text, this.bytes.subarray(this.pos, this.pos + byteLength));
      this.pos += byteLength;
    }
  }
}

export function stringField(tag: number, text: string): Uint8Array {
  return lengthDelimitedField(tag, textEncoder.encode(text));
}

export function lengthDelimitedField(tag: number, content: Uint8Array): Uint8Array {
  const w = new Writer(1 + varintLength(content.length) + content.length);
  w.byte(tag);
  w.varint(content.length);
  w.copy(content);
  return w.bytes;
}

export function packedDoubles(tag: number, values: readonly number[]): Uint8Array {
  const w = new Writer(1 + varintLength(values.length * 8) + values.length * 8);
  w.byte(tag);
  w.varint(values.length * 8);
  for (const value of values) w.double(value);
  return w.bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const w = new Writer(parts.reduce((sum, part) => sum + part.length, 0));
  for (const part of parts) w.copy(part);
  return w.bytes;
}
