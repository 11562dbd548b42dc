/** Structured logs (one line a minute for repeating errors) and the Prometheus text of GET /metrics. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log";
import { renderMetrics, Stats } from "../../src/stats";

describe("logger", () => {
  it("writes one JSON object per line at or above its level", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(l), nowMs: () => Date.UTC(2026, 10, 26) });
    log.debug("hidden");
    log.info("batch_rejected", { status: 400 });
    expect(lines).toEqual(['{"time":"2026-11-26T00:00:00.000Z","level":"info","event":"batch_rejected","status":400}\n']);
  });

  it("everyMinute: once per key per minute, then says how many it left out", () => {
    const lines: string[] = [];
    const clock = { ms: 0 };
    const log = createLogger({ level: "info", write: (l) => lines.push(l), nowMs: () => clock.ms });
    for (let s = 0; s < 150; s += 15) {
      clock.ms = s * 1000;
      log.everyMinute("warn", "nvidia", "nvidia_smi_unavailable", { kind: "missing" });
      log.everyMinute("warn", "edge", "delivery_failed");
    }
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e.event === "nvidia_smi_unavailable").map((e) => [e.time, e.suppressed_since_last])).toEqual([
      ["1970-01-01T00:00:00.000Z", undefined],
      ["1970-01-01T00:01:00.000Z", 3],
      ["1970-01-01T00:02:00.000Z", 3],
    ]);
    expect(events.filter((e) => e.event === "delivery_failed")).toHaveLength(3);
  });
});

describe("renderMetrics", () => {
  it("Prometheus text: HELP and TYPE per family, labelled samples, spool gauges", () => {
    const s = new Stats();
    s.batchesSent = 12;
    s.batchesDropped.spool_full = 2;
    s.samplesRejectedByEdge.set("unknown_project", 5);
    s.lastSuccessMs = 1_795_687_200_500;
    s.readingsSkipped.gpu = 3;
    s.devices = [{ index: 0, uuid: "GPU-x", utilizationPercent: 100, memoryUsedBytes: 2048, memoryTotalBytes: null }];
    const text = renderMetrics(s, { spoolBatches: 4, spoolBytes: 9000, spoolMaxBytes: 10_000, pendingSamples: 7 });
    const lines = text.split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "# HELP metrics_export_agent_spool_batches Batches in the spool, not yet delivered.",
        "# TYPE metrics_export_agent_spool_batches gauge",
        "metrics_export_agent_spool_batches 4",
        "metrics_export_agent_spool_bytes 9000",
        "metrics_export_agent_pending_samples 7",
        "# TYPE metrics_export_agent_batches_sent_total counter",
        "metrics_export_agent_batches_sent_total 12",
        'metrics_export_agent_batches_dropped_total{reason="spool_full"} 2',
        'metrics_export_agent_batches_dropped_total{reason="too_old"} 0',
        'metrics_export_agent_samples_rejected_total{code="unknown_project"} 5',
        "metrics_export_agent_last_success_timestamp_seconds 1795687200.5",
        'metrics_export_agent_readings_skipped_total{reason="gpu"} 3',
        'metrics_export_agent_gpu_utilization_percent{gpu="0",uuid="GPU-x"} 100',
        'metrics_export_agent_gpu_memory_used_bytes{gpu="0",uuid="GPU-x"} 2048',
      ]),
    );
    // A value the device did not report is left out, not written as 0.
    expect(lines.filter((l) => l.startsWith("metrics_export_agent_gpu_memory_total_bytes"))).toEqual([]);
    expect(text.endsWith("\n")).toBe(true);
    for (const line of lines.filter((l) => l && !l.startsWith("#"))) expect(line).toMatch(/^metrics_export_agent_[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
  });
});
