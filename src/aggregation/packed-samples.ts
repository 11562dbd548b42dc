/**
 * One project's share of a host batch, packed into columns for the hand-off from the worker to the
 * project's Durable Object. Structured-cloning typed arrays is a memory copy, where 500 sample
 * objects cost a clone of every property; in the ingest benchmark the RPC hand-off of objects
 * cost more CPU than the object's own aggregation (docs/benchmarks.md).
 */
import type { SampleInput } from "../validation/samples";
import { ByteReader, ByteWriter } from "./binary";
import { seriesKey } from "./series";

export const RUN_FIELDS = 4; // execution, queue, response, coldstart (NaN: no cold start)
export const RESOURCE_FIELDS = 8; // time, cpu, memory, gpu memory, gpu %, gpu count, running, ready

export interface PackedSamples {
  /** Distinct series in order of first appearance. */
  appNames: string[];
  regions: string[];
  /** Per run: its series, its index in the host's batch, RUN_FIELDS values, success (1/0). */
  runSeries: Uint16Array;
  runIndex: Uint32Array;
  runValues: Float64Array;
  runSuccess: Uint8Array;
  /** Per resource report: its series, its index in the batch, RESOURCE_FIELDS values. */
  resourceSeries: Uint16Array;
  resourceIndex: Uint32Array;
  resourceValues: Float64Array;
}

export function packSamples(samples: readonly SampleInput[]): PackedSamples {
  const seriesOf = new Map<string, number>();
  const appNames: string[] = [];
  const regions: string[] = [];
  let runs = 0;
  for (const s of samples) if (s.type === "run") runs += 1;
  const resources = samples.length - runs;
  const packed: PackedSamples = {
    appNames,
    regions,
    runSeries: new Uint16Array(runs),
    runIndex: new Uint32Array(runs),
    runValues: new Float64Array(runs * RUN_FIELDS),
    runSuccess: new Uint8Array(runs),
    resourceSeries: new Uint16Array(resources),
    resourceIndex: new Uint32Array(resources),
    resourceValues: new Float64Array(resources * RESOURCE_FIELDS),
  };
  let r = 0;
  let q = 0;
  for (const s of samples) {
    const key = seriesKey(s.appName, s.region);
    let series = seriesOf.get(key);
    if (series === undefined) {
      series = appNames.length;
      seriesOf.set(key, series);
      appNames.push(s.appName);
      regions.push(s.region);
    }
    if (s.type === "run") {
      packed.runSeries[r] = series;
      packed.runIndex[r] = s.index;
      const o = r * RUN_FIELDS;
      packed.runValues[o] = s.executionMs;
      packed.runValues[o + 1] = s.queueMs;
      packed.runValues[o + 2] = s.responseMs;
      packed.runValues[o + 3] = s.coldstartMs ?? NaN;
      packed.runSuccess[r] = s.success ? 1 : 0;
      r += 1;
    } else {
      packed.resourceSeries[q] = series;
      packed.resourceIndex[q] = s.index;
      const o = q * RESOURCE_FIELDS;
      packed.resourceValues[o] = s.timeMs;
      packed.resourceValues[o + 1] = s.cpuCores;
      packed.resourceValues[o + 2] = s.memoryBytes;
      packed.resourceValues[o + 3] = s.gpuMemoryBytes;
      packed.resourceValues[o + 4] = s.gpuComputePercent;
      packed.resourceValues[o + 5] = s.gpuCount;
      packed.resourceValues[o + 6] = s.containersRunning;
      packed.resourceValues[o + 7] = s.containersReady;
      q += 1;
    }
  }
  return packed;
}

export function sampleCount(p: PackedSamples): number {
  return p.runSeries.length + p.resourceSeries.length;
}

/**
 * The bytes of a batch's accepted samples as the batch ledger stores them (replayed into the series
 * state when the object loads before they were compacted). Sample indices are not kept: they only
 * serve the rejections of the first answer.
 */
export function encodePacked(p: PackedSamples): Uint8Array {
  const runs = p.runSeries.length;
  const resources = p.resourceSeries.length;
  const w = new ByteWriter(64 + p.appNames.length * 40 + runs * (2 + 1 + 8 * RUN_FIELDS) + resources * (2 + 8 * RESOURCE_FIELDS));
  w.u16(p.appNames.length);
  for (let i = 0; i < p.appNames.length; i++) {
    w.text(p.appNames[i]!);
    w.text(p.regions[i]!);
  }
  w.u32(runs);
  for (let r = 0; r < runs; r++) {
    w.u16(p.runSeries[r]!);
    w.u8(p.runSuccess[r]!);
  }
  w.f64s(p.runValues);
  w.u32(resources);
  for (let q = 0; q < resources; q++) w.u16(p.resourceSeries[q]!);
  w.f64s(p.resourceValues);
  return w.bytes();
}

export function decodePacked(bytes: Uint8Array | ArrayBuffer): PackedSamples {
  const r = new ByteReader(bytes);
  const seriesCount = r.u16();
  const appNames: string[] = [];
  const regions: string[] = [];
  for (let i = 0; i < seriesCount; i++) {
    appNames.push(r.text());
    regions.push(r.text());
  }
  const runs = r.u32();
  const runSeries = new Uint16Array(runs);
  const runSuccess = new Uint8Array(runs);
  for (let i = 0; i < runs; i++) {
    runSeries[i] = r.u16();
    runSuccess[i] = r.u8();
  }
  const runValues = Float64Array.from(r.f64s(runs * RUN_FIELDS));
  const resources = r.u32();
  const resourceSeries = new Uint16Array(resources);
  for (let i = 0; i < resources; i++) resourceSeries[i] = r.u16();
  const resourceValues = Float64Array.from(r.f64s(resources * RESOURCE_FIELDS));
  return {
    appNames,
    regions,
    runSeries,
    runIndex: new Uint32Array(runs),
    runValues,
    runSuccess,
    resourceSeries,
    resourceIndex: new Uint32Array(resources),
    resourceValues,
  };
}
