/**
 * The exported metrics: names, units and descriptions exactly as ../shared/PRODUCT-GUIDE.md documents
 * them. Units follow UCUM as OTLP expects, so Prometheus-style backends append `_milliseconds` to the
 * histograms and nothing to the others (`{run}`, `{core}`, `{container}` add no suffix; `By` and `%`
 * are already part of the names as `bytes` and `percent`).
 */
import type { GaugeValues } from "./model";

export const SERVICE_NAME = "cerebrium";
export const SCOPE_NAME = "cerebrium-metrics-export";
export const SCOPE_VERSION = "0.1.0";

export interface GaugeDefinition {
  kind: "gauge";
  name: string;
  unit: string;
  description: string;
  field: keyof GaugeValues;
}

export interface HistogramDefinition {
  kind: "histogram";
  name: string;
  unit: string;
  description: string;
  field: "execution" | "queue" | "coldstart" | "response";
}

export interface CounterDefinition {
  kind: "counter";
  name: string;
  unit: string;
  description: string;
  field: "runs" | "successes" | "errors";
}

export type MetricDefinition = GaugeDefinition | HistogramDefinition | CounterDefinition;

export const GAUGES: readonly GaugeDefinition[] = [
  { kind: "gauge", name: "cerebrium_cpu_utilization_cores", unit: "{core}", description: "CPU cores actively in use per app", field: "cpuCores" },
  { kind: "gauge", name: "cerebrium_memory_usage_bytes", unit: "By", description: "Memory actively in use per app", field: "memoryBytes" },
  { kind: "gauge", name: "cerebrium_gpu_memory_usage_bytes", unit: "By", description: "GPU VRAM in use per app", field: "gpuMemoryBytes" },
  { kind: "gauge", name: "cerebrium_gpu_compute_utilization_percent", unit: "%", description: "GPU compute utilization (0-100) per app", field: "gpuComputePercent" },
  { kind: "gauge", name: "cerebrium_containers_running_count", unit: "{container}", description: "Number of running containers per app", field: "containersRunning" },
  { kind: "gauge", name: "cerebrium_containers_ready_count", unit: "{container}", description: "Number of ready containers per app", field: "containersReady" },
];

export const HISTOGRAMS: readonly HistogramDefinition[] = [
  { kind: "histogram", name: "cerebrium_run_execution_time_ms", unit: "ms", description: "Time spent executing user code", field: "execution" },
  { kind: "histogram", name: "cerebrium_run_queue_time_ms", unit: "ms", description: "Time spent waiting in queue", field: "queue" },
  { kind: "histogram", name: "cerebrium_run_coldstart_time_ms", unit: "ms", description: "Time for container cold start", field: "coldstart" },
  { kind: "histogram", name: "cerebrium_run_response_time_ms", unit: "ms", description: "Total end-to-end response time", field: "response" },
];

export const COUNTERS: readonly CounterDefinition[] = [
  { kind: "counter", name: "cerebrium_run_total", unit: "{run}", description: "Total run count", field: "runs" },
  { kind: "counter", name: "cerebrium_run_successes_total", unit: "{run}", description: "Successful run count", field: "successes" },
  { kind: "counter", name: "cerebrium_run_errors_total", unit: "{run}", description: "Failed run count", field: "errors" },
];

/** Every metric in the order a push carries them. */
export const METRICS: readonly MetricDefinition[] = [...GAUGES, ...HISTOGRAMS, ...COUNTERS];

export const DEFAULT_HISTOGRAM_BOUNDS_MS: readonly number[] = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000,
];

