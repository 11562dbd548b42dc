/**
 * A small little-endian byte writer and reader for the object's stored state (series, host reports,
 * logged batches, delta snapshots). Hand-written because the layouts are fixed arrays of numbers and
 * a few short strings: a schema library would cost more to run than the encoding it does.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  length = 0;

  constructor(initialBytes = 256) {
    this.#buffer = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buffer.buffer);
  }

  #reserve(bytes: number): void {
    if (this.length + bytes <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buffer.subarray(0, this.length));
    this.#buffer = next;
    this.#view = new DataView(next.buffer);
  }

  u8(value: number): void {
    this.#reserve(1);
    this.#view.setUint8(this.length, value);
    this.length += 1;
  }

  u16(value: number): void {
    this.#reserve(2);
    this.#view.setUint16(this.length, value, true);
    this.length += 2;
  }

  u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.length, value, true);
    this.length += 4;
  }

  f64(value: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  f64s(values: ArrayLike<number>): void {
    this.#reserve(values.length * 8);
    for (let i = 0; i < values.length; i++) this.#view.setFloat64(this.length + i * 8, values[i]!, true);
    this.length += values.length * 8;
  }

  /** A string of at most 65,535 UTF-8 bytes, length first. */
  text(value: string): void {
    const bytes = encoder.encode(value);
    this.u16(bytes.length);
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }
}

export class ByteReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  at = 0;

  constructor(bytes: Uint8Array | ArrayBuffer) {
    this.#bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  get done(): boolean {
    return this.at >= this.#bytes.length;
  }

  u8(): number {
    return this.#view.getUint8(this.at++);
  }

  u16(): number {
    const v = this.#view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }

  u32(): number {
    const v = this.#view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  f64(): number {
    const v = this.#view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }

  f64s(count: number): number[] {
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = this.#view.getFloat64(this.at + i * 8, true);
    this.at += count * 8;
    return out;
  }

  text(): string {
    const length = this.u16();
    const value = decoder.decode(this.#bytes.subarray(this.at, this.at + length));
    this.at += length;
    return value;
  }
}
