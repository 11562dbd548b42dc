/**
 * Binary forms of the state the object stores: a series' four histograms, the bucket bounds, one
 * host's latest reports, and delta snapshots. Numbers stay float64 (counts are whole numbers far
 * below 2^53), so decoding gives back exactly what was encoded.
 */
import { ByteReader, ByteWriter } from "./binary";
import type { HostReport } from "./gauges";
import type { Histogram } from "./histogram";
import { HISTOGRAM_FIELDS, type Histograms, type Snapshot } from "./series";

/** [count, sum, min, max, ...buckets] per histogram, execution, queue, coldstart, response. */
export function encodeHistograms(h: Histograms): Uint8Array {
  const w = new ByteWriter(4 * 8 * (4 + h.execution.buckets.length));
  writeHistograms(w, h);
  return w.bytes();
}

export function decodeHistograms(bytes: Uint8Array | ArrayBuffer, bucketCount: number): Histograms {
  return readHistograms(new ByteReader(bytes), bucketCount);
}

function writeHistograms(w: ByteWriter, h: Histograms): void {
  for (const f of HISTOGRAM_FIELDS) {
    const x = h[f];
    w.f64(x.count);
    w.f64(x.sum);
    w.f64(x.min);
    w.f64(x.max);
    w.f64s(x.buckets);
  }
}

function readHistograms(r: ByteReader, bucketCount: number): Histograms {
  const one = (): Histogram => ({ count: r.f64(), sum: r.f64(), min: r.f64(), max: r.f64(), buckets: r.f64s(bucketCount) });
  return { execution: one(), queue: one(), coldstart: one(), response: one() };
}

export function encodeBounds(bounds: readonly number[]): Uint8Array {
  const w = new ByteWriter(bounds.length * 8);
  w.f64s(bounds);
  return w.bytes();
}

export function decodeBounds(bytes: Uint8Array | ArrayBuffer): number[] {
  const r = new ByteReader(bytes);
  const size = bytes instanceof Uint8Array ? bytes.byteLength : bytes.byteLength;
  return r.f64s(size / 8);
}

/** One host's latest reports (one per series it reports for). */
export function encodeHostReports(reports: Iterable<HostReport>): Uint8Array {
  const list = [...reports];
  const w = new ByteWriter(16 + list.length * 96);
  w.u32(list.length);
  for (const r of list) {
    w.text(r.appName);
    w.text(r.region);
    w.f64s([r.timeMs, r.cpuCores, r.memoryBytes, r.gpuMemoryBytes, r.gpuComputePercent, r.gpuCount, r.containersRunning, r.containersReady]);
  }
  return w.bytes();
}

export function decodeHostReports(hostId: string, bytes: Uint8Array | ArrayBuffer): HostReport[] {
  const r = new ByteReader(bytes);
  const count = r.u32();
  const out: HostReport[] = [];
  for (let i = 0; i < count; i++) {
    const appName = r.text();
    const region = r.text();
    const [timeMs, cpuCores, memoryBytes, gpuMemoryBytes, gpuComputePercent, gpuCount, containersRunning, containersReady] = r.f64s(8) as [
      number, number, number, number, number, number, number, number,
    ];
    out.push({ hostId, appName, region, timeMs, cpuCores, memoryBytes, gpuMemoryBytes, gpuComputePercent, gpuCount, containersRunning, containersReady });
  }
  return out;
}

/** Keyed snapshots (a delta journal record): series key, time, counters, and histograms when known. */
export function encodeSnapshots(entries: readonly { key: string; snapshot: Snapshot }[]): Uint8Array {
  const w = new ByteWriter(64 + entries.length * 700);
  w.u32(entries.length);
  for (const { key, snapshot: s } of entries) {
    w.text(key);
    w.f64s([s.atMs, s.runs, s.successes, s.errors]);
    if (s.histograms) {
      w.u16(s.histograms.execution.buckets.length);
      writeHistograms(w, s.histograms);
    } else w.u16(0);
  }
  return w.bytes();
}

export function decodeSnapshots(bytes: Uint8Array | ArrayBuffer): { key: string; snapshot: Snapshot }[] {
  const r = new ByteReader(bytes);
  const count = r.u32();
  const out: { key: string; snapshot: Snapshot }[] = [];
  for (let i = 0; i < count; i++) {
    const key = r.text();
    const [atMs, runs, successes, errors] = r.f64s(4) as [number, number, number, number];
    const buckets = r.u16();
    const snapshot: Snapshot = { atMs, runs, successes, errors };
    if (buckets > 0) snapshot.histograms = readHistograms(r, buckets);
    out.push({ key, snapshot });
  }
  return out;
}
