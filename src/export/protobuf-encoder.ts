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
 * The field tags and the parts every push shares are ./otlp-fields.ts; the wire format itself
 * (Writer, varints, lengths) is ./protobuf-wire.ts.
 */
import { METRICS, type MetricDefinition } from "./metric-definitions";
import { ATTRIBUTE_KEY_FIELDS, FLAG_NO_RECORDED_VALUE, HISTOGRAM_FIELDS, METRIC_HEADERS, RESOURCE_FIELD, SCOPE_FIELD, TAG_1_LEN, TAG_2_LEN, TAG_AS_DOUBLE, TAG_AS_INT, TAG_BUCKET_COUNTS, TAG_COUNT, TAG_EXPLICIT_BOUNDS, TAG_HISTOGRAM_ATTRIBUTE, TAG_HISTOGRAM_FLAGS, TAG_HISTOGRAM_SUM, TAG_IS_MONOTONIC, TAG_MAX, TAG_MIN, TAG_NUMBER_ATTRIBUTE, TAG_NUMBER_FLAGS, TAG_START_TIME, TAG_TEMPORALITY, TAG_TIME, TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA, metricHeader } from "./otlp-fields";
import type { ExportBatch, ExportSeries, HistogramValues } from "./model";
import { concat, hrTimeFromMs, lengthDelimitedField, packedDoubles, skipLengthDelimited, stringField, TWO_POW_32, utf8Length, varintLength, Writer } from "./protobuf-wire";

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
