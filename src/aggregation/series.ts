/**
 * One app's (app_name, region) cumulative run counters and histograms. What a delta push reports is
 * the difference of two snapshots of these (src/export/delta.ts).
 */
import type { ExportSeries, GaugeValues } from "../export/model";
import { cloneHistogram, cumulativeValues, emptyHistogram, observe, type Histogram } from "./histogram";

export const HISTOGRAM_FIELDS = ["execution", "queue", "coldstart", "response"] as const;
export type HistogramField = (typeof HISTOGRAM_FIELDS)[number];
export type Histograms = Record<HistogramField, Histogram>;

/** The key of a series (app_name, region) in maps and sets: one spelling everywhere. */
export function seriesKey(appName: string, region: string): string {
  return `${appName}\u0000${region}`;
}

export interface Counters {
  runs: number;
  successes: number;
  errors: number;
}

/** The cumulative values of a series at one instant (a push); what delta points are differences of. */
export interface Snapshot extends Counters {
  atMs: number;
  /** Absent when the histograms restarted (new bounds) after this instant. */
  histograms?: Histograms;
}

export interface SeriesState extends Counters {
  appName: string;
  region: string;
  countersStartMs: number;
  histogramsStartMs: number;
  /** The bounds these histograms were built with. */
  bounds: number[];
  histograms: Histograms;
  /** Time of the latest sample (run or resource) received for this series; drives expiry. */
  lastSampleMs: number;
}

export interface RunSample {
  executionMs: number;
  queueMs: number;
  responseMs: number;
  coldstartMs?: number;
  success: boolean;
}

export function emptyHistograms(boundCount: number): Histograms {
  return {
    execution: emptyHistogram(boundCount),
    queue: emptyHistogram(boundCount),
    coldstart: emptyHistogram(boundCount),
    response: emptyHistogram(boundCount),
  };
}

export function newSeries(appName: string, region: string, bounds: readonly number[], nowMs: number): SeriesState {
  return {
    appName,
    region,
    runs: 0,
    successes: 0,
    errors: 0,
    countersStartMs: nowMs,
    histogramsStartMs: nowMs,
    bounds: bounds.slice(),
    histograms: emptyHistograms(bounds.length),
    lastSampleMs: nowMs,
  };
}

export function cloneSeries(s: SeriesState): SeriesState {
  return { ...s, histograms: cloneHistograms(s.histograms) };
}

export function cloneHistograms(h: Histograms): Histograms {
  return {
    execution: cloneHistogram(h.execution),
    queue: cloneHistogram(h.queue),
    coldstart: cloneHistogram(h.coldstart),
    response: cloneHistogram(h.response),
  };
}

export function applyRun(s: SeriesState, run: RunSample): void {
  observeRun(s, run.executionMs, run.queueMs, run.responseMs, run.coldstartMs ?? NaN, run.success);
}

/** One run as plain numbers (the packed ingest path); a NaN cold start means there was none. */
export function observeRun(s: SeriesState, executionMs: number, queueMs: number, responseMs: number, coldstartMs: number, success: boolean): void {
  s.runs += 1;
  if (success) s.successes += 1;
  else s.errors += 1;
  const b = s.bounds;
  observe(s.histograms.execution, b, executionMs);
  observe(s.histograms.queue, b, queueMs);
  observe(s.histograms.response, b, responseMs);
  if (!Number.isNaN(coldstartMs)) observe(s.histograms.coldstart, b, coldstartMs);
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Switches a series to new bucket bounds: its histograms restart with a new start time (old counts
 * cannot be re-bucketed). Counters are untouched. Returns false when the bounds are the same.
 */
export function rebucket(s: SeriesState, bounds: readonly number[], nowMs: number): boolean {
  if (sameBounds(s.bounds, bounds)) return false;
  s.bounds = bounds.slice();
  s.histograms = emptyHistograms(bounds.length);
  s.histogramsStartMs = nowMs;
  return true;
}

/** The cumulative values of `s` now, as of `atMs`. */
export function snapshotOf(s: SeriesState, atMs: number): Snapshot {
  return { atMs, runs: s.runs, successes: s.successes, errors: s.errors, histograms: cloneHistograms(s.histograms) };
}

/** The point identity shared by every point of a series. */
export function seriesLabels(projectId: string, s: SeriesState): Pick<ExportSeries, "projectId" | "appId" | "appName" | "region"> {
  return { projectId, appId: `${projectId}-${s.appName}`, appName: s.appName, region: s.region };
}

/** The cumulative data points of one series. */
export function cumulativeSeries(projectId: string, s: SeriesState, gauges: GaugeValues | undefined): ExportSeries {
  return {
    ...seriesLabels(projectId, s),
    ...(gauges ? { gauges } : {}),
    countersStartMs: s.countersStartMs,
    runs: s.runs,
    successes: s.successes,
    errors: s.errors,
    histogramsStartMs: s.histogramsStartMs,
    execution: cumulativeValues(s.histograms.execution),
    queue: cumulativeValues(s.histograms.queue),
    coldstart: cumulativeValues(s.histograms.coldstart),
    response: cumulativeValues(s.histograms.response),
  };
}
