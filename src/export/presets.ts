/**
 * What each destination preset implies beyond the endpoint (../shared/DESTINATIONS.md): headers it
 * cannot work without, and its request-size limit. Temporality defaults live in ./config.ts.
 */
import type { Destination } from "../validation/export-config";

/** Datadog answers 413 above 500 KB uncompressed; New Relic above 1 MB; 4 MiB elsewhere. */
const MAX_BODY_BYTES: Record<Destination, number> = {
  grafana_cloud: 4 * 1024 * 1024,
  datadog: 512_000,
  prometheus: 4 * 1024 * 1024,
  new_relic: 1_000_000,
  honeycomb: 4 * 1024 * 1024,
  custom: 4 * 1024 * 1024,
};

/** Headers a preset needs, with why (the 400 a save or a test without them answers). */
const REQUIRED_HEADERS: Partial<Record<Destination, readonly { name: string; why: string }[]>> = {
  new_relic: [{ name: "api-key", why: "New Relic authenticates OTLP requests with an INGEST - LICENSE key in the api-key header" }],
  honeycomb: [
    { name: "x-honeycomb-team", why: "Honeycomb authenticates with an ingest API key in the x-honeycomb-team header" },
    { name: "x-honeycomb-dataset", why: "without it Honeycomb stores metrics in the unknown_metrics dataset" },
  ],
};

export function presetMaxBodyBytes(destination: Destination): number {
  return MAX_BODY_BYTES[destination];
}

/** The first header a preset needs that `names` lacks (case-insensitively), or null. */
export function missingPresetHeader(destination: Destination, names: readonly string[]): { name: string; why: string } | null {
  const have = new Set(names.map((n) => n.toLowerCase()));
  return REQUIRED_HEADERS[destination]?.find((h) => !have.has(h.name)) ?? null;
}
