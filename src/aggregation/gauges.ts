/**
 * Resource gauges of one app (series) from the latest report of each host.
 *
 * - A host counts while its latest report is younger than two export intervals.
 * - Sums over counting hosts; GPU utilisation is their mean weighted by gpu_count.
 * - When no host counts any more, the app exports zeros for SILENT_ZEROS_MS after the last host
 *   went silent (scale-to-zero shows as 0, not as a gap), then its gauges stop.
 */
import type { GaugeValues } from "../export/model";

export const SILENT_ZEROS_MS = 15 * 60_000;

/** What one host reports for one app: a resource sample's measurements. */
export interface ResourceReading {
  cpuCores: number;
  memoryBytes: number;
  gpuMemoryBytes: number;
  gpuComputePercent: number;
  gpuCount: number;
  containersRunning: number;
  containersReady: number;
}

export interface HostReport extends ResourceReading {
  hostId: string;
  appName: string;
  region: string;
  /** Sample time, Unix ms (never later than when it was received). */
  timeMs: number;
}

export const ZERO_GAUGES: Readonly<GaugeValues> = Object.freeze({
  cpuCores: 0,
  memoryBytes: 0,
  gpuMemoryBytes: 0,
  gpuComputePercent: 0,
  containersRunning: 0,
  containersReady: 0,
});

export function freshnessWindowMs(exportIntervalMs: number): number {
  return 2 * exportIntervalMs;
}

/** A report older than this can never influence an export again and may be deleted. */
export function reportRetentionMs(exportIntervalMs: number): number {
  return freshnessWindowMs(exportIntervalMs) + SILENT_ZEROS_MS;
}

/** Gauges of one app from its hosts' latest reports, or undefined when the app has none to export. */
export function computeGauges(reports: Iterable<HostReport>, nowMs: number, exportIntervalMs: number): GaugeValues | undefined {
  const window = freshnessWindowMs(exportIntervalMs);
  let newest = -Infinity;
  let fresh = 0;
  const g = { cpuCores: 0, memoryBytes: 0, gpuMemoryBytes: 0, containersRunning: 0, containersReady: 0 };
  let weightedPercent = 0;
  let gpuWeight = 0;
  for (const r of reports) {
    if (r.timeMs > newest) newest = r.timeMs;
    if (nowMs - r.timeMs >= window) continue;
    fresh += 1;
    g.cpuCores += r.cpuCores;
    g.memoryBytes += r.memoryBytes;
    g.gpuMemoryBytes += r.gpuMemoryBytes;
    g.containersRunning += r.containersRunning;
    g.containersReady += r.containersReady;
    weightedPercent += r.gpuComputePercent * r.gpuCount;
    gpuWeight += r.gpuCount;
  }
  if (fresh > 0) {
    const mean = gpuWeight > 0 ? weightedPercent / gpuWeight : 0;
    return { ...g, gpuComputePercent: Math.min(100, Math.max(0, mean)) };
  }
  if (newest === -Infinity) return undefined;
  const silentSince = newest + window;
  return nowMs - silentSince < SILENT_ZEROS_MS ? { ...ZERO_GAUGES } : undefined;
}
