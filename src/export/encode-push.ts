/**
 * From an ExportBatch to request bodies: encoding by protocol, splitting so that no uncompressed
 * body exceeds the destination's limit, and gzip.
 */
import type { Destination, Protocol } from "../validation/export-config";
import type { ExportBatch, ExportSeries } from "./model";
import { encodeExportBatch } from "./protobuf-encoder";
import { serializeJson } from "./resource-metrics";

/** Datadog answers 413 above 500 KB uncompressed (../shared/DESTINATIONS.md); 4 MiB elsewhere. */
export const DATADOG_MAX_BODY_BYTES = 512_000;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export function maxBodyBytes(destination: Destination): number {
  return destination === "datadog" ? DATADOG_MAX_BODY_BYTES : DEFAULT_MAX_BODY_BYTES;
}

export function encodeBody(batch: ExportBatch, protocol: Protocol): Uint8Array {
  return protocol === "http/json" ? serializeJson(batch) : encodeExportBatch(batch);
}

export function dataPointCount(series: readonly ExportSeries[]): number {
  let n = 0;
  for (const s of series) n += s.gauges ? 13 : 7;
  return n;
}

export interface EncodedChunk {
  series: ExportSeries[];
  body: Uint8Array;
  dataPoints: number;
}

/** Bodies of at most `limitBytes` each (a single series larger than that is sent alone). */
export function encodeInChunks(batch: ExportBatch, protocol: Protocol, limitBytes: number): EncodedChunk[] {
  const chunks: EncodedChunk[] = [];
  const encode = (series: ExportSeries[]): void => {
    const body = encodeBody({ ...batch, series }, protocol);
    if (body.byteLength <= limitBytes || series.length <= 1) {
      chunks.push({ series, body, dataPoints: dataPointCount(series) });
      return;
    }
    // Aim straight at the number of parts the size suggests, then halve whatever is still over.
    const parts = Math.max(2, Math.ceil((body.byteLength / limitBytes) * 1.05));
    const size = Math.ceil(series.length / parts);
    for (let i = 0; i < series.length; i += size) {
      const part = series.slice(i, i + size);
      if (part.length === series.length) {
        const half = Math.ceil(part.length / 2);
        encode(part.slice(0, half));
        encode(part.slice(half));
      } else encode(part);
    }
  };
  encode(batch.series);
  return chunks;
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
