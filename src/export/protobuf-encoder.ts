/**
 * OTLP/protobuf `ExportMetricsServiceRequest` for one push, written straight from an ExportBatch.
 *
 * Produces exactly the bytes of `serializeProtobufWithSdk` (./resource-metrics.ts: the OpenTelemetry
 * JS serializer, same field order, same fields left out) at a fraction of its cost: the SDK path
 * builds a ResourceMetrics object graph, walks it twice and re-encodes the same four attributes for
 * each of a series' 13 points. Here a first pass sizes everything and encodes each series' attribute
 * block once (plus a copy carrying the histogram points' field tag); a second pass writes into one
 * exactly sized buffer, copying the constant parts (resource, scope, metric headers, histogram
 * bounds) and the attribute blocks. Measured by bench/export-encode.ts (`node scripts/bench-export.mjs`).
 *
 * Field numbers: opentelemetry-proto v1 (common, resource, metrics, collector/metrics). Only Web APIs
 * (Uint8Array, DataView, TextEncoder): it runs in workerd.
 */
import { METRICS, SCOPE_NAME, SCOPE_VERSION, SERVICE_NAME, type MetricDefinition } from "./metric-definitions";
import type { ExportBatch, ExportSeries, HistogramValues } from "./model";

// One-byte tags, (field_number << 3) | wire_type; wire types 0 = varint, 1 = 64-bit, 2 = length-delimited.
const TAG_1_LEN = 0x0a; // ExportMetricsServiceRequest.resource_metrics, ResourceMetrics.resource, Resource.attributes,
// ScopeMetrics.scope, Metric.name, KeyValue.key, AnyValue.string_value, Gauge/Sum/Histogram.data_points
const TAG_2_LEN = 0x12; // ResourceMetrics.scope_metrics, ScopeMetrics.metrics, KeyValue.value, scope version, description
const TAG_3_LEN = 0x1a; // Metric.unit
const TAG_GAUGE = 0x2a; // Metric.gauge = 5
const TAG_SUM = 0x3a; // Metric.sum = 7
const TAG_HISTOGRAM = 0x4a; // Metric.histogram = 9
const TAG_DROPPED_ATTRIBUTES_COUNT = 0x10; // Resource.dropped_attributes_count = 2
const TAG_TEMPORALITY = 0x10; // Sum/Histogram.aggregation_temporality = 2
const TAG_IS_MONOTONIC = 0x18; // Sum.is_monotonic = 3
const TAG_START_TIME = 0x11; // start_time_unix_nano = 2, fixed64
const TAG_TIME = 0x19; // time_unix_nano = 3, fixed64
const TAG_AS_DOUBLE = 0x21; // NumberDataPoint.as_double = 4
const TAG_AS_INT = 0x31; // NumberDataPoint.as_int = 6, sfixed64
const TAG_NUMBER_ATTRIBUTE = 0x3a; // NumberDataPoint.attributes = 7
const TAG_COUNT = 0x21; // HistogramDataPoint.count = 4, fixed64
const TAG_HISTOGRAM_SUM = 0x29; // HistogramDataPoint.sum = 5, double
const TAG_BUCKET_COUNTS = 0x32; // HistogramDataPoint.bucket_counts = 6, packed fixed64
const TAG_EXPLICIT_BOUNDS = 0x3a; // HistogramDataPoint.explicit_bounds = 7, packed double
const TAG_HISTOGRAM_ATTRIBUTE = 0x4a; // HistogramDataPoint.attributes = 9
const TAG_NUMBER_FLAGS = 0x40; // NumberDataPoint.flags = 8, varint
const TAG_HISTOGRAM_FLAGS = 0x50; // HistogramDataPoint.flags = 10, varint
const FLAG_NO_RECORDED_VALUE = 1; // DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
const TAG_MIN = 0x59; // HistogramDataPoint.min = 11
const TAG_MAX = 0x61; // HistogramDataPoint.max = 12

const TEMPORALITY_DELTA = 1;
const TEMPORALITY_CUMULATIVE = 2;

/** Tag + fixed64 or double. */
const FIXED_FIELD_BYTES = 9;
/** start time, time, value. */
const NUMBER_POINT_FIXED_BYTES = 3 * FIXED_FIELD_BYTES;
/** start time, time, count, sum. */
const HISTOGRAM_POINT_FIXED_BYTES = 4 * FIXED_FIELD_BYTES;
/** Tag + one-byte varint: aggregation_temporality, is_monotonic. */
const SMALL_VARINT_FIELD_BYTES = 2;
const ATTRIBUTES_PER_SERIES = 4;
const HISTOGRAMS_PER_SERIES = 4;
const TWO_POW_32 = 4294967296;

const ATTRIBUTE_KEYS = ["project_id", "app_id", "app_name", "region"] as const;
const textEncoder = new TextEncoder();

export function encodeExportBatch(batch: ExportBatch): Uint8Array {
  const encoded = new ProtobufBatch(batch);
  return encoded.write(0, batch.series.length);
}

/**
 * A batch measured once (pass 1) and writable as one request or as several, each a contiguous
 * range of its series: the sizes of every range are known from prefix sums before anything is
 * written, so splitting for a size limit encodes every series once. Only the metrics the batch
 * carries (`batch.metrics`) are measured and written, so a filtered batch costs less.
 */
export class ProtobufBatch {
  readonly #batch: ExportBatch;
  readonly #metrics: readonly MetricDefinition[];
  readonly #headers: readonly Uint8Array[];
  /** Per metric of #metrics: its index among the four histogram fields, -1 for the others. */
  readonly #histogramIndex: readonly number[];
  readonly #withGauges: boolean;
  readonly #boundsField: Uint8Array;
  readonly #attributeLengths: Int32Array;
  readonly #histogramPointLengths: Int32Array;
  readonly #attributes: Writer;
  /** Where each series' attribute blocks begin: the number points' copy (if any number metric is in), then the histogram points' (if any histogram is). */
  readonly #attributeStarts: Int32Array;
  readonly #histogramAttributesSecond: boolean;
  readonly #times: Uint32Array;
  /**
   * Prefix sums over series: gauge points' field bytes, counter points' (each of 3), histogram
   * points' (per histogram), series with gauges. Empty for the kinds the batch does not carry.
   */
  readonly #gaugeBytes: Float64Array;
  readonly #counterBytes: Float64Array;
  readonly #histogramBytes: Float64Array[];
  readonly #gaugeSeries: Int32Array;

  constructor(batch: ExportBatch) {
    this.#batch = batch;
    const metrics = batch.metrics ?? METRICS;
    this.#metrics = metrics;
    // A copy of one of METRICS (say, after structured cloning) is not a key of METRIC_HEADERS: it gets its own.
    this.#headers = metrics.map((definition) => METRIC_HEADERS.get(definition) ?? metricHeader(definition));
    this.#histogramIndex = metrics.map((definition) => (definition.kind === "histogram" ? HISTOGRAM_FIELDS.indexOf(definition.field) : -1));
    const withHistogram = HISTOGRAM_FIELDS.map((_, h) => this.#histogramIndex.includes(h));
    const withHistograms = withHistogram.includes(true);
    const withGauges = metrics.some((definition) => definition.kind === "gauge");
    const withCounters = metrics.some((definition) => definition.kind === "counter");
    const withNumbers = withGauges || withCounters;
    this.#withGauges = withGauges;
    const series = batch.series;
    const n = series.length;
    this.#boundsField = withHistograms && batch.bounds.length > 0 ? packedDoubles(TAG_EXPLICIT_BOUNDS, batch.bounds) : new Uint8Array(0);
    this.#attributeLengths = new Int32Array(n);
    this.#histogramPointLengths = new Int32Array(withHistograms ? n * HISTOGRAMS_PER_SERIES : 0);
    this.#gaugeBytes = new Float64Array(withGauges ? n + 1 : 0);
    this.#counterBytes = new Float64Array(withCounters ? n + 1 : 0);
    this.#histogramBytes = withHistogram.map((isIn) => new Float64Array(isIn ? n + 1 : 0));
    this.#gaugeSeries = new Int32Array(withGauges ? n + 1 : 0);
    const valueLengths = new Int32Array(n * ATTRIBUTES_PER_SERIES);
    let attributeBytes = 0;

    // Pass 1: sizes of every attribute block and data point.
    for (let i = 0; i < n; i++) {
      const s = series[i]!;
      let blockLength = 0;
      for (let a = 0; a < ATTRIBUTES_PER_SERIES; a++) {
        const valueLength = utf8Length(attributeValue(s, a));
        valueLengths[i * ATTRIBUTES_PER_SERIES + a] = valueLength;
        const anyValueLength = 1 + varintLength(valueLength) + valueLength;
        const keyValueLength = ATTRIBUTE_KEY_FIELDS[a]!.length + varintLength(anyValueLength) + anyValueLength;
        blockLength += 1 + varintLength(keyValueLength) + keyValueLength;
      }
      this.#attributeLengths[i] = blockLength;
      attributeBytes += blockLength;

      const flagBytes = s.noRecordedValue ? SMALL_VARINT_FIELD_BYTES : 0;
      if (withNumbers) {
        const numberPointLength = NUMBER_POINT_FIXED_BYTES + blockLength + flagBytes;
        const numberPointField = 1 + varintLength(numberPointLength) + numberPointLength;
        if (withGauges) {
          const hasGauges = s.gauges !== undefined;
          this.#gaugeBytes[i + 1] = this.#gaugeBytes[i]! + (hasGauges ? numberPointField : 0);
          this.#gaugeSeries[i + 1] = this.#gaugeSeries[i]! + (hasGauges ? 1 : 0);
        }
        if (withCounters) this.#counterBytes[i + 1] = this.#counterBytes[i]! + numberPointField;
      }
      for (let h = 0; h < HISTOGRAMS_PER_SERIES; h++) {
        if (!withHistogram[h]) continue;
        const pointLength = histogramPointLength(histogramOf(s, h), blockLength, this.#boundsField.length) + flagBytes;
        this.#histogramPointLengths[i * HISTOGRAMS_PER_SERIES + h] = pointLength;
        const sums = this.#histogramBytes[h]!;
        sums[i + 1] = sums[i]! + 1 + varintLength(pointLength) + pointLength;
      }
    }

    // Each series' attributes, once per tag in use (NumberDataPoint field 7, HistogramDataPoint field 9).
    const copies = (withNumbers ? 1 : 0) + (withHistograms ? 1 : 0);
    this.#attributes = new Writer(attributeBytes * copies);
    this.#attributeStarts = new Int32Array(copies > 0 ? n : 0);
    this.#histogramAttributesSecond = withNumbers;
    const attributes = this.#attributes;
    for (let i = 0; copies > 0 && i < n; i++) {
      const start = attributes.pos;
      this.#attributeStarts[i] = start;
      writeAttributeBlock(attributes, series[i]!, valueLengths, i * ATTRIBUTES_PER_SERIES);
      if (!withHistograms) continue;
      const end = attributes.pos;
      const copy = withNumbers ? end : start;
      if (withNumbers) attributes.bytes.copyWithin(end, start, end);
      // Only the KeyValue tags differ between the two copies.
      for (let at = copy; at < copy + (end - start); ) {
        attributes.bytes[at] = TAG_HISTOGRAM_ATTRIBUTE;
        at = skipLengthDelimited(attributes.bytes, at + 1);
      }
      attributes.pos = copy + (end - start);
    }

    // Per series: counters' start [low, high], histograms' start [low, high], end time [low, high].
    this.#times = new Uint32Array(n * 6);
    for (let i = 0; i < n; i++) {
      const s = series[i]!;
      if (withCounters) hrTimeFromMs(s.countersStartMs, this.#times, i * 6);
      if (withHistograms) hrTimeFromMs(s.histogramsStartMs, this.#times, i * 6 + 2);
      hrTimeFromMs(s.timeMs ?? batch.timeMs, this.#times, i * 6 + 4);
    }
  }

  /** Body length of each metric of #metrics for the series [from, to), and whether the gauges are in. */
  #bodyLengths(from: number, to: number): { lengths: number[]; gauges: boolean } {
    const gauges = this.#withGauges && this.#gaugeSeries[to]! - this.#gaugeSeries[from]! > 0;
    const lengths = this.#metrics.map((definition, m) => {
      switch (definition.kind) {
        case "gauge":
          return this.#gaugeBytes[to]! - this.#gaugeBytes[from]!;
        case "histogram": {
          const sums = this.#histogramBytes[this.#histogramIndex[m]!]!;
          return sums[to]! - sums[from]! + SMALL_VARINT_FIELD_BYTES;
        }
        case "counter":
          return this.#counterBytes[to]! - this.#counterBytes[from]! + 2 * SMALL_VARINT_FIELD_BYTES;
      }
    });
    return { lengths, gauges };
  }

  /** Lengths of the request of series [from, to): scope metrics, resource metrics, whole. */
  #lengths(from: number, to: number) {
    const { lengths, gauges } = this.#bodyLengths(from, to);
    let scopeMetricsLength = SCOPE_FIELD.length;
    if (to > from) {
      for (let m = 0; m < this.#metrics.length; m++) {
        if (this.#metrics[m]!.kind === "gauge" && !gauges) continue;
        const metricLength = this.#headers[m]!.length + varintLength(lengths[m]!) + lengths[m]!;
        scopeMetricsLength += 1 + varintLength(metricLength) + metricLength;
      }
    }
    const resourceMetricsLength = RESOURCE_FIELD.length + 1 + varintLength(scopeMetricsLength) + scopeMetricsLength;
    return { lengths, gauges, scopeMetricsLength, resourceMetricsLength, total: 1 + varintLength(resourceMetricsLength) + resourceMetricsLength };
  }

  /** Bytes of the request carrying series [from, to). */
  size(from: number, to: number): number {
    return this.#lengths(from, to).total;
  }

  /** Pass 2: the request carrying series [from, to), in the SDK's field order. */
  write(from: number, to: number): Uint8Array {
    const series = this.#batch.series;
    const times = this.#times;
    const attributes = this.#attributes;
    const attributeLengths = this.#attributeLengths;
    const attributeStarts = this.#attributeStarts;
    const { lengths: bodyLengths, gauges: withGauges, scopeMetricsLength, resourceMetricsLength, total } = this.#lengths(from, to);
    const out = new Writer(total);
    out.byte(TAG_1_LEN);
    out.varint(resourceMetricsLength);
    out.copy(RESOURCE_FIELD);
    out.byte(TAG_2_LEN);
    out.varint(scopeMetricsLength);
    out.copy(SCOPE_FIELD);
    const temporality = this.#batch.temporality === "delta" ? TEMPORALITY_DELTA : TEMPORALITY_CUMULATIVE;
    for (let m = 0; to > from && m < this.#metrics.length; m++) {
      const definition = this.#metrics[m]!;
      if (definition.kind === "gauge" && !withGauges) continue;
      const header = this.#headers[m]!;
      const bodyLength = bodyLengths[m]!;
      out.byte(TAG_2_LEN);
      out.varint(header.length + varintLength(bodyLength) + bodyLength);
      out.copy(header);
      out.varint(bodyLength);
      switch (definition.kind) {
        case "gauge":
          for (let i = from; i < to; i++) {
            const gauges = series[i]!.gauges;
            if (gauges === undefined) continue;
            const blockLength = attributeLengths[i]!;
            const flagged = series[i]!.noRecordedValue === true;
            out.byte(TAG_1_LEN);
            out.varint(NUMBER_POINT_FIXED_BYTES + blockLength + (flagged ? SMALL_VARINT_FIELD_BYTES : 0));
            out.byte(TAG_START_TIME);
            out.fixed64(times[i * 6 + 4]!, times[i * 6 + 5]!);
            out.byte(TAG_TIME);
            out.fixed64(times[i * 6 + 4]!, times[i * 6 + 5]!);
            out.byte(TAG_AS_DOUBLE);
            out.double(gauges[definition.field]);
            out.copyFrom(attributes.bytes, attributeStarts[i]!, blockLength);
            if (flagged) {
              out.byte(TAG_NUMBER_FLAGS);
              out.byte(FLAG_NO_RECORDED_VALUE);
            }
          }
          break;
        case "histogram": {
          const h = this.#histogramIndex[m]!;
          const histogramAttributes = this.#histogramAttributesSecond;
          for (let i = from; i < to; i++) {
            const values = histogramOf(series[i]!, h);
            const blockLength = attributeLengths[i]!;
            out.byte(TAG_1_LEN);
            out.varint(this.#histogramPointLengths[i * HISTOGRAMS_PER_SERIES + h]!);
            out.byte(TAG_START_TIME);
            out.fixed64(times[i * 6 + 2]!, times[i * 6 + 3]!);
            out.byte(TAG_TIME);
            out.fixed64(times[i * 6 + 4]!, times[i * 6 + 5]!);
            out.byte(TAG_COUNT);
            out.fixed64(values.count >>> 0, (values.count / TWO_POW_32) >>> 0);
            out.byte(TAG_HISTOGRAM_SUM);
            out.double(values.sum);
            const counts = values.bucketCounts;
            if (counts.length > 0) {
              out.byte(TAG_BUCKET_COUNTS);
              out.varint(counts.length * 8);
              for (let b = 0; b < counts.length; b++) {
                const count = counts[b]!;
                out.fixed64(count >>> 0, (count / TWO_POW_32) >>> 0);
              }
            }
            out.copy(this.#boundsField);
            out.copyFrom(attributes.bytes, attributeStarts[i]! + (histogramAttributes ? blockLength : 0), blockLength);
            if (series[i]!.noRecordedValue) {
              out.byte(TAG_HISTOGRAM_FLAGS);
              out.byte(FLAG_NO_RECORDED_VALUE);
            }
            if (values.min !== undefined) {
              out.byte(TAG_MIN);
              out.double(values.min);
            }
            if (values.max !== undefined) {
              out.byte(TAG_MAX);
              out.double(values.max);
            }
          }
          out.byte(TAG_TEMPORALITY);
          out.byte(temporality);
          break;
        }
        case "counter":
          for (let i = from; i < to; i++) {
            const blockLength = attributeLengths[i]!;
            const flagged = series[i]!.noRecordedValue === true;
            out.byte(TAG_1_LEN);
            out.varint(NUMBER_POINT_FIXED_BYTES + blockLength + (flagged ? SMALL_VARINT_FIELD_BYTES : 0));
            out.byte(TAG_START_TIME);
            out.fixed64(times[i * 6]!, times[i * 6 + 1]!);
            out.byte(TAG_TIME);
            out.fixed64(times[i * 6 + 4]!, times[i * 6 + 5]!);
            out.byte(TAG_AS_INT);
            out.sfixed64(series[i]![definition.field]);
            out.copyFrom(attributes.bytes, attributeStarts[i]!, blockLength);
            if (flagged) {
              out.byte(TAG_NUMBER_FLAGS);
              out.byte(FLAG_NO_RECORDED_VALUE);
            }
          }
          out.byte(TAG_TEMPORALITY);
          out.byte(temporality);
          out.byte(TAG_IS_MONOTONIC);
          out.byte(1);
          break;
      }
    }
    if (out.pos !== total) throw new Error(`protobuf encoder sized ${total} bytes but wrote ${out.pos}`);
    return out.bytes;
  }
}

function histogramOf(series: ExportSeries, h: number): HistogramValues {
  return series[HISTOGRAM_FIELDS[h]!];
}

function attributeValue(series: ExportSeries, a: number): string {
  switch (a) {
    case 0:
      return series.projectId;
    case 1:
      return series.appId;
    case 2:
      return series.appName;
    default:
      return series.region;
  }
}

function histogramPointLength(values: HistogramValues, attributeBlockLength: number, boundsFieldLength: number): number {
  const countsLength = values.bucketCounts.length * 8;
  return (
    HISTOGRAM_POINT_FIXED_BYTES +
    (countsLength > 0 ? 1 + varintLength(countsLength) + countsLength : 0) +
    boundsFieldLength +
    attributeBlockLength +
    (values.min !== undefined ? FIXED_FIELD_BYTES : 0) +
    (values.max !== undefined ? FIXED_FIELD_BYTES : 0)
  );
}

/** Four `NumberDataPoint.attributes` KeyValue fields with string values. */
function writeAttributeBlock(w: Writer, series: ExportSeries, valueLengths: Int32Array, first: number): void {
  for (let a = 0; a < ATTRIBUTES_PER_SERIES; a++) {
    const key = ATTRIBUTE_KEY_FIELDS[a]!;
    const valueLength = valueLengths[first + a]!;
    const anyValueLength = 1 + varintLength(valueLength) + valueLength;
    w.byte(TAG_NUMBER_ATTRIBUTE);
    w.varint(key.length + varintLength(anyValueLength) + anyValueLength);
    w.copy(key);
    w.varint(anyValueLength);
    w.byte(TAG_1_LEN);
    w.varint(valueLength);
    w.utf8(attributeValue(series, a), valueLength);
  }
}

function skipLengthDelimited(bytes: Uint8Array, at: number): number {
  let length = 0;
  let shift = 0;
  let b: number;
  do {
    b = bytes[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return at + length;
}

/**
 * Unix ms → fixed64 nanoseconds as [low, high] 32-bit words, the way the SDK gets there
 * (`millisToHrTime`, then seconds × 1e9 + nanoseconds), without leaving exact double arithmetic:
 * ms × 1e6 exceeds 2^53 for today's dates.
 */
function hrTimeFromMs(ms: number, into: Uint32Array, at: number): void {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms % 1000) * 1e6);
  const secondsLow = seconds % 65536;
  const high = ((seconds - secondsLow) / 65536) * 1e9; // × 2^16 still to apply
  const low = secondsLow * 1e9 + nanos;
  const lowSum = (high % 65536) * 65536 + (low % TWO_POW_32);
  into[at] = lowSum >>> 0;
  into[at + 1] = Math.floor(high / 65536) + Math.floor(low / TWO_POW_32) + Math.floor(lowSum / TWO_POW_32);
}

function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** UTF-8 length as TextEncoder produces it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2;
      i++;
    } else length += 2;
  }
  return length;
}

class Writer {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  pos = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.#view = new DataView(this.bytes.buffer);
  }

  byte(value: number): void {
    this.bytes[this.pos++] = value;
  }

  varint(value: number): void {
    while (value > 0x7f) {
      this.bytes[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[this.pos++] = value;
  }

  fixed64(low: number, high: number): void {
    this.#view.setUint32(this.pos, low, true);
    this.#view.setUint32(this.pos + 4, high, true);
    this.pos += 8;
  }

  /** As the SDK's `writeSfixed64`: two's complement for negatives, integer part of fractions. */
  sfixed64(value: number): void {
    if (value >= 0) {
      this.fixed64(value >>> 0, (value / TWO_POW_32) >>> 0);
      return;
    }
    const magnitude = Math.abs(value);
    const low = (~(magnitude >>> 0) + 1) >>> 0;
    let high = ~((magnitude / TWO_POW_32) >>> 0) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
    this.fixed64(low, high);
  }

  double(value: number): void {
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  copy(source: Uint8Array): void {
    this.bytes.set(source, this.pos);
    this.pos += source.length;
  }

  copyFrom(source: Uint8Array, start: number, length: number): void {
    this.bytes.set(source.subarray(start, start + length), this.pos);
    this.pos += length;
  }

  utf8(text: string, byteLength: number): void {
    if (byteLength === text.length) {
      const bytes = this.bytes;
      let pos = this.pos;
      for (let i = 0; i < text.length; i++) bytes[pos++] = text.charCodeAt(i);
      this.pos = pos;
    } else {
      textEncoder.encodeInto(text, this.bytes.subarray(this.pos, this.pos + byteLength));
      this.pos += byteLength;
    }
  }
}

function metricHeader(definition: MetricDefinition): Uint8Array {
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

function stringField(tag: number, text: string): Uint8Array {
  return lengthDelimitedField(tag, textEncoder.encode(text));
}

function lengthDelimitedField(tag: number, content: Uint8Array): Uint8Array {
  const w = new Writer(1 + varintLength(content.length) + content.length);
  w.byte(tag);
  w.varint(content.length);
  w.copy(content);
  return w.bytes;
}

function packedDoubles(tag: number, values: readonly number[]): Uint8Array {
  const w = new Writer(1 + varintLength(values.length * 8) + values.length * 8);
  w.byte(tag);
  w.varint(values.length * 8);
  for (const value of values) w.double(value);
  return w.bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const w = new Writer(parts.reduce((sum, part) => sum + part.length, 0));
  for (const part of parts) w.copy(part);
  return w.bytes;
}

// Constant parts, encoded once (after the helpers above: `Writer` is not hoisted).

/** `Resource{attributes: [service.name], dropped_attributes_count: 0}` as the ResourceMetrics.resource field. */
const RESOURCE_FIELD = lengthDelimitedField(
  TAG_1_LEN,
  concat(
    lengthDelimitedField(TAG_1_LEN, keyValue("service.name", SERVICE_NAME)),
    // The SDK writes the zero count explicitly; byte-identity means we do too.
    Uint8Array.of(TAG_DROPPED_ATTRIBUTES_COUNT, 0),
  ),
);
/** `InstrumentationScope{name, version}` as the ScopeMetrics.scope field. */
const SCOPE_FIELD = lengthDelimitedField(
  TAG_1_LEN,
  concat(stringField(TAG_1_LEN, SCOPE_NAME), SCOPE_VERSION ? stringField(TAG_2_LEN, SCOPE_VERSION) : new Uint8Array(0)),
);
/** Per metric: name, description, unit, then the tag of its gauge/sum/histogram field (its length follows). */
const METRIC_HEADERS = new Map(METRICS.map((definition) => [definition, metricHeader(definition)]));
/** Per attribute: `KeyValue.key` field plus the tag of `KeyValue.value`. */
const ATTRIBUTE_KEY_FIELDS = ATTRIBUTE_KEYS.map((key) => concat(stringField(TAG_1_LEN, key), Uint8Array.of(TAG_2_LEN)));
const HISTOGRAM_FIELDS = METRICS.flatMap((definition) => (definition.kind === "histogram" ? [definition.field] : []));
