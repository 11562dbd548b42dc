/**
 * Splitting a push for a size limit: every part within the limit, cut only between series (a
 * series' points stay together), each part byte-identical to encoding its series alone (so, by
 * protobuf-encoder.test.ts, to the SDK serializer), and nothing lost or repeated.
 */
import { describe, expect, it } from "vitest";
import { encodeInChunks } from "../../src/export/encode-push";
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "../../src/export/metric-definitions";
import type { ExportBatch, ExportSeries } from "../../src/export/model";
import { encodeExportBatch } from "../../src/export/protobuf-encoder";
import { serializeJson } from "../../src/export/resource-metrics";

const NOW = Date.UTC(2026, 11, 1);
const BOUNDS = [...DEFAULT_HISTOGRAM_BOUNDS_MS];
const hist = (n: number) => ({ count: n, sum: n * 3, bucketCounts: Array.from({ length: BOUNDS.length + 1 }, (_, i) => (i === 0 ? n : 0)) });

function point(i: number, timeMs?: number, gauges = true): ExportSeries {
  return {
    projectId: "p-split",
    appId: `p-split-app-${i}`,
    appName: `app-${i}`,
    region: "us-east-1",
    ...(timeMs === undefined ? {} : { timeMs }),
    ...(gauges ? { gauges: { cpuCores: i, memoryBytes: 1, gpuMemoryBytes: 2, gpuComputePercent: 3, containersRunning: 4, containersReady: 5 } } : {}),
    countersStartMs: NOW - 60_000,
    runs: i,
    successes: i,
    errors: 0,
    histogramsStartMs: NOW - 60_000,
    execution: hist(i),
    queue: hist(1),
    coldstart: hist(0),
    response: hist(i),
  };
}

// 300 series; every tenth carries two earlier delta intervals before its latest point.
const series: ExportSeries[] = Array.from({ length: 300 }, (_, i) =>
  i % 10 === 0 ? [point(i, NOW - 120_000, false), point(i, NOW - 60_000, false), point(i)] : [point(i)],
).flat();
const batch: ExportBatch = { timeMs: NOW, temporality: "delta", bounds: BOUNDS, series };

describe("encodeInChunks", () => {
  it.each([["http/protobuf", 40_000] as const, ["http/json", 120_000] as const])("%s under %i bytes", (protocol, limit) => {
    const chunks = encodeInChunks(batch, protocol, limit);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.body.byteLength).toBeLessThanOrEqual(limit);
      const alone = protocol === "http/protobuf" ? encodeExportBatch({ ...batch, series: c.series }) : serializeJson({ ...batch, series: c.series });
      expect(c.body).toEqual(alone);
    }
    expect(chunks.flatMap((c) => c.series)).toEqual(series);
    // A series is never cut: its key is in exactly one chunk.
    const keys = chunks.flatMap((c) => c.keys);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(300);
  });

  it("a body under the limit is one chunk, identical to encoding the whole batch", () => {
    const [only, ...rest] = encodeInChunks(batch, "http/protobuf", 64 * 1024 * 1024);
    expect(rest).toEqual([]);
    expect(only!.body).toEqual(encodeExportBatch(batch));
    expect(only!.dataPoints).toBe(300 * 13 + 30 * 2 * 7);
  });

  it("a single series larger than the limit goes alone; an empty batch is one empty request", () => {
    const chunks = encodeInChunks(batch, "http/protobuf", 100);
    expect(chunks).toHaveLength(300);
    expect(encodeInChunks({ ...batch, series: [] }, "http/protobuf", 100).map((c) => c.series)).toEqual([[]]);
  });
});
