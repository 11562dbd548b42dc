/**
 * The export configuration a save leaves: PUT (the whole configuration, with defaults) and PATCH
 * (any subset over what is stored), and whether a save starts the status over.
 */
import type { Destination, ExportConfigPatch, ExportConfigPut } from "../validation/export-config";
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "./metric-definitions";
import type { StoredConfig } from "./status";

/** Datadog accepts delta only; every other destination cumulative (../shared/DESTINATIONS.md). */
export function defaultTemporality(destination: Destination): StoredConfig["temporality"] {
  return destination === "datadog" ? "delta" : "cumulative";
}

export function configFromPut(input: ExportConfigPut, previous: StoredConfig | null, nowMs: number): StoredConfig {
  const destination = input.destination ?? "custom";
  return {
    destination,
    endpoint: input.endpoint,
    protocol: input.protocol ?? "http/protobuf",
    compression: input.compression ?? "gzip",
    temporality: input.temporality ?? defaultTemporality(destination),
    histogramBoundsMs: input.histogram_bounds_ms ?? null,
    enabled: input.enabled ?? true,
    createdAt: previous?.createdAt ?? nowMs,
    updatedAt: nowMs,
  };
}

/** A destination change without a temporality takes that destination's default. */
export function configFromPatch(input: ExportConfigPatch, previous: StoredConfig, nowMs: number): StoredConfig {
  const destination = input.destination ?? previous.destination;
  const destinationChanged = input.destination !== undefined && input.destination !== previous.destination;
  return {
    ...previous,
    destination,
    endpoint: input.endpoint ?? previous.endpoint,
    protocol: input.protocol ?? previous.protocol,
    compression: input.compression ?? previous.compression,
    temporality: input.temporality ?? (destinationChanged ? defaultTemporality(destination) : previous.temporality),
    histogramBoundsMs: input.histogram_bounds_ms === undefined ? previous.histogramBoundsMs : input.histogram_bounds_ms,
    enabled: input.enabled ?? previous.enabled,
    updatedAt: nowMs,
  };
}

/**
 * Saving is usually the user's fix: a save that changes where or how pushes go (or re-enables, or
 * replaces headers) starts failures, pause and the last error over. Toggling off, or only new
 * bucket bounds, does not.
 */
export function saveStartsStatusOver(previous: StoredConfig | null, next: StoredConfig, headersReplaced: boolean): boolean {
  return (
    previous === null ||
    previous.endpoint !== next.endpoint ||
    previous.destination !== next.destination ||
    previous.protocol !== next.protocol ||
    previous.compression !== next.compression ||
    previous.temporality !== next.temporality ||
    headersReplaced ||
    (!previous.enabled && next.enabled)
  );
}

export function boundsOf(config: StoredConfig | null): readonly number[] {
  return config?.histogramBoundsMs ?? DEFAULT_HISTOGRAM_BOUNDS_MS;
}
