/**
 * The OTLP metrics messages as the encoder (./protobuf-encoder.ts) writes them: the one-byte field
 * tags (opentelemetry-proto v1: common, resource, metrics, collector/metrics) and the parts that are
 * the same in every push (resource, scope, metric headers, attribute keys), encoded once at start-up
 * exactly as the OpenTelemetry JS serializer writes them.
 */
import { METRICS, SCOPE_NAME, SCOPE_VERSION, SERVICE_NAME, type MetricDefinition } from "./metric-definitions";
import { concat, lengthDelimitedField, stringField } from "./protobuf-wire";

// One-byte tags, (field_number << 3) | wire_type; wire types 0 = varint, 1 = 64-bit, 2 = length-delimited.
export const TAG_1_LEN = 0x0a; // ExportMetricsServiceRequest.resource_metrics, ResourceMetrics.resource, Resource.attributes,
// ScopeMetrics.scope, Metric.name, KeyValue.key, AnyValue.string_value, Gauge/Sum/Histogram.data_points
export const TAG_2_LEN = 0x12; // ResourceMetrics.scope_metrics, ScopeMetrics.metrics, KeyValue.value, scope version, description
export const TAG_3_LEN = 0x1a; // Metric.unit
export const TAG_GAUGE = 0x2a; // Metric.gauge = 5
export const TAG_SUM = 0x3a; // Metric.sum = 7
export const TAG_HISTOGRAM = 0x4a; // Metric.histogram = 9
export const TAG_DROPPED_ATTRIBUTES_COUNT = 0x10; // Resource.dropped_attributes_count = 2
export const TAG_TEMPORALITY = 0x10; // Sum/Histogram.aggregation_temporality = 2
export const TAG_IS_MONOTONIC = 0x18; // Sum.is_monotonic = 3
export const TAG_START_TIME = 0x11; // start_time_unix_nano = 2, fixed64
export const TAG_TIME = 0x19; // time_unix_nano = 3, fixed64
export const TAG_AS_DOUBLE = 0x21; // NumberDataPoint.as_double = 4
export const TAG_AS_INT = 0x31; // NumberDataPoint.as_int = 6, sfixed64
export const TAG_NUMBER_ATTRIBUTE = 0x3a; // NumberDataPoint.attributes = 7
export const TAG_COUNT = 0x21; // HistogramDataPoint.count = 4, fixed64
export const TAG_HISTOGRAM_SUM = 0x29; // HistogramDataPoint.sum = 5, double
export const TAG_BUCKET_COUNTS = 0x32; // HistogramDataPoint.bucket_counts = 6, packed fixed64
export const TAG_EXPLICIT_BOUNDS = 0x3a; // HistogramDataPoint.explicit_bounds = 7, packed double
export const TAG_HISTOGRAM_ATTRIBUTE = 0x4a; // HistogramDataPoint.attributes = 9
export const TAG_NUMBER_FLAGS = 0x40; // NumberDataPoint.flags = 8, varint
export const TAG_HISTOGRAM_FLAGS = 0x50; // HistogramDataPoint.flags = 10, varint
export const FLAG_NO_RECORDED_VALUE = 1; // DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
export const TAG_MIN = 0x59; // HistogramDataPoint.min = 11
export const TAG_MAX = 0x61; // HistogramDataPoint.max = 12

export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

export const ATTRIBUTE_KEYS = ["project_id", "app_id", "app_name", "region"] as const;

/** A metric's name, description and unit, then the tag of its gauge/sum/histogram field (its length follows). */
export function metricHeader(definition: MetricDefinition): Uint8Array {
  const dataTag = definition.kind === "gauge" ? TAG_GAUGE : definition.kind === "counter" ? TAG_SUM : TAG_HISTOGRAM;
  // The SDK leaves out an empty description or unit.
  return concat(
    stringField(TAG_1_LEN, definition.name),
    definition.description ? stringField(TAG_2_LEN, definition.description) : new Uint8Array(0),
    definition.unit ? stringField(TAG_3_LEN, definition.unit) : new Uint8Array(0),
    Uint8Array.of(dataTag),
  );
}

function keyValue(key: string, value: string): Uint8Array {
  return concat(stringField(TAG_1_LEN, key), lengthDelimitedField(TAG_2_LEN, stringField(TAG_1_LEN, value)));
}

// Constant parts, encoded once at start-up.

/** `Resource{attributes: [service.name], dropped_attributes_count: 0}` as the ResourceMetrics.resource field. */
export const RESOURCE_FIELD = lengthDelimitedField(
  TAG_1_LEN,
  concat(
    lengthDelimitedField(TAG_1_LEN, keyValue("service.name", SERVICE_NAME)),
    // The SDK writes the zero count explicitly; byte-identity means we do too.
    Uint8Array.of(TAG_DROPPED_ATTRIBUTES_COUNT, 0),
  ),
);
/** `InstrumentationScope{name, version}` as the ScopeMetrics.scope field. */
export const SCOPE_FIELD = lengthDelimitedField(
  TAG_1_LEN,
  concat(stringField(TAG_1_LEN, SCOPE_NAME), SCOPE_VERSION ? stringField(TAG_2_LEN, SCOPE_VERSION) : new Uint8Array(0)),
);
/** Per metric: name, description, unit, then the tag of its gauge/sum/histogram field (its length follows). */
export const METRIC_HEADERS = new Map(METRICS.map((definition) => [definition, metricHeader(definition)]));
/** Per attribute: `KeyValue.key` field plus the tag of `KeyValue.value`. */
export const ATTRIBUTE_KEY_FIELDS = ATTRIBUTE_KEYS.map((key) => concat(stringField(TAG_1_LEN, key), Uint8Array.of(TAG_2_LEN)));
export const HISTOGRAM_FIELDS = METRICS.flatMap((definition) => (definition.kind === "histogram" ? [definition.field] : []));
