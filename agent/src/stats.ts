/**
 * The agent's own counters and gauges, rendered as Prometheus text on `GET /metrics`
 * (exposition format 0.0.4: `# HELP`, `# TYPE`, one line per sample).
 */
import type { GpuDevice } from "./readings/nvidia-smi-csv";

export type DropReason = "rejected" | "too_old" | "spool_full" | "io_error";
export const DROP_REASONS: readonly DropReason[] = ["rejected", "too_old", "spool_full", "io_error"];
export type SkipReason = "cgroup" | "proc" | "gpu";
const SKIP_REASONS: readonly SkipReason[] = ["cgroup", "proc", "gpu"];

export class Stats {
  runsAccepted = 0;
  runsInvalid = 0;
  runRequestsRefused = 0;
  readings = 0;
  readingsSkipped: Record<SkipReason, number> = { cgroup: 0, proc: 0, gpu: 0 };
  nvidiaSmiFailures = 0;
  batchesSealed = 0;
  batchesSent = 0;
  batchesDuplicate = 0;
  attemptsFailed = 0;
  batchesDropped: Record<DropReason, number> = { rejected: 0, too_old: 0, spool_full: 0, io_error: 0 };
  samplesDropped: Record<DropReason, number> = { rejected: 0, too_old: 0, spool_full: 0, io_error: 0 };
  runsDropped: Record<DropReason, number> = { rejected: 0, too_old: 0, spool_full: 0, io_error: 0 };
  samplesAcceptedByEdge = 0;
  samplesRejectedByEdge = new Map<string, number>();
  lastSuccessMs: number | null = null;
  containersMapped = 0;
  containersUnmapped = 0;
  containersInvalid = 0;
  gpuProcessesUnmapped = 0;
  devices: GpuDevice[] = [];

  /** A batch deleted (or never written) undelivered. */
  dropped(reason: DropReason, batch: { samples: number; runs: number }): void {
    this.batchesDropped[reason] += 1;
    this.samplesDropped[reason] += batch.samples;
    this.runsDropped[reason] += batch.runs;
  }
}

export interface Gauges {
  spoolBatches: number;
  spoolBytes: number;
  spoolMaxBytes: number;
  pendingSamples: number;
}

type Labels = Record<string, string | number>;
const PREFIX = "metrics_export_agent_";

function escape(value: string | number): string {
  return String(value).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function family(name: string, type: "counter" | "gauge", help: string, samples: [Labels, number][]): string {
  const lines = [`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",");
    lines.push(`${PREFIX}${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : "NaN"}`);
  }
  return lines.join("\n");
}

const one = (value: number): [Labels, number][] => [[{}, value]];

export function renderMetrics(s: Stats, g: Gauges): string {
  const rejectedCodes = [...s.samplesRejectedByEdge].map(([code, n]): [Labels, number] => [{ code }, n]);
  const devices = (pick: (d: GpuDevice) => number | null) =>
    s.devices.flatMap((d): [Labels, number][] => (pick(d) === null ? [] : [[{ gpu: d.index, uuid: d.uuid }, pick(d)!]]));
  return (
    [
      family("spool_batches", "gauge", "Batches in the spool, not yet delivered.", one(g.spoolBatches)),
      family("spool_bytes", "gauge", "Bytes of the batches in the spool.", one(g.spoolBytes)),
      family("spool_max_bytes", "gauge", "The spool's size cap.", one(g.spoolMaxBytes)),
      family("pending_samples", "gauge", "Samples in memory, not yet sealed into a spooled batch.", one(g.pendingSamples)),
      family("batches_sealed_total", "counter", "Batches written to the spool.", one(s.batchesSealed)),
      family("batches_sent_total", "counter", "Batches the edge answered with 2xx (duplicates included).", one(s.batchesSent)),
      family("batches_duplicate_total", "counter", "Batches the edge answered with duplicate: true (an earlier send had been applied).", one(s.batchesDuplicate)),
      family("batches_failed_total", "counter", "Failed delivery attempts (network, timeout, 5xx, 401/403/404/429); the batch was kept for a retry.", one(s.attemptsFailed)),
      family("batches_dropped_total", "counter", "Batches deleted undelivered, by reason.", DROP_REASONS.map((reason) => [{ reason }, s.batchesDropped[reason]])),
      family("samples_dropped_total", "counter", "Samples in batches deleted undelivered, by reason.", DROP_REASONS.map((reason) => [{ reason }, s.samplesDropped[reason]])),
      family("runs_dropped_total", "counter", "Runs in batches deleted undelivered, by reason (never counted at the edge).", DROP_REASONS.map((reason) => [{ reason }, s.runsDropped[reason]])),
      family("samples_accepted_total", "counter", "Samples the edge accepted (first sends only).", one(s.samplesAcceptedByEdge)),
      family("samples_rejected_total", "counter", "Samples the edge rejected one by one, by its code.", rejectedCodes),
      family("last_success_timestamp_seconds", "gauge", "When the edge last answered 2xx (Unix seconds; 0 before the first).", one((s.lastSuccessMs ?? 0) / 1000)),
      family("runs_received_total", "counter", "Runs accepted on POST /runs.", one(s.runsAccepted)),
      family("runs_invalid_total", "counter", "Runs rejected on POST /runs by the edge's validation rules.", one(s.runsInvalid)),
      family("run_requests_refused_total", "counter", "POST /runs requests answered 503 because the spool was full or the agent was stopping.", one(s.runRequestsRefused)),
      family("readings_total", "counter", "Readings of the host taken.", one(s.readings)),
      family("readings_skipped_total", "counter", "Values left out of a reading, by source.", SKIP_REASONS.map((reason) => [{ reason }, s.readingsSkipped[reason]])),
      family("nvidia_smi_failures_total", "counter", "Readings in which nvidia-smi was missing, failed or timed out.", one(s.nvidiaSmiFailures)),
      family("containers", "gauge", "Containers at the last reading: mapped, unmapped (ignored) or invalid (a name the edge refuses).", [
        [{ state: "mapped" }, s.containersMapped],
        [{ state: "unmapped" }, s.containersUnmapped],
        [{ state: "invalid" }, s.containersInvalid],
      ]),
      family("gpu_processes_unmapped", "gauge", "GPU processes in no known container at the last reading.", one(s.gpuProcessesUnmapped)),
      family("gpu_utilization_percent", "gauge", "utilization.gpu of each device at the last reading.", devices((d) => d.utilizationPercent)),
      family("gpu_memory_used_bytes", "gauge", "memory.used of each device at the last reading.", devices((d) => d.memoryUsedBytes)),
      family("gpu_memory_total_bytes", "gauge", "memory.total of each device.", devices((d) => d.memoryTotalBytes)),
    ].join("\n") + "\n"
  );
}
