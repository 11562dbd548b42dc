/**
 * From an ExportBatch to request bodies: encoding by protocol, splitting so that no uncompressed
 * body exceeds the destination's limit, and gzip.
 */
import { gzipSync } from "node:zlib";
import type { Destination, Protocol } from "../validation/export-config";
import { METRICS, type MetricDefinition } from "./metric-definitions";
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

/** Points of these series in a request carrying `metrics` (ExportBatch.metrics: absent, all of them); gauges only where a series has them. */
export function dataPointCount(series: readonly ExportSeries[], metrics: readonly MetricDefinition[] | undefined): number {
  const carried = metrics ?? METRICS;
  const gauges = carried.filter((definition) => definition.kind === "gauge").length;
  const others = carried.length - gauges;
  let n = 0;
  for (const s of series) n += s.gauges ? gauges + others : others;
  return n;
}

/** How many distinct series points belong to (a delta push may carry several points per series). */
export function distinctSeries(series: readonly ExportSeries[]): number {
  return new Set(series.map((s) => seriesKey(s.appName, s.region))).size;
}

export interface EncodedChunk {
  series: ExportSeries[];
  /** The distinct series (seriesKey) whose points this chunk carries. */
  readonly keys: string[];
  body: Uint8Array;
  dataPoints: number;
  /**
   * The same series in two bodies (halves by series, each encoded once), for a destination that
   * answered 413; null when the chunk holds a single series and cannot be cut further.
   */
  split: (() => EncodedChunk[]) | null;
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

/** Groups g0..g1 of `starts` as a chunk, `encode` giving the body of any group range. */
function chunkOf(batch: ExportBatch, starts: readonly number[], g0: number, g1: number, encode: (from: number, to: number) => Uint8Array): EncodedChunk {
  const from = starts[g0] ?? 0;
  const to = starts[g1] ?? 0;
  const series = batch.series.slice(from, to);
  const half = g0 + Math.ceil((g1 - g0) / 2);
  let keys: string[] | undefined;
  return {
    series,
    // Built on first use: a cumulative push without ending series never needs it.
    get keys() {
      return (keys ??= [...new Set(series.map((s) => seriesKey(s.appName, s.region)))]);
    },
    body: encode(from, to),
    dataPoints: dataPointCount(series, batch.metrics),
    split: g1 - g0 > 1 ? () => [chunkOf(batch, starts, g0, half, encode), chunkOf(batch, starts, half, g1, encode)] : null,
  };
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
    const write = (from: number, to: number) => encoded.write(from, to);
    const chunks: EncodedChunk[] = [];
    const groups = starts.length - 1;
    for (let g = 0; g < groups; ) {
      const from = starts[g]!;
      // The most groups from g that fit (at least one): sizes grow with `to`, so a binary search
      // asks for O(log n) sizes per part instead of one per group.
      let fits = g + 1;
      if (encoded.size(from, starts[groups]!) <= limitBytes) fits = groups;
      else {
        let tooMany = groups;
        while (tooMany - fits > 1) {
          const mid = (fits + tooMany) >> 1;
          if (encoded.size(from, starts[mid]!) <= limitBytes) fits = mid;
          else tooMany = mid;
        }
      }
      chunks.push(chunkOf(batch, starts, g, fits, write));
      g = fits;
    }
    if (chunks.length === 0) chunks.push(chunkOf(batch, [0], 0, 0, write));
    return chunks;
  }
  const json = (from: number, to: number) => serializeJson({ ...batch, series: batch.series.slice(from, to) });
  const chunks: EncodedChunk[] = [];
  const encodeGroups = (g0: number, g1: number): void => {
    const c = chunkOf(batch, starts, g0, g1, json);
    if (c.body.byteLength <= limitBytes || c.split === null) {
      chunks.push(c);
      return;
    }
    const half = g0 + Math.ceil((g1 - g0) / 2);
    encodeGroups(g0, half);
    encodeGroups(half, g1);
  };
  encodeGroups(0, Math.max(starts.length - 1, 0));
  if (chunks.length === 0) chunks.push(chunkOf(batch, [0], 0, 0, json));
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
