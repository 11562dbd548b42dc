/**
 * ExportBatch → the OpenTelemetry SDK's `ResourceMetrics`, and the SDK's own serializers over it.
 * This is the reference shape of a push: OTLP/JSON (`protocol: "http/json"` and the preview) is
 * serialized from it, and ./protobuf-encoder.ts must produce byte-for-byte what
 * `serializeProtobufWithSdk` produces (test/unit/protobuf-encoder.test.ts holds it to that).
 */
import { ValueType, type Attributes } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { METRICS, SCOPE_NAME, SCOPE_VERSION, SERVICE_NAME } from "./metric-definitions";
import type { ExportBatch, ExportSeries, HistogramValues } from "./model";

export function toResourceMetrics(batch: ExportBatch): ResourceMetrics {
  const metrics: MetricData[] = [];
  if (batch.series.length > 0) {
    const times = batch.series.map((series) => millisToHrTime(series.timeMs ?? batch.timeMs));
    const temporality =
      batch.temporality === "delta" ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const attributes = batch.series.map(seriesAttributes);
    for (const definition of batch.metrics ?? METRICS) {
      const descriptor = { name: definition.name, description: definition.description, unit: definition.unit };
      switch (definition.kind) {
        case "gauge": {
          const dataPoints: DataPoint<number>[] = [];
          batch.series.forEach((series, i) => {
            if (series.gauges === undefined) return;
            // Gauges have no accumulation window (metrics.proto: start time is ignored for gauges);
            // using the point's own time keeps backends that do read it away from 1970.
            dataPoints.push({ startTime: times[i]!, endTime: times[i]!, attributes: attributes[i]!, value: series.gauges[definition.field] });
          });
          if (dataPoints.length === 0) break;
          metrics.push({
            descriptor: { ...descriptor, valueType: ValueType.DOUBLE },
            // Ignored for gauges by the serializers; required by the type.
            aggregationTemporality: temporality,
            dataPointType: DataPointType.GAUGE,
            dataPoints,
          });
          break;
        }
        case "histogram":
          metrics.push({
            descriptor: { ...descriptor, valueType: ValueType.DOUBLE },
            aggregationTemporality: temporality,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: batch.series.map((series, i) => ({
              startTime: millisToHrTime(series.histogramsStartMs),
              endTime: times[i]!,
              attributes: attributes[i]!,
              value: toHistogram(series[definition.field], batch.bounds),
            })),
          });
          break;
        case "counter":
          metrics.push({
            // INT makes the serializers write `as_int` (sfixed64) rather than `as_double`.
            descriptor: { ...descriptor, valueType: ValueType.INT },
            aggregationTemporality: temporality,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: batch.series.map((series, i) => ({
              startTime: millisToHrTime(series.countersStartMs),
              endTime: times[i]!,
              attributes: attributes[i]!,
              value: series[definition.field],
            })),
          });
          break;
      }
    }
  }
  return {
    resource: resourceFromAttributes({ "service.name": SERVICE_NAME }),
    scopeMetrics: [{ scope: { name: SCOPE_NAME, version: SCOPE_VERSION }, metrics }],
  };
}

export function serializeProtobufWithSdk(batch: ExportBatch): Uint8Array {
  return definedBody(ProtobufMetricsSerializer.serializeRequest(toResourceMetrics(batch)));
}

export function serializeJson(batch: ExportBatch): Uint8Array {
  const body = definedBody(JsonMetricsSerializer.serializeRequest(toResourceMetrics(batch)));
  return batch.series.some((s) => s.noRecordedValue) ? withNoRecordedValueFlags(body, batch) : body;
}

/**
 * The SDK's data points have no `flags`; ended series get `"flags": 1` (DataPointFlags
 * NO_RECORDED_VALUE) here. Histogram and sum points are in series order; ended series have no gauges.
 */
function withNoRecordedValueFlags(body: Uint8Array, batch: ExportBatch): Uint8Array {
  const request = JSON.parse(new TextDecoder().decode(body)) as {
    resourceMetrics: { scopeMetrics: { metrics: { histogram?: { dataPoints: object[] }; sum?: { dataPoints: object[] } }[] }[] }[];
  };
  for (const metric of request.resourceMetrics[0]!.scopeMetrics[0]!.metrics) {
    const points = metric.histogram?.dataPoints ?? metric.sum?.dataPoints;
    if (points === undefined) continue;
    batch.series.forEach((series, i) => {
      if (series.noRecordedValue) Object.assign(points[i]!, { flags: 1 });
    });
  }
  return new TextEncoder().encode(JSON.stringify(request));
}

// ISerializer allows `undefined`; both metric serializers always return bytes.
function definedBody(body: Uint8Array | undefined): Uint8Array {
  if (body === undefined) throw new Error("OTLP serializer returned no body");
  return body;
}

// Insertion order is the order the attributes are encoded in.
function seriesAttributes(series: ExportSeries): Attributes {
  return { project_id: series.projectId, app_id: series.appId, app_name: series.appName, region: series.region };
}

function toHistogram(values: HistogramValues, bounds: number[]): Histogram {
  const histogram: Histogram = {
    buckets: { boundaries: bounds, counts: values.bucketCounts },
    sum: values.sum,
    count: values.count,
  };
  // The serializers test `!== undefined` field by field; leaving the keys out keeps the JSON clean.
  if (values.min !== undefined) histogram.min = values.min;
  if (values.max !== undefined) histogram.max = values.max;
  return histogram;
}
