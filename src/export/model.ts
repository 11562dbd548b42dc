/**
 * The plain data a push is built from: aggregated state of one project at one instant, already
 * reduced to the numbers each data point carries. Builders (OTLP/JSON for preview, the protobuf
 * encoder for the wire) only translate this; no aggregation logic lives past this point.
 */
import type { MetricDefinition } from "./metric-definitions";

export type Temporality = "cumulative" | "delta";

/** Explicit-bucket histogram values; `bucketCounts.length === bounds.length + 1`. */
export interface HistogramValues {
  count: number;
  sum: number;
  /** Absent when the point has no observations or min/max are unknown (delta points). */
  min?: number;
  max?: number;
  bucketCounts: number[];
}

export interface GaugeValues {
  cpuCores: number;
  memoryBytes: number;
  gpuMemoryBytes: number;
  gpuComputePercent: number;
  containersRunning: number;
  containersReady: number;
}

export interface ExportSeries {
  projectId: string;
  appId: string;
  appName: string;
  region: string;
  /** Absent when the app has no current (or recently silent) resource reports. */
  gauges?: GaugeValues;
  /** End time of this series' points; absent: the batch's time. (A re-sent delta interval keeps its own.) */
  timeMs?: number;
  /**
   * The series has ended (no sample for SERIES_RETENTION_HOURS): its points carry the OTLP
   * `DataPointFlags.NO_RECORDED_VALUE` flag, which Prometheus-style backends turn into a staleness
   * marker, and zero values. Gauges are left out.
   */
  noRecordedValue?: true;
  /** Start of the counters' accumulation window (cumulative: series start; delta: last acknowledged push). */
  countersStartMs: number;
  runs: number;
  successes: number;
  errors: number;
  /** Start of the histograms' accumulation window (a change of bucket bounds restarts it). */
  histogramsStartMs: number;
  execution: HistogramValues;
  queue: HistogramValues;
  coldstart: HistogramValues;
  response: HistogramValues;
}

export interface ExportBatch {
  /** Time of the data points of this push (Unix ms), unless a series says otherwise. */
  timeMs: number;
  temporality: Temporality;
  /** Explicit bucket bounds in ms shared by the four histograms. */
  bounds: number[];
  series: ExportSeries[];
  /**
   * The metrics this push carries, a subset of METRICS in METRICS order (an export's filters,
   * ./filters.ts); absent: all of them.
   */
  metrics?: readonly MetricDefinition[];
}
