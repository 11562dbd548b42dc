/**
 * The export configuration a save leaves: PUT (the whole configuration, with defaults) and PATCH
 * (any subset over what is stored), and whether a save starts the status over.
 */
import type { Destination, ExportConfigPatch, ExportConfigPut } from "../validation/export-config";
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "./metric-definitions";
import type { StoredConfig } from "./status";

/**
 * Datadog accepts delta only, and New Relic recommends it (its OTLP docs: cumulative points are
 * turned into deltas on ingest, and the first point of every series is dropped); every other
 * destination cumulative (../shared/DESTINATIONS.md).
 */
export function defaultTemporality(destination: Destination): StoredConfig["temporality"] {
  return destination === "datadog" || destination === "new_relic" ? "delta" : "cumulative";
}

/** `name`: the label to use when the input has none (the object picks one unique in the project). */
export function configFromPut(input: ExportConfigPut, previous: StoredConfig | null, nowMs: number, name: string): StoredConfig {
  const destination = input.destination ?? "custom";
  const sameTarget = previous !== null && previous.endpoint === input.endpoint && previous.destination === destination;
  return {
    name: input.name ?? previous?.name ?? name,
    destination,
    endpoint: input.endpoint,
    protocol: input.protocol ?? "http/protobuf",
    compression: input.compression ?? "gzip",
    temporality: input.temporality ?? defaultTemporality(destination),
    histogramBoundsMs: input.histogram_bounds_ms ?? null,
    enabled: input.enabled ?? true,
    filters: input.filters ?? null,
    bodyLimitBytes: sameTarget ? previous.bodyLimitBytes : null,
    createdAt: previous?.createdAt ?? nowMs,
    updatedAt: nowMs,
  };
}

/** A destination change without a temporality takes that destination's default. */
export function configFromPatch(input: ExportConfigPatch, previous: StoredConfig, nowMs: number): StoredConfig {
  const destination = input.destination ?? previous.destination;
  const destinationChanged = input.destination !== undefined && input.destination !== previous.destination;
  const endpoint = input.endpoint ?? previous.endpoint;
  return {
    ...previous,
    name: input.name ?? previous.name,
    destination,
    endpoint,
    protocol: input.protocol ?? previous.protocol,
    compression: input.compression ?? previous.compression,
    temporality: input.temporality ?? (destinationChanged ? defaultTemporality(destination) : previous.temporality),
    histogramBoundsMs: input.histogram_bounds_ms === undefined ? previous.histogramBoundsMs : input.histogram_bounds_ms,
    enabled: input.enabled ?? previous.enabled,
    filters: input.filters === undefined ? previous.filters : input.filters,
    // A limit learnt from 413 answers belongs to the destination that gave them.
    bodyLimitBytes: endpoint === previous.endpoint && !destinationChanged ? previous.bodyLimitBytes : null,
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
