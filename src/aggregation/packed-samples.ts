/**
 * One project's share of a host batch, packed into columns for the hand-off from the worker to the
 * project's Durable Object. Structured-cloning typed arrays is a memory copy, where 500 sample
 * objects cost a clone of every property; in the ingest benchmark the RPC hand-off of objects
 * cost more CPU than the object's own aggregation (docs/benchmarks.md).
 */
import type { SampleInput } from "../validation/samples";
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
