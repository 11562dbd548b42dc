/** The JSON body of GET …/metrics-export (and of each export in the collection): configuration without header values, and status. */
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "./metric-definitions";
import { exportState, type ExportState, type ExportStatus, type StoredConfig } from "./status";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What one push of an export carries after its filters: a cardinality estimate before the bill. */
export interface PerPush {
  series: number;
  data_points: number;
}

export interface ExportView {
  /** null: the project has no export (the singular routes' unconfigured answer). */
  export_id: string | null;
  name: string | null;
  configured: boolean;
  enabled: boolean;
  destination: string | null;
  endpoint: string | null;
  headers: { name: string }[];
  protocol: string | null;
  compression: string | null;
  temporality: string | null;
  histogram_bounds_ms: number[];
  filters: StoredConfig["filters"];
  /** Learnt from 413 answers: pushes are split below this many bytes (null: the destination's known limit). */
  body_limit_bytes: number | null;
  per_push: PerPush;
  status: {
    state: ExportState;
    last_success_at: string | null;
    last_attempt_at: string | null;
    last_error: { at: string; http_status: number | null; classification: string; message: string; hint: string } | null;
    consecutive_failures: number;
    paused_at: string | null;
    next_push_at: string | null;
    warning: string | null;
    totals: {
      pushes_succeeded: number;
      pushes_failed: number;
      retries: number;
      data_points_sent: number;
      bytes_sent: number;
      last_push_duration_ms: number | null;
    };
  };
}

export function exportView(exportId: string | null, config: StoredConfig | null, headerNames: string[], status: ExportStatus, perPush: PerPush): ExportView {
  const e = status.lastError;
  return {
    export_id: exportId,
    name: config?.name ?? null,
    configured: config !== null,
    enabled: config?.enabled ?? false,
    destination: config?.destination ?? null,
    endpoint: config?.endpoint ?? null,
    headers: headerNames.map((name) => ({ name })),
    protocol: config?.protocol ?? null,
    compression: config?.compression ?? null,
    temporality: config?.temporality ?? null,
    histogram_bounds_ms: (config?.histogramBoundsMs ?? DEFAULT_HISTOGRAM_BOUNDS_MS).slice(),
    filters: config?.filters ?? null,
    body_limit_bytes: config?.bodyLimitBytes ?? null,
    per_push: perPush,
    status: {
      state: exportState(config, status),
      last_success_at: iso(status.lastSuccessAt),
      last_attempt_at: iso(status.lastAttemptAt),
      last_error: e
        ? { at: iso(e.at)!, http_status: e.httpStatus, classification: e.classification, message: e.message, hint: e.hint }
        : null,
      consecutive_failures: status.consecutiveFailures,
      paused_at: iso(status.pausedAt),
      next_push_at: config?.enabled && status.pausedAt === null ? iso(status.nextPushAt) : null,
      warning: status.warning,
      totals: {
        pushes_succeeded: status.totals.pushesSucceeded,
        pushes_failed: status.totals.pushesFailed,
        retries: status.totals.retries,
        data_points_sent: status.totals.dataPointsSent,
        bytes_sent: status.totals.bytesSent,
        last_push_duration_ms: status.totals.lastPushDurationMs,
      },
    },
  };
}
