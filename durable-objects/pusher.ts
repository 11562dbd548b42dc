/**
 * Pushes of one export (one Pusher per export id; exports never wait for each other): what a push carries (cumulative values, or delta intervals from the delta
 * journal; ended series flagged NoRecordedValue), one push at a time (a push asked for while one
 * runs for the current configuration joins it), abandoned when the configuration changes, and
 * what each request's outcome leaves in the journal and the status.
 */
import { computeGauges } from "../src/aggregation/gauges";
import { cumulativeSeries, seriesKey, seriesLabels, type SeriesState, type Snapshot } from "../src/aggregation/series";
import { describeFailure } from "../src/export/classify";
import { compileFilters } from "../src/export/filters";
import { deltaSeries } from "../src/export/delta";
import { dataPointCount, distinctSeries, encodeInChunks } from "../src/export/encode-push";
import { presetMaxBodyBytes } from "../src/export/presets";
import type { ExportBatch, ExportSeries, HistogramValues } from "../src/export/model";
import { emptySummary, emptyTimings, sendPush, type PushPort } from "../src/export/push";
import { serializeJson } from "../src/export/resource-metrics";
import type { SendFailure } from "../src/export/send-outcome";
import { recordPush, type ExportStatus, type PushSummary, type StoredConfig } from "../src/export/status";
import { realTransport } from "../src/export/transport";
import { metricsUrl } from "../src/export/url";
import type { Settings } from "../src/settings";
import { checkEndpoint } from "../src/validation/endpoint";
import type { Aggregation } from "./aggregation";
import { originOf, type Credentials, type OpenHeader, type Resolution } from "./credentials";
import type { DeltaJournal } from "./delta-journal";
import type { EndingSeries } from "./ending-series";
import type { RowMeter, WriteCategory } from "./row-meter";
import type { Preview, StorageStats } from "./rpc-types";
import type { ProjectStore } from "./store";

export const DEFAULT_PREVIEW_SERIES = 20;
export const MAX_PREVIEW_SERIES = 100;

export interface PusherDeps {
  exportId: string;
  store: ProjectStore;
  aggregation: Aggregation;
  journal: DeltaJournal;
  credentials: Credentials;
  meter: RowMeter;
  ending: EndingSeries;
  /** The project's bucket bounds (one aggregation for every export). */
  bounds: () => readonly number[];
  settings: () => Settings;
  write: <T>(category: WriteCategory, writes: () => T) => T;
  /** Ended series every export has delivered the end of: delete them. */
  ended: (keys: string[]) => void;
  /** Inside the transaction that stores a push's outcome: what else that outcome writes (notifications). */
  storing: (config: StoredConfig, before: ExportStatus, after: ExportStatus) => void;
  /** A push's outcome was stored (the status before and after). */
  recorded: (before: ExportStatus, after: ExportStatus) => Promise<void>;
}

export type PushOutcome = PushSummary | "abandoned";

export class Pusher {
  lastPush: StorageStats["last_push"] = null;
  #running: { epoch: number; promise: Promise<PushOutcome> } | null = null;
  #epoch = 0;
  #abort: AbortController | null = null;

  constructor(private readonly deps: PusherDeps) {}

  get running(): boolean {
    return this.#running !== null;
  }

  get exportId(): string {
    return this.deps.exportId;
  }

  /** A push built from the configuration being replaced stops: no further attempt, no recorded outcome. */
  replaceConfiguration(): void {
    this.#epoch += 1;
    this.#abort?.abort();
  }

  /**
   * `nextPushAt`: a scheduled push stores its next slot with its outcome (one status row); a push
   * that joins a running one leaves that to its caller.
   */
  push(projectId: string, nextPushAt?: () => number): Promise<PushOutcome> {
    const running = this.#running;
    if (running && running.epoch === this.#epoch) return running.promise;
    const promise = (async () => {
      if (running) await running.promise.catch(() => {});
      return this.#pushNow(projectId, nextPushAt);
    })();
    const entry = { epoch: this.#epoch, promise };
    this.#running = entry;
    void promise
      .finally(() => {
        if (this.#running === entry) this.#running = null;
      })
      .catch(() => {});
    return promise;
  }

  /** The points of a push at `nowMs` (a series' points are consecutive), and for delta each series' snapshot. */
  snapshot(projectId: string, config: StoredConfig | null, nowMs: number): { batch: ExportBatch; snapshots: Map<string, Snapshot> } {
    const intervalMs = this.deps.settings().exportIntervalMs;
    const temporality = config?.temporality ?? "cumulative";
    const filters = compileFilters(config?.filters);
    const series: ExportSeries[] = [];
    const snapshots = new Map<string, Snapshot>();
    const { state } = this.deps.aggregation;
    for (const [key, s] of state.series) {
      // Filtered out: not sent, and (delta) its baseline stays where it was.
      if (!filters.keepSeries(s.appName, s.region)) continue;
      const ending = this.deps.ending.endingFor(this.exportId, key);
      const hosts = state.reports.get(key);
      const gauges = hosts && !ending ? computeGauges(hosts.values(), nowMs, intervalMs) : undefined;
      if (temporality === "cumulative") {
        series.push(ending ? endedSeries(projectId, s, s.countersStartMs, s.histogramsStartMs) : cumulativeSeries(projectId, s, gauges));
        continue;
      }
      const { points, snapshot } = deltaSeries(projectId, s, this.deps.journal.stateOf(key), gauges, nowMs);
      if (ending) {
        const last = points.pop()!;
        points.push(endedSeries(projectId, s, last.countersStartMs, last.histogramsStartMs));
      }
      series.push(...points);
      snapshots.set(key, snapshot);
    }
    const batch: ExportBatch = { timeMs: nowMs, temporality, bounds: this.deps.bounds().slice(), series };
    if (!filters.unfiltered) batch.metrics = filters.metrics;
    return { batch, snapshots };
  }

  preview(projectId: string, config: StoredConfig | null, limit: number): Preview {
    const { batch } = this.snapshot(projectId, config, Date.now());
    const shownKeys = new Set<string>();
    const shown = batch.series.filter((s) => {
      const key = seriesKey(s.appName, s.region);
      if (!shownKeys.has(key) && shownKeys.size >= Math.min(limit, MAX_PREVIEW_SERIES)) return false;
      shownKeys.add(key);
      return true;
    });
    const total = distinctSeries(batch.series);
    return {
      series: total,
      data_points: dataPointCount(batch.series, batch.metrics),
      shown_series: shownKeys.size,
      truncated: shownKeys.size < total,
      request: JSON.parse(new TextDecoder().decode(serializeJson({ ...batch, series: shown }))) as Preview["request"],
    };
  }

  async #pushNow(projectId: string, nextPushAt?: () => number): Promise<PushOutcome> {
    const { store, meter } = this.deps;
    const epoch = this.#epoch;
    const id = this.exportId;
    const config = store.config(id);
    if (config === null || !config.enabled || store.status(id).pausedAt !== null) return emptySummary();
    const rowsBefore = meter.totals.push;
    const timings = emptyTimings();
    const started = Date.now();
    let at = performance.now();
    const { batch, snapshots } = this.snapshot(projectId, config, started);
    timings.snapshotMs = performance.now() - at;
    if (batch.series.length === 0) return emptySummary();

    let outcome: PushOutcome = emptySummary();
    const headers = await this.#headers(config);
    if ("failure" in headers) {
      outcome.ok = false;
      outcome.error = describeFailure(headers.failure, config.destination);
    } else {
      const abort = new AbortController();
      this.#abort = abort;
      at = performance.now();
      const chunks = encodeInChunks(batch, config.protocol, Math.min(presetMaxBodyBytes(config.destination), config.bodyLimitBytes ?? Infinity));
      timings.encodeMs = performance.now() - at;
      const port = this.#port(epoch, config, snapshots);
      try {
        outcome = await sendPush(
          chunks,
          {
            url: metricsUrl(config.endpoint),
            destination: config.destination,
            contentType: config.protocol === "http/json" ? "application/json" : "application/x-protobuf",
            gzip: config.compression === "gzip",
            headers: headers.value,
          },
          realTransport(this.deps.settings()),
          port,
          abort.signal,
          timings,
        );
      } finally {
        port.unsettled();
        if (this.#abort === abort) this.#abort = null;
      }
    }
    if (outcome === "abandoned" || epoch !== this.#epoch) return "abandoned";
    outcome.durationMs = Date.now() - started;
    const before = store.status(id);
    const recorded = recordPush(before, outcome, Date.now());
    const status = nextPushAt ? { ...recorded, nextPushAt: nextPushAt() } : recorded;
    const learnt = outcome.bodyLimitBytes;
    this.deps.write("push", () => {
      store.saveStatus(id, status);
      if (learnt !== undefined && learnt !== config.bodyLimitBytes) store.saveConfig(id, { ...config, bodyLimitBytes: learnt });
      this.deps.storing(config, before, status);
    });
    this.lastPush = {
      series: distinctSeries(batch.series),
      requests: outcome.requests,
      rows_written: meter.totals.push - rowsBefore,
      timings_ms: { snapshot: timings.snapshotMs, encode: timings.encodeMs, gzip: timings.gzipMs, send: timings.sendMs, storage: timings.storageMs },
    };
    if (status.pausedAt !== null && before.pausedAt === null) {
      console.warn(JSON.stringify({ event: "export_paused", project_id: projectId, export_id: id, consecutive_failures: status.consecutiveFailures }));
    }
    await this.deps.recorded(before, status);
    return outcome;
  }

  /** The stored header values for the saved endpoint, or why nothing may be sent. */
  async #headers(config: StoredConfig): Promise<{ value: OpenHeader[] } | { failure: SendFailure }> {
    const refused = refusedEndpoint(config.endpoint, this.deps.settings());
    if (refused !== null) return { failure: refused };
    const origin = originOf(config.endpoint);
    const opened = await this.deps.credentials.forSend(undefined, origin, origin);
    return opened.kind === "ok" ? { value: opened.value } : { failure: unreadableFailure(opened) };
  }

  /**
   * What a push's requests leave behind. Delta: a journal record per request, written before it is
   * sent (src/export/delta.ts, ./delta-journal.ts). Ended series are deleted once a push carrying
   * their last point is delivered. `unsettled()` settles, as unknown, a request a throw cut off.
   */
  #port(epoch: number, config: StoredConfig, snapshots: Map<string, Snapshot>): PushPort & { unsettled(): void } {
    const { journal, write, store } = this.deps;
    const delta = config.temporality === "delta";
    const records = new Map<object, { seq: number; entries: { key: string; snapshot: Snapshot }[] }>();
    const settle = (chunk: object, how: "delivered" | "unknown" | "refused") => {
      const record = records.get(chunk);
      if (!record) return;
      records.delete(chunk);
      write("push", () => journal.settle(record.seq, record.entries, how));
    };
    return {
      current: () => this.#epoch === epoch,
      sending: (chunk) => {
        if (!delta) return;
        const entries = chunk.keys.filter((k) => snapshots.has(k)).map((key) => ({ key, snapshot: snapshots.get(key)! }));
        records.set(chunk, { seq: write("push", () => journal.begin(entries)), entries });
      },
      settled: (chunk, how) => {
        // A push abandoned for a new configuration counts for the destination its request went to
        // only if that is still the destination.
        const sameDestination = store.config(this.exportId)?.endpoint === config.endpoint;
        settle(chunk, sameDestination ? how : "refused");
        if (how === "delivered" && sameDestination && this.deps.ending.size > 0) {
          const ended = this.deps.ending.delivered(this.exportId, chunk.keys);
          if (ended.length > 0) this.deps.ended(ended);
        }
      },
      unsettled: () => {
        for (const chunk of [...records.keys()]) settle(chunk, "unknown");
      },
    };
  }
}

/** The failure of an endpoint this deployment no longer allows (ALLOW_PRIVATE_ENDPOINTS turned off), or null. */
export function refusedEndpoint(endpoint: string, settings: Settings): SendFailure | null {
  const check = checkEndpoint(endpoint, settings.allowPrivateEndpoints);
  return check.ok ? null : { kind: "endpoint_not_allowed", message: check.message };
}

export function unreadableFailure(r: Exclude<Resolution<unknown>, { kind: "ok" }>): SendFailure {
  // values_required / missing_value cannot happen for the saved endpoint's own origin unless the
  // stored rows were altered; either way nothing may be sent.
  return { kind: "credentials_unreadable", message: r.kind === "unreadable" ? r.message : "stored header values were saved for another origin" };
}

/** The last points of a series that has ended: zero values flagged NoRecordedValue, no gauges. */
function endedSeries(projectId: string, s: SeriesState, countersStartMs: number, histogramsStartMs: number): ExportSeries {
  const empty = (): HistogramValues => ({ count: 0, sum: 0, bucketCounts: new Array<number>(s.bounds.length + 1).fill(0) });
  return {
    ...seriesLabels(projectId, s),
    noRecordedValue: true,
    countersStartMs,
    runs: 0,
    successes: 0,
    errors: 0,
    histogramsStartMs,
    execution: empty(),
    queue: empty(),
    coldstart: empty(),
    response: empty(),
  };
}
