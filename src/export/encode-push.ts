/**
 * From an ExportBatch to request bodies: encoding by protocol, splitting so that no uncompressed
 * body exceeds the destination's limit, and gzip.
 */
import type { Destination, Protocol } from "../validation/export-config";
import type { ExportBatch, ExportSeries } from "./model";
import { seriesKey } from "../aggregation/series";
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

/** How many distinct series points belong to (a delta push may carry several points per series). */
export function distinctSeries(series: readonly ExportSeries[]): number {
  return new Set(series.map((s) => seriesKey(s.appName, s.region))).size;
}

export interface EncodedChunk {
  series: ExportSeries[];
  /** The distinct series (seriesKey) whose points this chunk carries. */
  keys: string[];
  body: Uint8Array;
  dataPoints: number;
}

/**
 * Bodies of at most `limitBytes` each. All points of one series (a delta push may carry several)
 * stay in one body, so that each series' outcome is that of one request; a single series larger
 * than the limit is sent alone.
 */
export function encodeInChunks(batch: ExportBatch, protocol: Protocol, limitBytes: number): EncodedChunk[] {
  const groups: ExportSeries[][] = [];
  for (const s of batch.series) {
    const last = groups.at(-1);
    if (last && last[0]!.appName === s.appName && last[0]!.region === s.region) last.push(s);
    else groups.push([s]);
  }
  const chunks: EncodedChunk[] = [];
  const encode = (part: ExportSeries[][]): void => {
    const series = part.flat();
    const body = encodeBody({ ...batch, series }, protocol);
    if (body.byteLength <= limitBytes || part.length <= 1) {
      chunks.push({ series, keys: part.map((g) => seriesKey(g[0]!.appName, g[0]!.region)), body, dataPoints: dataPointCount(series) });
      return;
    }
    // Aim straight at the number of parts the size suggests, then halve whatever is still over.
    const parts = Math.max(2, Math.ceil((body.byteLength / limitBytes) * 1.05));
    const size = Math.ceil(part.length / parts);
    for (let i = 0; i < part.length; i += size) {
      const piece = part.slice(i, i + size);
      if (piece.length === part.length) {
        const half = Math.ceil(piece.length / 2);
        encode(piece.slice(0, half));
        encode(piece.slice(half));
      } else encode(piece);
    }
  };
  encode(groups);
  return chunks;
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
