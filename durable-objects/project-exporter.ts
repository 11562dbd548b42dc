/**
 * One ProjectExporter per project (addressed by project id): it aggregates the project's samples
 * in memory, persists them per series, and pushes OTLP metrics to the project's destination from
 * its alarm. The logic lives in src/aggregation and src/export; this class wires it to storage,
 * the alarm and the network.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../src/context";
import { computeGauges, reportRetentionMs, type HostReport } from "../src/aggregation/gauges";
import { ledgerEntry } from "../src/aggregation/ledger-entry";
import {
  cloneSeries,
  cumulativeSeries,
  observeRun,
  newSeries,
  rebucket,
  seriesLabels,
  type SeriesState,
  type Snapshot,
} from "../src/aggregation/series";
import { HeaderCipher } from "../src/crypto/header-crypto";
import type { ErrorBody, Result } from "../src/errors";
import { describeFailure, type Classification } from "../src/export/classify";
import { afterRebucket, deltaSeries, delivered, NO_DELTA, unconfirmed, type DeltaState } from "../src/export/delta";
import { redactFailure, safeExcerpt } from "../src/export/redact";
import { dataPointCount, distinctSeries, encodeBody, encodeInChunks, gzip, maxBodyBytes } from "../src/export/encode-push";
import { emptySummary, sendPush, type PushPort } from "../src/export/push";
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from "../src/export/metric-definitions";
import type { ExportBatch, ExportSeries, HistogramValues } from "../src/export/model";
import { serializeJson } from "../src/export/resource-metrics";
import { nextPushAt } from "../src/export/schedule";
import type { SendFailure } from "../src/export/send-outcome";
import {
  recordPush,
  statusAfterResume,
  statusAfterSave,
  type ExportStatus,
  type PushSummary,
  type StoredConfig,
} from "../src/export/status";
import { realTransport, sendOnce } from "../src/export/transport";
import { metricsUrl } from "../src/export/url";
import { exportView, type ExportView } from "../src/export/view";
import { settingsOf, type Settings } from "../src/settings";
import { checkEndpoint } from "../src/validation/endpoint";
import type { ConnectionTestInput, ExportConfigPatch, ExportConfigPut, HeaderInput } from "../src/validation/export-config";
import type { SampleRejection } from "../src/validation/samples";
import { RESOURCE_FIELDS, RUN_FIELDS, sampleCount, type PackedSamples } from "../src/aggregation/packed-samples";
import { Credentials, originOf, type OpenHeader, type Resolution } from "./credentials";
import { migrate } from "./sql-migrations";
import { ProjectStore, seriesKey } from "./store";

/** At most this many (app, region) series per project; new ones beyond are rejected. */
export const MAX_SERIES_PER_PROJECT = 2000;
/** Batches are remembered (idempotency) for at least an hour. */
export const BATCH_RETENTION_MS = 65 * 60_000;
const HOUSEKEEPING_EVERY_MS = 60_000;
/**
 * While nothing is pushed (export disabled, paused or not configured), the alarm still comes at
 * least this often for housekeeping: expiring the batch ledger and old reports, and re-sealing
 * header values after a key rotation (README "Rotating the encryption key").
 */
export const IDLE_HOUSEKEEPING_MS = 60 * 60_000;
export const CONNECTION_TESTS_PER_MINUTE = 10;
/** The preview shows at most this many series by default (and MAX_PREVIEW_SERIES when asked). */
export const DEFAULT_PREVIEW_SERIES = 20;
export const MAX_PREVIEW_SERIES = 100;

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

/** Storage figures for operators and benchmarks. */
export interface StorageStats {
  database_size_bytes: number;
  series: number;
  host_reports: number;
  batches: number;
  last_ingest: { samples: number; series_touched: number; rows_written: number; duration_ms: number } | null;
}

export interface ConnectionTestResult {
  ok: boolean;
  url: string;
  http_status: number | null;
  latency_ms: number;
  classification: Classification | null;
  message: string;
  hint: string | null;
  response_excerpt: string;
}

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

const fail = (status: ErrorBody["status"], code: ErrorBody["code"], message: string): { ok: false; error: ErrorBody } => ({
  ok: false,
  error: { status, code, message },
});

const defaultTemporality = (destination: StoredConfig["destination"]): StoredConfig["temporality"] =>
  destination === "datadog" ? "delta" : "cumulative";

export class ProjectExporter extends DurableObject<Bindings> {
  #store: ProjectStore;
  #credentials: Credentials;
  #projectId: string | null = null;
  #series = new Map<string, SeriesState>();
  /** Delta temporality's per-series state (src/export/delta.ts), by series key. */
  #delta = new Map<string, DeltaState>();
  /** Series past SERIES_RETENTION_HOURS: their next delivered push ends them, then they are deleted. */
  #ending = new Set<string>();
  /** Latest report per host, grouped by series key. */
  #reports = new Map<string, Map<string, HostReport>>();
  #cipher: Promise<HeaderCipher> | null = null;
  /** The push in flight (alarm and "send now" alike join it while its configuration is current). */
  #running: { epoch: number; promise: Promise<PushSummary | "abandoned"> } | null = null;
  /** Bumped by every configuration change; a push built from an older one is abandoned. */
  #configEpoch = 0;
  #pushAbort: AbortController | null = null;
  #testTimes: number[] = [];
  #flushTimes: number[] = [];
  #lastHousekeepingMs = 0;
  #lastIngest: StorageStats["last_ingest"] = null;
  /** The alarm this instance last set (null: none, or not known since it started). */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.#store = new ProjectStore(ctx.storage.sql);
    this.#credentials = new Credentials(this.#store, () => this.#cipherFor(this.#projectId!));
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.#load();
      } catch (err) {
        this.#series.clear();
        this.#delta.clear();
        this.#reports.clear();
        throw err;
      }
      // Values stored before the origin binding (or under the previous key) are re-sealed now.
      await this.#resealHeaders().catch(() => {});
    });
  }

  #load(): void {
    migrate(this.ctx.storage);
    this.#projectId = this.#store.meta("project_id");
    for (const { series, delta } of this.#store.allSeries()) {
      const key = seriesKey(series.appName, series.region);
      this.#series.set(key, series);
      if (delta !== NO_DELTA) this.#delta.set(key, delta);
    }
    for (const r of this.#store.allReports()) this.#putReport(r);
    this.#settleInterruptedPush();
  }

  /**
   * A delta push whose outcome was never recorded (the object died, or the push threw, between
   * sending and bookkeeping) may or may not have been applied: what it carried becomes an
   * unconfirmed interval, re-sent verbatim by the next push (src/export/delta.ts).
   */
  #settleInterruptedPush(): void {
    const pending = this.#store.pendingSnapshots();
    if (pending.length === 0) return;
    this.ctx.storage.transactionSync(() => {
      for (const p of pending) {
        const key = seriesKey(p.appName, p.region);
        if (!this.#series.has(key)) continue;
        const next = unconfirmed(this.#delta.get(key) ?? NO_DELTA, p.snapshot);
        this.#delta.set(key, next);
        this.#store.saveDelta(p.appName, p.region, next);
      }
      this.#store.clearPendingAcks();
    });
  }

  get #settings(): Settings {
    return settingsOf(this.env);
  }

  #bind(projectId: string): void {
    if (this.#projectId === projectId) return;
    if (this.#projectId !== null) throw new Error("project id mismatch for this object");
    this.#store.setMeta("project_id", projectId);
    this.#projectId = projectId;
  }

  #cipherFor(projectId: string): Promise<HeaderCipher> {
    if (this.#cipher === null) {
      const s = this.#settings;
      this.#cipher = HeaderCipher.forProject(projectId, s.encryptionKey, s.previousEncryptionKey);
      this.#cipher.catch(() => (this.#cipher = null));
    }
    return this.#cipher;
  }

  #putReport(r: HostReport): void {
    const key = seriesKey(r.appName, r.region);
    let hosts = this.#reports.get(key);
    if (!hosts) this.#reports.set(key, (hosts = new Map()));
    hosts.set(r.hostId, r);
  }

  #bounds(config: StoredConfig | null): readonly number[] {
    return config?.histogramBoundsMs ?? DEFAULT_HISTOGRAM_BOUNDS_MS;
  }

  #view(): ExportView {
    return exportView(this.#store.config(), this.#credentials.names(), this.#store.status());
  }

  // ---------------------------------------------------------------------------------------------
  // Ingest
  // ---------------------------------------------------------------------------------------------

  /**
   * Applies one host batch's samples for this project, at most once per (host_id, batch_id).
   * Aggregates in memory and writes each touched series and host report once, with the batch
   * ledger entry, in one transaction; memory is updated only after the transaction commits.
   */
  ingest(projectId: string, hostId: string, batchId: string, samples: PackedSamples, nowMs = Date.now()): IngestResult {
    this.#bind(projectId);
    this.#housekeeping(nowMs);
    const started = performance.now();
    const previous = this.#store.batch(hostId, batchId);
    if (previous) return { accepted: previous.accepted, duplicate: true, rejected: previous.examples, rejectedCount: previous.rejectedCount };

    const bounds = this.#bounds(this.#store.config());
    const touched = new Map<string, SeriesState>();
    const reports = new Map<string, HostReport>();
    const rejected: SampleRejection[] = [];

    // Resolve each distinct series once: existing, new, or over the limit (in order of appearance).
    const states: (SeriesState | null)[] = [];
    let newSeriesCount = 0;
    for (let i = 0; i < samples.appNames.length; i++) {
      const appName = samples.appNames[i]!;
      const region = samples.regions[i]!;
      const key = seriesKey(appName, region);
      const existing = this.#series.get(key);
      let s: SeriesState | null;
      if (existing) s = cloneSeries(existing);
      else if (this.#series.size + newSeriesCount >= MAX_SERIES_PER_PROJECT) s = null;
      else {
        s = newSeries(appName, region, bounds, nowMs);
        newSeriesCount += 1;
      }
      if (s) {
        rebucket(s, bounds, nowMs);
        s.lastSampleMs = Math.max(s.lastSampleMs, nowMs);
        touched.set(key, s);
      }
      states.push(s);
    }
    const overLimit = (index: number) =>
      rejected.push({
        index,
        code: "series_limit",
        message: `This project already has ${MAX_SERIES_PER_PROJECT} (app_name, region) series; new ones are rejected.`,
      });

    const { runSeries, runIndex, runValues, runSuccess } = samples;
    for (let r = 0; r < runSeries.length; r++) {
      const s = states[runSeries[r]!];
      if (!s) {
        overLimit(runIndex[r]!);
        continue;
      }
      const o = r * RUN_FIELDS;
      observeRun(s, runValues[o]!, runValues[o + 1]!, runValues[o + 2]!, runValues[o + 3]!, runSuccess[r] === 1);
    }

    const { resourceSeries, resourceIndex, resourceValues: v } = samples;
    for (let q = 0; q < resourceSeries.length; q++) {
      const series = resourceSeries[q]!;
      if (!states[series]) {
        overLimit(resourceIndex[q]!);
        continue;
      }
      const appName = samples.appNames[series]!;
      const region = samples.regions[series]!;
      const key = seriesKey(appName, region);
      const current = reports.get(key) ?? this.#reports.get(key)?.get(hostId);
      const o = q * RESOURCE_FIELDS;
      const timeMs = Math.min(v[o]!, nowMs);
      if (current && current.timeMs > timeMs) continue; // an older report never overwrites a newer one
      reports.set(key, {
        hostId,
        appName,
        region,
        timeMs,
        cpuCores: v[o + 1]!,
        memoryBytes: v[o + 2]!,
        gpuMemoryBytes: v[o + 3]!,
        gpuComputePercent: v[o + 4]!,
        gpuCount: v[o + 5]!,
        containersRunning: v[o + 6]!,
        containersReady: v[o + 7]!,
      });
    }
    rejected.sort((a, b) => a.index - b.index);

    const accepted = sampleCount(samples) - rejected.length;
    let rowsWritten = 0;
    this.ctx.storage.transactionSync(() => {
      for (const [key, s] of touched) rowsWritten += this.#store.saveSeries(s, this.#delta.get(key) ?? NO_DELTA);
      for (const r of reports.values()) rowsWritten += this.#store.saveReport(r);
      rowsWritten += this.#store.saveBatch(hostId, batchId, nowMs, ledgerEntry(accepted, rejected));
    });
    this.#lastIngest = { samples: sampleCount(samples), series_touched: touched.size, rows_written: rowsWritten, duration_ms: performance.now() - started };
    for (const [key, s] of touched) {
      this.#series.set(key, s);
      this.#ending.delete(key); // a sample brings an expiring series back
    }
    for (const r of reports.values()) this.#putReport(r);
    // The first write of an object that has no alarm yet brings the idle housekeeping alarm.
    if (this.#alarmAt === null) void this.#syncAlarm().catch(() => {});
    return { accepted, duplicate: false, rejected, rejectedCount: rejected.length };
  }

  storageStats(projectId: string): StorageStats {
    this.#bind(projectId);
    const c = this.#store.counts();
    return {
      database_size_bytes: this.ctx.storage.sql.databaseSize,
      series: c.series,
      host_reports: c.hostReports,
      batches: c.batches,
      last_ingest: this.#lastIngest,
    };
  }

  #housekeeping(nowMs: number, force = false): void {
    if (!force && nowMs - this.#lastHousekeepingMs < HOUSEKEEPING_EVERY_MS) return;
    this.#lastHousekeepingMs = nowMs;
    const cutoff = nowMs - reportRetentionMs(this.#settings.exportIntervalMs);
    this.ctx.storage.transactionSync(() => {
      this.#store.deleteBatchesOlderThan(nowMs - BATCH_RETENTION_MS);
      this.#store.deleteReportsOlderThan(cutoff);
    });
    for (const [key, hosts] of this.#reports) {
      for (const [host, r] of hosts) if (r.timeMs < cutoff) hosts.delete(host);
      if (hosts.size === 0) this.#reports.delete(key);
    }
    this.#expireSeries(nowMs);
  }

  /**
   * Series without a sample for SERIES_RETENTION_HOURS: while export runs, the next push ends them
   * (points flagged NoRecordedValue, a staleness marker in Prometheus-style backends) and they are
   * deleted once it is delivered; otherwise they are deleted now. Either way their slot under the
   * series limit is free again, and a returning app starts new cumulative series.
   */
  #expireSeries(nowMs: number): void {
    const cutoff = nowMs - this.#settings.seriesRetentionMs;
    const expired = [...this.#series].filter(([, s]) => s.lastSampleMs < cutoff).map(([key]) => key);
    if (expired.length === 0) return;
    const config = this.#store.config();
    const exporting = config !== null && config.enabled && this.#store.status().pausedAt === null;
    if (exporting) for (const key of expired) this.#ending.add(key);
    else this.#deleteSeries(expired);
  }

  #deleteSeries(keys: Iterable<string>): void {
    const gone = [...keys].filter((key) => this.#series.has(key));
    this.ctx.storage.transactionSync(() => {
      for (const key of gone) {
        const s = this.#series.get(key)!;
        this.#store.deleteSeries(s.appName, s.region);
      }
    });
    for (const key of gone) {
      this.#series.delete(key);
      this.#delta.delete(key);
      this.#reports.delete(key);
      this.#ending.delete(key);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Export configuration
  // ---------------------------------------------------------------------------------------------

  getExport(projectId: string): ExportView {
    this.#bind(projectId);
    return this.#view();
  }

  async #save(projectId: string, next: StoredConfig, headers: HeaderInput[] | null, warnings: string[]): Promise<Result<SaveResult>> {
    const previous = this.#store.config();
    const resolved = await this.#credentials.forSave(headers, previous && originOf(previous.endpoint), originOf(next.endpoint));
    if (resolved.kind !== "ok") return headerFailure(resolved, "save");
    const sealed = resolved.value;
    const nowMs = Date.now();
    const bounds = this.#bounds(next);
    const settingsChanged =
      previous === null ||
      previous.endpoint !== next.endpoint ||
      previous.destination !== next.destination ||
      previous.protocol !== next.protocol ||
      previous.compression !== next.compression ||
      previous.temporality !== next.temporality ||
      sealed !== null ||
      (!previous.enabled && next.enabled);
    const rebucketed: SeriesState[] = [];
    for (const s of this.#series.values()) {
      const copy = cloneSeries(s);
      if (rebucket(copy, bounds, nowMs)) rebucketed.push(copy);
    }
    const deltas = new Map(rebucketed.map((s) => {
      const key = seriesKey(s.appName, s.region);
      return [key, afterRebucket(this.#delta.get(key) ?? NO_DELTA)] as const;
    }));
    this.#replaceConfiguration();
    this.ctx.storage.transactionSync(() => {
      this.#store.saveConfig(next);
      if (sealed !== null) this.#store.replaceHeaders(sealed);
      let status = this.#store.status();
      if (settingsChanged) status = statusAfterSave(status);
      status = { ...status, nextPushAt: next.enabled ? nextPushAt(projectId, this.#settings.exportIntervalMs, nowMs) : null };
      this.#store.saveStatus(status);
      for (const s of rebucketed) this.#store.saveSeries(s, deltas.get(seriesKey(s.appName, s.region))!);
    });
    for (const s of rebucketed) {
      const key = seriesKey(s.appName, s.region);
      this.#series.set(key, s);
      this.#delta.set(key, deltas.get(key)!);
    }
    await this.#syncAlarm();
    return { ok: true, value: { ...this.#view(), warnings } };
  }

  /** PUT: the whole configuration ("Save & Enable"). Input is validated by the worker. */
  async putExport(projectId: string, input: ExportConfigPut, warnings: string[]): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    const previous = this.#store.config();
    const destination = input.destination ?? "custom";
    const nowMs = Date.now();
    const next: StoredConfig = {
      destination,
      endpoint: input.endpoint,
      protocol: input.protocol ?? "http/protobuf",
      compression: input.compression ?? "gzip",
      temporality: input.temporality ?? defaultTemporality(destination),
      histogramBoundsMs: input.histogram_bounds_ms ?? null,
      enabled: input.enabled ?? true,
      createdAt: previous?.createdAt ?? nowMs,
      updatedAt: nowMs,
    };
    return this.#save(projectId, next, input.headers ?? [], warnings);
  }

  /** PATCH: any subset. A destination change without a temporality takes that destination's default. */
  async patchExport(projectId: string, input: ExportConfigPatch, warnings: string[]): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    const previous = this.#store.config();
    if (previous === null) {
      return fail(409, "export_not_configured", "Metrics export is not configured for this project; configure it with PUT first.");
    }
    const destination = input.destination ?? previous.destination;
    const next: StoredConfig = {
      ...previous,
      destination,
      endpoint: input.endpoint ?? previous.endpoint,
      protocol: input.protocol ?? previous.protocol,
      compression: input.compression ?? previous.compression,
      temporality:
        input.temporality ?? (input.destination !== undefined && input.destination !== previous.destination ? defaultTemporality(destination) : previous.temporality),
      histogramBoundsMs: input.histogram_bounds_ms === undefined ? previous.histogramBoundsMs : input.histogram_bounds_ms,
      enabled: input.enabled ?? previous.enabled,
      updatedAt: Date.now(),
    };
    return this.#save(projectId, next, input.headers ?? null, warnings);
  }

  async deleteExport(projectId: string): Promise<void> {
    this.#bind(projectId);
    this.#replaceConfiguration();
    this.ctx.storage.transactionSync(() => {
      this.#store.deleteConfig();
      this.#store.saveStatus({ ...this.#store.status(), nextPushAt: null, pausedAt: null, consecutiveFailures: 0, lastError: null, warning: null });
    });
    await this.#syncAlarm();
  }

  /** A push built from the configuration being replaced stops: no further attempt, no recorded outcome. */
  #replaceConfiguration(): void {
    this.#configEpoch += 1;
    this.#pushAbort?.abort();
  }

  /** Re-enables an export (paused after repeated failures, or disabled) and pushes promptly. */
  async resumeExport(projectId: string): Promise<Result<ExportView>> {
    this.#bind(projectId);
    const config = this.#store.config();
    if (config === null) {
      return fail(409, "export_not_configured", "Metrics export is not configured for this project; configure it with PUT first.");
    }
    const nowMs = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#store.saveConfig({ ...config, enabled: true, updatedAt: nowMs });
      this.#store.saveStatus({ ...statusAfterResume(this.#store.status()), nextPushAt: nowMs });
    });
    await this.#syncAlarm();
    return { ok: true, value: this.#view() };
  }

  // ---------------------------------------------------------------------------------------------
  // Export
  // ---------------------------------------------------------------------------------------------

  /**
   * Sets the alarm to the stored next push time while export is enabled and not paused (every push
   * housekeeps too, and the interval is at most an hour); otherwise, while the object holds
   * anything, to the next idle housekeeping.
   */
  async #syncAlarm(): Promise<void> {
    const config = this.#store.config();
    const status = this.#store.status();
    const pushing = config !== null && config.enabled && status.pausedAt === null && status.nextPushAt !== null;
    const holdsState = config !== null || this.#series.size > 0 || this.#reports.size > 0 || this.#store.hasBatches();
    const housekeptAt = this.#lastHousekeepingMs > 0 ? this.#lastHousekeepingMs : Date.now();
    const at = pushing ? status.nextPushAt : holdsState ? housekeptAt + IDLE_HOUSEKEEPING_MS : null;
    if (at === null) {
      await this.ctx.storage.deleteAlarm();
      this.#alarmAt = null;
      return;
    }
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }

  /**
   * Idempotent: whatever woke it, it housekeeps (re-sealing header values too), pushes only when
   * the stored next push time has come, then stores and sets the following alarm. A failure inside
   * a push never stops the schedule.
   */
  override async alarm(): Promise<void> {
    const projectId = this.#projectId;
    if (projectId === null) return;
    const nowMs = Date.now();
    try {
      this.#housekeeping(nowMs, true);
      await this.#resealHeaders();
    } catch (err) {
      console.error(JSON.stringify({ event: "housekeeping_failed", project_id: projectId, error: err instanceof Error ? err.name : "unknown" }));
    }
    const config = this.#store.config();
    const status = this.#store.status();
    const pushing = config !== null && config.enabled && status.pausedAt === null;
    if (!pushing || (status.nextPushAt !== null && nowMs < status.nextPushAt)) {
      await this.#syncAlarm();
      return;
    }
    try {
      await this.#push(projectId);
    } catch (err) {
      console.error(JSON.stringify({ event: "push_crashed", project_id: projectId, error: err instanceof Error ? err.name : "unknown" }));
    } finally {
      const after = this.#store.status();
      this.#store.saveStatus({ ...after, nextPushAt: nextPushAt(projectId, this.#settings.exportIntervalMs, Date.now()) });
      await this.#syncAlarm();
    }
  }

  /**
   * "Send now": a real push outside the schedule; it counts toward pausing like a scheduled one.
   * While a push runs, another Send now joins it; at most EXPORT_FLUSHES_PER_MINUTE (6) a minute
   * per project, 429 beyond.
   */
  async flush(projectId: string): Promise<Result<FlushResult>> {
    this.#bind(projectId);
    const config = this.#store.config();
    if (config === null) return fail(409, "export_not_configured", "Metrics export is not configured for this project.");
    if (this.#store.status().pausedAt !== null) {
      return fail(409, "export_paused", "Export is paused after repeated failures; fix the destination, then POST …/metrics-export/resume.");
    }
    if (!config.enabled) return fail(409, "export_not_enabled", "Export is disabled; enable it (PATCH {\"enabled\": true}) to send.");
    const nowMs = Date.now();
    const limit = this.#settings.flushesPerMinute;
    this.#flushTimes = this.#flushTimes.filter((t) => nowMs - t < 60_000);
    if (this.#flushTimes.length >= limit) {
      return fail(429, "rate_limited", `At most ${limit} "Send now" a minute per project (pushes run every interval anyway); try again shortly.`);
    }
    this.#flushTimes.push(nowMs);
    const summary = await this.#push(projectId);
    if (summary === "abandoned") {
      return { ok: true, value: { ok: false, abandoned: true, requests: 0, attempts: 0, data_points: 0, bytes: 0, duration_ms: Date.now() - nowMs } };
    }
    const result: FlushResult = {
      ok: summary.ok,
      requests: summary.requests,
      attempts: summary.attempts,
      data_points: summary.dataPoints,
      bytes: summary.bytes,
      duration_ms: summary.durationMs,
    };
    if (summary.error) {
      result.error = {
        http_status: summary.error.httpStatus,
        classification: summary.error.classification,
        message: summary.error.message,
        hint: summary.error.hint,
      };
    }
    return { ok: true, value: result };
  }

  /**
   * What the next push would carry, for people to read (works while disabled too): how many series
   * and data points, and the OTLP/JSON of the first `limit` series.
   */
  preview(projectId: string, limit = DEFAULT_PREVIEW_SERIES): Preview {
    this.#bind(projectId);
    const { batch } = this.#snapshot(projectId, this.#store.config(), Date.now());
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
      data_points: dataPointCount(batch.series),
      shown_series: shownKeys.size,
      truncated: shownKeys.size < total,
      request: JSON.parse(new TextDecoder().decode(serializeJson({ ...batch, series: shown }))) as Preview["request"],
    };
  }

  /**
   * The points of a push at `nowMs` (a series' points are consecutive) and, for delta, the snapshot
   * each series' points would leave as delivered.
   */
  #snapshot(projectId: string, config: StoredConfig | null, nowMs: number): { batch: ExportBatch; snapshots: Map<string, Snapshot> } {
    const intervalMs = this.#settings.exportIntervalMs;
    const temporality = config?.temporality ?? "cumulative";
    const series: ExportSeries[] = [];
    const snapshots = new Map<string, Snapshot>();
    for (const [key, s] of this.#series) {
      const ending = this.#ending.has(key);
      const hosts = this.#reports.get(key);
      const gauges = hosts && !ending ? computeGauges(hosts.values(), nowMs, intervalMs) : undefined;
      if (temporality === "cumulative") {
        series.push(ending ? endedSeries(projectId, s, s.countersStartMs, s.histogramsStartMs) : cumulativeSeries(projectId, s, gauges));
        continue;
      }
      const state = this.#delta.get(key) ?? NO_DELTA;
      const { points, snapshot } = deltaSeries(projectId, s, state, gauges, nowMs);
      if (ending) {
        const last = points.pop()!;
        points.push(endedSeries(projectId, s, last.countersStartMs, last.histogramsStartMs));
      }
      series.push(...points);
      snapshots.set(key, snapshot);
    }
    return { batch: { timeMs: nowMs, temporality, bounds: this.#bounds(config).slice(), series }, snapshots };
  }

  /** The failure of an endpoint this deployment no longer allows (ALLOW_PRIVATE_ENDPOINTS turned off), or null. */
  #refusedEndpoint(endpoint: string): SendFailure | null {
    const check = checkEndpoint(endpoint, this.#settings.allowPrivateEndpoints);
    return check.ok ? null : { kind: "endpoint_not_allowed", message: check.message };
  }

  /** Re-seals stored values sealed under the previous key or before the origin binding (every alarm). */
  async #resealHeaders(): Promise<void> {
    if (this.#projectId === null) return;
    const config = this.#store.config();
    const resealed = await this.#credentials.resealed(config && originOf(config.endpoint));
    if (resealed !== null) this.#store.replaceHeaders(resealed);
  }

  /** One push at a time: a push asked for while one runs for the current configuration joins it. */
  #push(projectId: string): Promise<PushSummary | "abandoned"> {
    const running = this.#running;
    if (running && running.epoch === this.#configEpoch) return running.promise;
    const promise = (async () => {
      if (running) await running.promise.catch(() => {});
      return this.#pushNow(projectId);
    })();
    const entry = { epoch: this.#configEpoch, promise };
    this.#running = entry;
    void promise.finally(() => {
      if (this.#running === entry) this.#running = null;
    }).catch(() => {});
    return promise;
  }

  async #pushNow(projectId: string): Promise<PushSummary | "abandoned"> {
    const epoch = this.#configEpoch;
    const config = this.#store.config();
    if (config === null || !config.enabled || this.#store.status().pausedAt !== null) return emptySummary();
    this.#settleInterruptedPush(); // a previous push that threw before recording its outcome
    const started = Date.now();
    const { batch, snapshots } = this.#snapshot(projectId, config, started);
    if (batch.series.length === 0) return emptySummary();

    const summary = emptySummary();
    const refused = this.#refusedEndpoint(config.endpoint);
    let headers: OpenHeader[] = [];
    if (refused !== null) {
      summary.ok = false;
      summary.error = describeFailure(refused, config.destination);
    } else {
      const origin = originOf(config.endpoint);
      const opened = await this.#credentials.forSend(undefined, origin, origin);
      if (opened.kind === "ok") headers = opened.value;
      else {
        summary.ok = false;
        summary.error = describeFailure(unreadableFailure(opened), config.destination);
      }
    }
    let outcome: PushSummary | "abandoned" = summary;
    if (summary.ok) {
      const abort = new AbortController();
      this.#pushAbort = abort;
      const chunks = encodeInChunks(batch, config.protocol, maxBodyBytes(config.destination));
      outcome = await sendPush(
        chunks,
        {
          url: metricsUrl(config.endpoint),
          destination: config.destination,
          contentType: config.protocol === "http/json" ? "application/json" : "application/x-protobuf",
          gzip: config.compression === "gzip",
          headers,
        },
        realTransport(this.#settings),
        this.#pushPort(epoch, config, snapshots),
        abort.signal,
      );
      if (this.#pushAbort === abort) this.#pushAbort = null;
    }
    if (outcome === "abandoned" || epoch !== this.#configEpoch) return "abandoned";
    outcome.durationMs = Date.now() - started;
    const status = recordPush(this.#store.status(), outcome, Date.now());
    this.#store.saveStatus(status);
    if (status.pausedAt !== null) {
      console.warn(JSON.stringify({ event: "export_paused", project_id: projectId, consecutive_failures: status.consecutiveFailures }));
      await this.#syncAlarm();
    }
    return outcome;
  }

  /**
   * What a push's requests leave behind. Delta: what a request carries is written before it is
   * sent (if the object dies, it becomes unconfirmed on restart); delivered → the new baseline;
   * unknown → an unconfirmed interval to re-send verbatim; refused → nothing (it folds into the
   * next point). Ending series are deleted once a push carrying their last point is delivered.
   */
  #pushPort(epoch: number, config: StoredConfig, snapshots: Map<string, Snapshot>): PushPort {
    const delta = config.temporality === "delta";
    return {
      current: () => this.#configEpoch === epoch,
      sending: (chunk) => {
        if (!delta) return;
        this.ctx.storage.transactionSync(() => {
          for (const key of chunk.keys) {
            const s = this.#series.get(key);
            if (s) this.#store.savePendingSnapshot(s.appName, s.region, snapshots.get(key)!);
          }
        });
      },
      settled: (chunk, how) => {
        // A push abandoned for a new configuration: its request counts for the destination it went
        // to only if that is still the destination.
        const sameDestination = this.#store.config()?.endpoint === config.endpoint;
        const ended: string[] = [];
        this.ctx.storage.transactionSync(() => {
          for (const key of chunk.keys) {
            const s = this.#series.get(key);
            if (!s) continue;
            if (delta && sameDestination && how !== "refused") {
              const state = this.#delta.get(key) ?? NO_DELTA;
              const next = how === "delivered" ? delivered(snapshots.get(key)!) : unconfirmed(state, snapshots.get(key)!);
              this.#delta.set(key, next);
              this.#store.saveDelta(s.appName, s.region, next);
            }
            if (how === "delivered" && this.#ending.has(key)) ended.push(key);
          }
          if (delta) this.#store.clearPendingAcks();
        });
        if (ended.length > 0) this.#deleteSeries(ended);
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Test Connection
  // ---------------------------------------------------------------------------------------------

  /**
   * Sends one valid OTLP request with no data points to the (possibly unsaved) settings, one try.
   * Never counts toward pausing and changes no state.
   */
  async testConnection(projectId: string, input: ConnectionTestInput): Promise<Result<ConnectionTestResult>> {
    this.#bind(projectId);
    const nowMs = Date.now();
    this.#testTimes = this.#testTimes.filter((t) => nowMs - t < 60_000);
    if (this.#testTimes.length >= CONNECTION_TESTS_PER_MINUTE) {
      return fail(429, "rate_limited", `At most ${CONNECTION_TESTS_PER_MINUTE} connection tests a minute per project; try again shortly.`);
    }
    const stored = this.#store.config();
    const endpoint = input.endpoint ?? stored?.endpoint;
    if (endpoint === undefined) {
      return fail(400, "invalid_request", "endpoint: required, no export is configured yet.");
    }
    const destination = input.destination ?? stored?.destination ?? "custom";
    const notSent = (failure: SendFailure): Result<ConnectionTestResult> => {
      const d = describeFailure(failure, destination);
      return {
        ok: true,
        value: { ok: false, url: metricsUrl(endpoint), http_status: null, latency_ms: 0, classification: d.classification, message: d.message, hint: d.hint, response_excerpt: "" },
      };
    };
    // A saved endpoint may have become private for this deployment (the worker checks unsaved ones).
    const refused = input.endpoint === undefined ? this.#refusedEndpoint(endpoint) : null;
    if (refused !== null) return notSent(refused);
    const resolved = await this.#credentials.forSend(input.headers, stored && originOf(stored.endpoint), originOf(endpoint));
    if (resolved.kind === "unreadable") return notSent(unreadableFailure(resolved));
    if (resolved.kind !== "ok") return headerFailure(resolved, "test");
    const headers = resolved.value;
    this.#testTimes.push(nowMs);
    const protocol = input.protocol ?? stored?.protocol ?? "http/protobuf";
    const compression = input.compression ?? stored?.compression ?? "gzip";
    const empty: ExportBatch = { timeMs: nowMs, temporality: "cumulative", bounds: this.#bounds(stored).slice(), series: [] };
    const raw = encodeBody(empty, protocol);
    const url = metricsUrl(endpoint);
    const secrets = headers.map((h) => h.value);
    const started = Date.now();
    const outcome = await sendOnce(
      {
        url,
        body: compression === "gzip" ? await gzip(raw) : raw,
        contentType: protocol === "http/json" ? "application/json" : "application/x-protobuf",
        gzip: compression === "gzip",
        headers,
      },
      realTransport(this.#settings),
    );
    const latency = Date.now() - started;
    if (outcome.kind === "ok") {
      return {
        ok: true,
        value: {
          ok: true,
          url,
          http_status: outcome.status,
          latency_ms: latency,
          classification: null,
          message: `Connected: the endpoint accepted an OTLP metrics request (HTTP ${outcome.status}).`,
          hint: null,
          response_excerpt: safeExcerpt(outcome.bodyExcerpt, secrets),
        },
      };
    }
    const safe = redactFailure(outcome, secrets);
    const d = describeFailure(safe, destination);
    return {
      ok: true,
      value: {
        ok: false,
        url,
        http_status: d.httpStatus,
        latency_ms: latency,
        classification: d.classification,
        message: d.message,
        hint: d.hint,
        response_excerpt: safe.kind === "http" ? safe.bodyExcerpt : "",
      },
    };
  }
}

/** A header resolution that stops a save or a test, as the API error it is. */
function headerFailure(r: Exclude<Resolution<unknown>, { kind: "ok" }>, during: "save" | "test"): { ok: false; error: ErrorBody } {
  switch (r.kind) {
    case "missing_value":
      return fail(400, "invalid_request", `headers[${r.index}].value: required, no value is stored for header "${r.name}".`);
    case "values_required": {
      const names = r.names.map((n) => `"${n}"`).join(", ");
      return fail(
        400,
        "header_values_required",
        `headers: stored header values are only sent to the origin they were saved for (${r.from}); ` +
          `to ${during === "save" ? "save an endpoint on" : "test"} ${r.to}, enter the value${r.names.length > 1 ? "s" : ""} of ${names} again.`,
      );
    }
    case "unreadable":
      return fail(400, "invalid_request", `headers: the stored value of "${r.name}" cannot be decrypted; enter it again.`);
  }
}

function unreadableFailure(r: Exclude<Resolution<unknown>, { kind: "ok" }>): SendFailure {
  // values_required / missing_value cannot happen for the saved endpoint's own origin unless the
  // stored rows were altered; either way nothing may be sent.
  const message = r.kind === "unreadable" ? r.message : "stored header values were saved for another origin";
  return { kind: "credentials_unreadable", message };
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
