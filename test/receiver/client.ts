/**
 * The test receiver (./receiver.ts) seen from a test: only `fetch`, so it works inside workerd.
 * Also small readers for the decoded requests it records, the same for protobuf and JSON bodies
 * (64-bit integers arrive as numbers from protobuf and as numbers or decimal strings from JSON).
 */
import { inject } from "vitest";
import type { RecordedRequest, ScriptedResponse } from "./types";

export type { RecordedRequest, ScriptedResponse };

// Provided by ./global-setup.ts.
declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
  }
}

export function receiverOrigin(): string {
  return `http://127.0.0.1:${inject("receiverPort")}`;
}

/** A namespace of its own for one test (or file): its script and request log are separate. */
export function newNamespace(): string {
  return crypto.randomUUID();
}

/** Base endpoint for an export config; the exporter appends `/v1/metrics`. */
export function receiverUrl(ns: string): string {
  return `${receiverOrigin()}/r/${ns}`;
}

/** A webhook URL in the namespace (unscripted POSTs to it get 204); `suffix` adds path segments after `/hook`. */
export function hookUrl(ns: string, suffix = ""): string {
  return `${receiverUrl(ns)}/hook${suffix}`;
}

/** The webhook deliveries (POSTs under `/r/<ns>/hook`) the namespace received, oldest first. */
export async function hookRequests(ns: string): Promise<RecordedRequest[]> {
  return (await requests(ns)).filter((r) => r.method === "POST" && r.path.startsWith(`/r/${ns}/hook`));
}

/** Replaces the namespace's queue of responses; one is used per request, then the default 200. */
export async function script(ns: string, responses: ScriptedResponse[]): Promise<void> {
  await control("PUT", ns, "/script", JSON.stringify(responses));
}

/** From now on the namespace answers 413 to requests whose uncompressed body exceeds `maxBodyBytes`. */
export async function limitBodyBytes(ns: string, maxBodyBytes: number): Promise<void> {
  await control("PUT", ns, "/limit", JSON.stringify({ max_body_bytes: maxBodyBytes }));
}

export async function requests(ns: string): Promise<RecordedRequest[]> {
  return (await control("GET", ns, "/requests")) as RecordedRequest[];
}

export async function requestCount(ns: string): Promise<number> {
  return ((await control("GET", ns, "/count")) as { count: number }).count;
}

export async function reset(ns: string): Promise<void> {
  await control("DELETE", ns, "");
}

async function control(method: string, ns: string, action: string, body?: string): Promise<unknown> {
  const response = await fetch(`${receiverOrigin()}/control/${ns}${action}`, {
    method,
    ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {}),
  });
  if (!response.ok) throw new Error(`receiver control ${method} ${action}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

// Decoded ExportMetricsServiceRequest, as far as these helpers read it.
type Int64 = number | string;
export interface DecodedKeyValue {
  key: string;
  value?: { stringValue?: string; intValue?: Int64; doubleValue?: number; boolValue?: boolean };
}
interface DecodedPoint {
  attributes?: DecodedKeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
}
export interface DecodedNumberPoint extends DecodedPoint {
  asDouble?: number;
  asInt?: Int64;
}
export interface DecodedHistogramPoint extends DecodedPoint {
  count?: Int64;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: Int64[];
  explicitBounds?: number[];
}
export interface DecodedMetric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: DecodedNumberPoint[] };
  sum?: { dataPoints?: DecodedNumberPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: DecodedHistogramPoint[]; aggregationTemporality?: number };
}
export interface DecodedMetricsRequest {
  resourceMetrics?: {
    resource?: { attributes?: DecodedKeyValue[] };
    scopeMetrics?: { scope?: { name?: string; version?: string }; metrics?: DecodedMetric[] }[];
  }[];
}

/** Which series a point belongs to: any subset of its attributes. */
export interface SeriesKey {
  projectId?: string;
  appId?: string;
  appName?: string;
  region?: string;
}

export function metrics(request: RecordedRequest | DecodedMetricsRequest): DecodedMetric[] {
  const body = ("path" in request ? request.body : request) as DecodedMetricsRequest | undefined;
  return (body?.resourceMetrics ?? []).flatMap((rm) => (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []));
}

export function findMetric(request: RecordedRequest | DecodedMetricsRequest, name: string): DecodedMetric | undefined {
  return metrics(request).find((metric) => metric.name === name);
}

/** Point attributes as a plain record (string values; numbers and booleans stringified). */
export function attributesOf(point: { attributes?: DecodedKeyValue[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of point.attributes ?? []) {
    const v = value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue;
    if (v !== undefined) out[key] = String(v);
  }
  return out;
}

function matches(point: DecodedPoint, key: SeriesKey): boolean {
  const attributes = attributesOf(point);
  return (
    (key.projectId === undefined || attributes.project_id === key.projectId) &&
    (key.appId === undefined || attributes.app_id === key.appId) &&
    (key.appName === undefined || attributes.app_name === key.appName) &&
    (key.region === undefined || attributes.region === key.region)
  );
}

function pointsOf(metric: DecodedMetric): DecodedPoint[] {
  return metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? metric.histogram?.dataPoints ?? [];
}

export function findPoint(
  request: RecordedRequest | DecodedMetricsRequest,
  name: string,
  key: SeriesKey,
): DecodedNumberPoint | DecodedHistogramPoint | undefined {
  const metric = findMetric(request, name);
  return metric ? pointsOf(metric).find((point) => matches(point, key)) : undefined;
}

/** A gauge's or counter's value (as_double or as_int), or undefined when the series has no point. */
export function numberValue(request: RecordedRequest | DecodedMetricsRequest, name: string, key: SeriesKey): number | undefined {
  const point = findPoint(request, name, key) as DecodedNumberPoint | undefined;
  if (point === undefined) return undefined;
  return point.asInt !== undefined ? Number(point.asInt) : (point.asDouble ?? 0);
}

export interface HistogramReading {
  count: number;
  sum: number;
  min?: number;
  max?: number;
  bucketCounts: number[];
  explicitBounds: number[];
  /** Nanoseconds rounded to ms: protobuf-decoded nanoseconds are doubles, inexact beyond 2^53. */
  startTimeMs: number;
  timeMs: number;
}

export function histogramValue(
  request: RecordedRequest | DecodedMetricsRequest,
  name: string,
  key: SeriesKey,
): HistogramReading | undefined {
  const point = findPoint(request, name, key) as DecodedHistogramPoint | undefined;
  if (point === undefined) return undefined;
  const reading: HistogramReading = {
    count: Number(point.count ?? 0),
    sum: point.sum ?? 0,
    bucketCounts: (point.bucketCounts ?? []).map(Number),
    explicitBounds: point.explicitBounds ?? [],
    startTimeMs: nanosToMs(point.startTimeUnixNano),
    timeMs: nanosToMs(point.timeUnixNano),
  };
  if (point.min !== undefined) reading.min = point.min;
  if (point.max !== undefined) reading.max = point.max;
  return reading;
}

/** Start and end of a point in ms (see HistogramReading). */
export function pointTimesMs(
  request: RecordedRequest | DecodedMetricsRequest,
  name: string,
  key: SeriesKey,
): { startTimeMs: number; timeMs: number } | undefined {
  const point = findPoint(request, name, key);
  return point && { startTimeMs: nanosToMs(point.startTimeUnixNano), timeMs: nanosToMs(point.timeUnixNano) };
}

function nanosToMs(nanos: Int64 | undefined): number {
  if (nanos === undefined) return 0;
  // Strings (JSON) are exact: cut the last six digits rather than go through a lossy double.
  if (typeof nanos === "string") return nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0;
  return Math.round(nanos / 1e6);
}
