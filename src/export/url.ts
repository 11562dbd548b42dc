/**
 * OTLP/HTTP exporter rule (opentelemetry-specification, protocol/exporter.md): a base endpoint gets
 * `v1/metrics` appended after exactly one slash; an endpoint already naming the signal path is used
 * as is. Query strings are kept.
 */
const SIGNAL_PATH = "/v1/metrics";

export function metricsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(SIGNAL_PATH) ? path : path + SIGNAL_PATH;
  return url.toString();
}
