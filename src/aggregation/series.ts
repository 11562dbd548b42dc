/**
 * One app's (app_name, region) cumulative run counters and histograms, and the baseline acknowledged
 * by the last successful push (for delta temporality).
 */
import type { ExportSeries, GaugeValues, HistogramValues, Temporality } from "../export/model";
import { cloneHistogram, cumulativeValues, deltaValues, emptyHistogram, observe, type Histogram } from "./histogram";

export const HISTOGRAM_FIELDS = ["execution", "queue", "coldstart", "response"] as const;
export type HistogramField = (typeof HISTOGRAM_FIELDS)[number];
export type Histograms = Record<HistogramField, Histogram>;

export interface Counters {
  runs: number;
  successes: number;
  errors: number;
}

/** What the last successful push of this series carried (cumulative values at that push). */
export interface AckedBaseline extends Counters {
  atMs: number;
  /** Absent when the histograms restarted (new bounds) after this push. */
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
  acked: AckedBaseline | null;
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
    acked: null,
  };
}

export function cloneSeries(s: SeriesState): SeriesState {
  return {
    ...s,
    bounds: s.bounds,
    histograms: cloneHistograms(s.histograms),
    acked: s.acked,
  };
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
  if (s.acked) s.acked = { atMs: s.acked.atMs, runs: s.acked.runs, successes: s.acked.successes, errors: s.acked.errors };
  return true;
}

/** The baseline a successful push of `s` at `atMs` leaves behind. */
export function ackedAfterPush(s: SeriesState, atMs: number): AckedBaseline {
  return { atMs, runs: s.runs, successes: s.successes, errors: s.errors, histograms: cloneHistograms(s.histograms) };
}

/** The data points one series contributes to a push. */
export function toExportSeries(
  projectId: string,
  s: SeriesState,
  gauges: GaugeValues | undefined,
  temporality: Temporality,
): ExportSeries {
  const base = { projectId, appId: `${projectId}-${s.appName}`, appName: s.appName, region: s.region };
  const withGauges = gauges ? { gauges } : {};
  if (temporality === "cumulative" || s.acked === null) {
    const hist = (f: HistogramField): HistogramValues =>
      temporality === "cumulative" ? cumulativeValues(s.histograms[f]) : deltaValues(s.histograms[f], undefined);
    return {
      ...base,
      ...withGauges,
      countersStartMs: s.countersStartMs,
      runs: s.runs,
      successes: s.successes,
      errors: s.errors,
      histogramsStartMs: s.histogramsStartMs,
      execution: hist("execution"),
      queue: hist("queue"),
      coldstart: hist("coldstart"),
      response: hist("response"),
    };
  }
  const acked = s.acked;
  const histBaseline = acked.histograms && s.histogramsStartMs <= acked.atMs ? acked.histograms : undefined;
  return {
    ...base,
    ...withGauges,
    countersStartMs: acked.atMs,
    runs: s.runs - acked.runs,
    successes: s.successes - acked.successes,
    errors: s.errors - acked.errors,
    histogramsStartMs: histBaseline ? acked.atMs : s.histogramsStartMs,
    execution: deltaValues(s.histograms.execution, histBaseline?.execution),
    queue: deltaValues(s.histograms.queue, histBaseline?.queue),
    coldstart: deltaValues(s.histograms.coldstart, histBaseline?.coldstart),
    response: deltaValues(s.histograms.response, histBaseline?.response),
  };
}
