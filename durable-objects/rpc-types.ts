/** What the ProjectExporter's RPC methods answer (shared with the worker's routes). */
import type { Classification } from "../src/export/classify";
import type { ExportView } from "../src/export/view";
import type { SampleRejection } from "../src/validation/samples";

export interface IngestResult {
  accepted: number;
  duplicate: boolean;
  /** All of this batch's rejections; for a duplicate, at most MAX_STORED_REJECTIONS of them. */
  rejected: SampleRejection[];
  rejectedCount: number;
}

/** GET …/preview: what the next push would carry, bounded. */
export interface Preview {
  series: number;
  data_points: number;
  shown_series: number;
  truncated: boolean;
  /** The OTLP/JSON request of the first `shown_series` series (parsed: an ExportMetricsServiceRequest). */
  request: { resourceMetrics: object[] };
}

/** Storage and cost figures for operators and benchmarks (GET /v1/projects/{id}/stats). */
export interface StorageStats {
  database_size_bytes: number;
  series: number;
  host_reports: number;
  batches: number;
  last_ingest: { samples: number; series_touched: number; rows_written: number; duration_ms: number } | null;
  /** The last compaction of changed series and host states into their rows. */
  last_compaction: { batches: number; series: number; hosts: number; rows_written: number; duration_ms: number } | null;
  last_push: {
    series: number;
    requests: number;
    rows_written: number;
    timings_ms: { snapshot: number; encode: number; gzip: number; send: number; storage: number };
  } | null;
  /** Rows written since this instance started, by what the object was doing. */
  rows_written_total: { ingest: number; push: number; housekeeping: number; config: number; all: number };
}

export type { ConnectionTestResult } from "../src/export/connection-test";

export interface FlushResult {
  ok: boolean;
  requests: number;
  attempts: number;
  data_points: number;
  bytes: number;
  duration_ms: number;
  error?: { http_status: number | null; classification: Classification; message: string; hint: string };
  /** The configuration changed while the push ran: it stopped, and its outcome was not recorded. */
  abandoned?: true;
}

export type SaveResult = ExportView & { warnings: string[] };

