/**
 * Explicit-bucket histograms with the OTLP bucket rule: bucket i counts values v with
 * bounds[i-1] < v <= bounds[i]; the last bucket counts v > bounds[n-1]
 * (opentelemetry-proto metrics.proto, HistogramDataPoint.explicit_bounds).
 */
import type { HistogramValues } from "../export/model";

export interface Histogram {
  count: number;
  sum: number;
  /** +Infinity / -Infinity while empty. */
  min: number;
  max: number;
  /** bounds.length + 1 entries. */
  buckets: number[];
}

export function emptyHistogram(boundCount: number): Histogram {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array<number>(boundCount + 1).fill(0) };
}

/** Index of the bucket a value falls in: the first bound >= value (binary search). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function observe(h: Histogram, bounds: readonly number[], value: number): void {
  h.count += 1;
  h.sum += value;
  if (value < h.min) h.min = value;
  if (value > h.max) h.max = value;
  h.buckets[bucketIndex(bounds, value)]! += 1;
}

export function cloneHistogram(h: Histogram): Histogram {
  return { count: h.count, sum: h.sum, min: h.min, max: h.max, buckets: h.buckets.slice() };
}

/** Cumulative point: min/max only when there were observations. */
export function cumulativeValues(h: Histogram): HistogramValues {
  const values: HistogramValues = { count: h.count, sum: h.sum, bucketCounts: h.buckets.slice() };
  if (h.count > 0) {
    values.min = h.min;
    values.max = h.max;
  }
  return values;
}

/**
 * Delta point: what `current` holds beyond `baseline`. min/max are not derivable from two
 * cumulative snapshots, so delta points leave them out (they are optional in OTLP).
 */
export function deltaValues(current: Histogram, baseline: Histogram | undefined): HistogramValues {
  if (!baseline || baseline.buckets.length !== current.buckets.length) {
    return { count: current.count, sum: current.sum, bucketCounts: current.buckets.slice() };
  }
  return {
    count: current.count - baseline.count,
    sum: current.sum - baseline.sum,
    bucketCounts: current.buckets.map((c, i) => c - baseline.buckets[i]!),
  };
}
