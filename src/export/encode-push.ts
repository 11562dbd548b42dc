/**
 * From an ExportBatch to request bodies: encoding by protocol, splitting so that no uncompressed
 * body exceeds the destination's limit, and gzip.
 */
import { gzipSync } from "node:zlib";
import type { Destination, Protocol } from "../validation/export-config";
import type { ExportBatch, ExportSeries } from "./model";
import { seriesKey } from "../aggregation/series";
import { encodeExportBatch, ProtobufBatch } from "./protobuf-encoder";
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

/** Where each series' points begin in `batch.series`: a series' points stay in one request. */
function groupStarts(series: readonly ExportSeries[]): number[] {
  const starts: number[] = [];
  series.forEach((s, i) => {
    const prev = series[i - 1];
    if (!prev || prev.appName !== s.appName || prev.region !== s.region) starts.push(i);
  });
  starts.push(series.length);
  return starts;
}

function chunk(batch: ExportBatch, from: number, to: number, body: Uint8Array): EncodedChunk {
  const series = batch.series.slice(from, to);
  const keys = [...new Set(series.map((s) => seriesKey(s.appName, s.region)))];
  return { series, keys, body, dataPoints: dataPointCount(series) };
}

/**
 * Bodies of at most `limitBytes` each, cut between series. All points of one series (a delta push
 * may carry several) stay in one body, so each series' outcome is that of one request; a single
 * series larger than the limit is sent alone.
 *
 * Protobuf: every range's size is known from one measuring pass (ProtobufBatch), so each series is
 * encoded once however many parts there are. OTLP/JSON goes through the SDK serializer, which can
 * only be asked for whole bodies: it is encoded whole, then each part again (JSON is the rare,
 * "low-traffic testing" protocol).
 */
export function encodeInChunks(batch: ExportBatch, protocol: Protocol, limitBytes: number): EncodedChunk[] {
  const starts = groupStarts(batch.series);
  if (protocol === "http/protobuf") {
    const encoded = new ProtobufBatch(batch);
    const chunks: EncodedChunk[] = [];
    for (let g = 0; g < starts.length - 1; ) {
      const from = starts[g]!;
      let end = g + 1;
      while (end < starts.length - 1 && encoded.size(from, starts[end + 1]!) <= limitBytes) end += 1;
      chunks.push(chunk(batch, from, starts[end]!, encoded.write(from, starts[end]!)));
      g = end;
    }
    if (chunks.length === 0) chunks.push(chunk(batch, 0, 0, encoded.write(0, 0)));
    return chunks;
  }
  const chunks: EncodedChunk[] = [];
  const encodeGroups = (g0: number, g1: number): void => {
    const from = starts[g0]!;
    const to = starts[g1]!;
    const body = serializeJson({ ...batch, series: batch.series.slice(from, to) });
    if (body.byteLength <= limitBytes || g1 - g0 <= 1) {
      chunks.push(chunk(batch, from, to, body));
      return;
    }
    const half = g0 + Math.ceil((g1 - g0) / 2);
    encodeGroups(g0, half);
    encodeGroups(half, g1);
  };
  encodeGroups(0, Math.max(starts.length - 1, 0));
  if (chunks.length === 0) chunks.push(chunk(batch, 0, 0, serializeJson({ ...batch, series: [] })));
  return chunks;
}

/**
 * Level 1: on a 5.8 MB push body (2,000 series) zlib takes 13 ms at level 1 against 49 ms at the
 * default level 6 (and 74 ms for CompressionStream, which cannot choose), for 267 KB instead of
 * 223 KB. CPU is what a push is billed for; the bytes are not.
 */
export const GZIP_LEVEL = 1;

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return gzipSync(bytes, { level: GZIP_LEVEL });
}
