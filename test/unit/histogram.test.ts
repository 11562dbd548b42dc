import { describe, expect, it } from "vitest";
import { bucketIndex, cumulativeValues, deltaValues, emptyHistogram, observe } from "../../src/aggregation/histogram";

const DEFAULT = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000];

describe("histogram buckets follow the OTLP rule bounds[i-1] < v <= bounds[i]", () => {
  const cases: [number, number][] = [];
  DEFAULT.forEach((bound, i) => {
    cases.push([bound, i]); // at the bound: that bucket
    cases.push([bound - 0.001, i]); // just below: same bucket
    cases.push([bound + 0.001, i + 1]); // just above: next bucket
  });
  cases.push([0, 0], [700000, 16], [Number.MAX_SAFE_INTEGER, 16]);
  it.each(cases)("value %d goes to bucket %d", (value, expected) => {
    expect(bucketIndex(DEFAULT, value)).toBe(expected);
    const h = emptyHistogram(DEFAULT.length);
    observe(h, DEFAULT, value);
    expect(h.buckets[expected]).toBe(1);
    expect(h.buckets.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("keeps count, sum, min and max", () => {
    const h = emptyHistogram(3);
    for (const v of [7, 1, 12.5, 3]) observe(h, [2, 5, 10], v);
    expect(h).toEqual({ count: 4, sum: 23.5, min: 1, max: 12.5, buckets: [1, 1, 1, 1] });
    expect(cumulativeValues(h)).toEqual({ count: 4, sum: 23.5, min: 1, max: 12.5, bucketCounts: [1, 1, 1, 1] });
  });

  it("an empty cumulative point has no min or max", () => {
    expect(cumulativeValues(emptyHistogram(2))).toEqual({ count: 0, sum: 0, bucketCounts: [0, 0, 0] });
  });

  it("delta values subtract the baseline and carry no min/max", () => {
    const base = emptyHistogram(2);
    observe(base, [10, 20], 5);
    const now = { ...base, buckets: base.buckets.slice() };
    observe(now, [10, 20], 15);
    observe(now, [10, 20], 25);
    expect(deltaValues(now, base)).toEqual({ count: 2, sum: 40, bucketCounts: [0, 1, 1] });
    expect(deltaValues(now, undefined)).toEqual({ count: 3, sum: 45, bucketCounts: [1, 1, 1] });
  });
});
