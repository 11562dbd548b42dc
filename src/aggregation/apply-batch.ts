/**
 * One host batch against a project's aggregate state, in two steps so that nothing is mutated
 * before the batch is durable:
 *
 * 1. planBatch decides, without touching the state, which samples the batch may add: those of
 *    existing series and of new series up to the project's limit (in order of first appearance);
 *    the rest are rejected with `series_limit`. Its `accepted` part is what the ledger stores.
 * 2. applyBatch folds accepted samples into the state: runs into counters and histograms, resource
 *    samples into the host's latest report (an older report never overwrites a newer one). The
 *    object calls it once the ledger row is written, and again for every logged batch it finds
 *    uncompacted when it loads — the same inputs give the same state.
 */
import type { SampleRejection } from "../validation/samples";
import type { HostReport } from "./gauges";
import { RESOURCE_FIELDS, RUN_FIELDS, type PackedSamples } from "./packed-samples";
import { newSeries, observeRun, rebucket, seriesKey, type SeriesState } from "./series";

export interface AggregateState {
  series: Map<string, SeriesState>;
  /** The latest report of each host, by series key, then host id. */
  reports: Map<string, Map<string, HostReport>>;
}

export interface BatchPlan {
  /** The samples of series that exist or may be created, in the packed layout. */
  accepted: PackedSamples;
  acceptedCount: number;
  /** `series_limit` rejections, by sample index. */
  rejected: SampleRejection[];
}

export function planBatch(state: AggregateState, samples: PackedSamples, maxSeries: number): BatchPlan {
  // Distinct series of the batch: kept (with their index among the kept) or over the limit.
  const keptIndex = new Int32Array(samples.appNames.length).fill(-1);
  const appNames: string[] = [];
  const regions: string[] = [];
  let created = 0;
  for (let i = 0; i < samples.appNames.length; i++) {
    const key = seriesKey(samples.appNames[i]!, samples.regions[i]!);
    if (!state.series.has(key)) {
      if (state.series.size + created >= maxSeries) continue;
      created += 1;
    }
    keptIndex[i] = appNames.length;
    appNames.push(samples.appNames[i]!);
    regions.push(samples.regions[i]!);
  }
  const rejected: SampleRejection[] = [];
  const overLimit = (index: number) =>
    rejected.push({ index, code: "series_limit", message: `This project already has ${maxSeries} (app_name, region) series; new ones are rejected.` });

  const keptRuns: number[] = [];
  for (let r = 0; r < samples.runSeries.length; r++) {
    if (keptIndex[samples.runSeries[r]!]! < 0) overLimit(samples.runIndex[r]!);
    else keptRuns.push(r);
  }
  const keptResources: number[] = [];
  for (let q = 0; q < samples.resourceSeries.length; q++) {
    if (keptIndex[samples.resourceSeries[q]!]! < 0) overLimit(samples.resourceIndex[q]!);
    else keptResources.push(q);
  }
  rejected.sort((a, b) => a.index - b.index);
  if (rejected.length === 0) return { accepted: samples, acceptedCount: samples.runSeries.length + samples.resourceSeries.length, rejected };

  const accepted: PackedSamples = {
    appNames,
    regions,
    runSeries: Uint16Array.from(keptRuns, (r) => keptIndex[samples.runSeries[r]!]!),
    runIndex: Uint32Array.from(keptRuns, (r) => samples.runIndex[r]!),
    runValues: new Float64Array(keptRuns.length * RUN_FIELDS),
    runSuccess: Uint8Array.from(keptRuns, (r) => samples.runSuccess[r]!),
    resourceSeries: Uint16Array.from(keptResources, (q) => keptIndex[samples.resourceSeries[q]!]!),
    resourceIndex: Uint32Array.from(keptResources, (q) => samples.resourceIndex[q]!),
    resourceValues: new Float64Array(keptResources.length * RESOURCE_FIELDS),
  };
  keptRuns.forEach((r, k) => accepted.runValues.set(samples.runValues.subarray(r * RUN_FIELDS, (r + 1) * RUN_FIELDS), k * RUN_FIELDS));
  keptResources.forEach((q, k) =>
    accepted.resourceValues.set(samples.resourceValues.subarray(q * RESOURCE_FIELDS, (q + 1) * RESOURCE_FIELDS), k * RESOURCE_FIELDS),
  );
  return { accepted, acceptedCount: keptRuns.length + keptResources.length, rejected };
}

export interface Applied {
  /** Keys of the series whose counters, histograms or last-sample time changed. */
  series: string[];
  /** Keys of the series whose bucket bounds were replaced (their histograms restarted). */
  rebucketed: string[];
  /** True when one of the host's latest reports changed. */
  reports: boolean;
}

/** Folds accepted samples from `hostId`, received at `nowMs`, into the state (new series use `bounds`). */
export function applyBatch(state: AggregateState, hostId: string, samples: PackedSamples, nowMs: number, bounds: readonly number[]): Applied {
  const applied: Applied = { series: [], rebucketed: [], reports: false };
  const states: SeriesState[] = [];
  const keys: string[] = [];
  for (let i = 0; i < samples.appNames.length; i++) {
    const appName = samples.appNames[i]!;
    const region = samples.regions[i]!;
    const key = seriesKey(appName, region);
    let s = state.series.get(key);
    if (s === undefined) state.series.set(key, (s = newSeries(appName, region, bounds, nowMs)));
    else if (rebucket(s, bounds, nowMs)) applied.rebucketed.push(key);
    if (nowMs > s.lastSampleMs) s.lastSampleMs = nowMs;
    states.push(s);
    keys.push(key);
    applied.series.push(key);
  }

  const { runSeries, runValues, runSuccess } = samples;
  for (let r = 0; r < runSeries.length; r++) {
    const o = r * RUN_FIELDS;
    observeRun(states[runSeries[r]!]!, runValues[o]!, runValues[o + 1]!, runValues[o + 2]!, runValues[o + 3]!, runSuccess[r] === 1);
  }

  const { resourceSeries, resourceValues: v } = samples;
  for (let q = 0; q < resourceSeries.length; q++) {
    const index = resourceSeries[q]!;
    const key = keys[index]!;
    let hosts = state.reports.get(key);
    if (hosts === undefined) state.reports.set(key, (hosts = new Map()));
    const o = q * RESOURCE_FIELDS;
    const timeMs = Math.min(v[o]!, nowMs);
    const current = hosts.get(hostId);
    if (current && current.timeMs > timeMs) continue; // an older report never overwrites a newer one
    hosts.set(hostId, {
      hostId,
      appName: samples.appNames[index]!,
      region: samples.regions[index]!,
      timeMs,
      cpuCores: v[o + 1]!,
      memoryBytes: v[o + 2]!,
      gpuMemoryBytes: v[o + 3]!,
      gpuComputePercent: v[o + 4]!,
      gpuCount: v[o + 5]!,
      containersRunning: v[o + 6]!,
      containersReady: v[o + 7]!,
    });
    applied.reports = true;
  }
  return applied;
}
