/**
 * One ProjectExporter per project (addressed by project id). It wires the pieces to storage, the
 * alarm and RPC: aggregation.ts (ingest, compaction), pusher.ts (pushes), credentials.ts (header
 * values), delta-journal.ts (delta state), src/export/config.ts (what a save leaves) and
 * src/export/connection-test.ts. The logic itself lives in those modules and in src/.
 */
import { DurableObject } from "cloudflare:workers";
import type { PackedSamples } from "../src/aggregation/packed-samples";
import { reportRetentionMs } from "../src/aggregation/gauges";
import { HeaderCipher } from "../src/crypto/header-crypto";
import type { ErrorBody, Result } from "../src/errors";
import { boundsOf, configFromPatch, configFromPut, saveStartsStatusOver } from "../src/export/config";
import { notSent, testConnection } from "../src/export/connection-test";
import { nextPushAt } from "../src/export/schedule";
import { statusAfterResume, statusAfterSave, type StoredConfig } from "../src/export/status";
import { realTransport } from "../src/export/transport";
import { metricsUrl } from "../src/export/url";
import { exportView, type ExportView } from "../src/export/view";
import { settingsOf, type RawEnv, type Settings } from "../src/settings";
import type { ConnectionTestInput, ExportConfigPatch, ExportConfigPut, HeaderInput } from "../src/validation/export-config";
import { AggregateStore } from "./aggregate-store";
import { Aggregation } from "./aggregation";
import { Credentials, originOf, resolutionError } from "./credentials";
import { DeltaJournal } from "./delta-journal";
import { FIRST_EXPORT_ID } from "./legacy-v3";
import { DEFAULT_PREVIEW_SERIES, Pusher, refusedEndpoint, unreadableFailure } from "./pusher";
import { RowMeter, type WriteCategory } from "./row-meter";
import type { ConnectionTestResult, FlushResult, IngestResult, Preview, SaveResult, StorageStats } from "./rpc-types";
import { migrate } from "./sql-migrations";
import { ProjectStore } from "./store";

export type { ConnectionTestResult, FlushResult, IngestResult, Preview, SaveResult, StorageStats } from "./rpc-types";
export { MAX_PREVIEW_SERIES } from "./pusher";

/** At most this many (app, region) series per project; new ones beyond are rejected. */
export const MAX_SERIES_PER_PROJECT = 2000;
/** Batches are remembered (idempotency) for at least an hour. */
export const BATCH_RETENTION_MS = 65 * 60_000;
const HOUSEKEEPING_EVERY_MS = 60_000;
/**
 * While nothing is pushed (export disabled, paused or not configured), the alarm still comes at
 * least this often for housekeeping: compaction, expiry, and re-sealing header values after a key
 * rotation (README "Rotating the encryption key").
 */
export const IDLE_HOUSEKEEPING_MS = 60 * 60_000;
export const CONNECTION_TESTS_PER_MINUTE = 10;

const fail = (status: ErrorBody["status"], code: ErrorBody["code"], message: string): { ok: false; error: ErrorBody } => ({ ok: false, error: { status, code, message } });
const notConfigured = () => fail(409, "export_not_configured", "Metrics export is not configured for this project; configure it with PUT first.");

export class ProjectExporter extends DurableObject<RawEnv> {
  #meter = new RowMeter();
  #store: ProjectStore;
  #aggregation: Aggregation;
  #journal: DeltaJournal;
  #credentials: Credentials;
  #pusher: Pusher;
  #projectId: string | null = null;
  #cipher: Promise<HeaderCipher> | null = null;
  #testTimes: number[] = [];
  #flushTimes: number[] = [];
  #lastHousekeepingMs = 0;
  /** The alarm this instance last set (null: none, or not known since it started). */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: RawEnv) {
    super(ctx, env);
    const sql = this.#meter.wrap(ctx.storage.sql);
    this.#store = new ProjectStore(sql);
    const rows = new AggregateStore(sql);
    const write = <T>(category: WriteCategory, writes: () => T): T => this.#write(category, writes);
    this.#aggregation = new Aggregation(rows, this.#store, write, this.#meter);
    this.#journal = new DeltaJournal({
      insert: (seq, entries) => rows.insertRecord(FIRST_EXPORT_ID, seq, entries),
      markDelivered: (seq) => rows.markDelivered(FIRST_EXPORT_ID, seq),
      remove: (seq) => rows.removeRecord(FIRST_EXPORT_ID, seq),
    });
    this.#credentials = new Credentials(this.#store, () => this.#cipherFor(this.#projectId!));
    this.#pusher = new Pusher({
      store: this.#store,
      aggregation: this.#aggregation,
      journal: this.#journal,
      credentials: this.#credentials,
      meter: this.#meter,
      settings: () => this.#settings,
      write,
      ended: (keys) => this.#deleteSeries(keys),
      paused: () => this.#syncAlarm(),
    });
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      this.#projectId = this.#store.meta("project_id");
      this.#write("housekeeping", () => {
        this.#aggregation.load(boundsOf(this.#store.config()));
        this.#journal.load(rows.journal(FIRST_EXPORT_ID));
      });
      // Values stored before the origin binding (or under the previous key) are re-sealed now.
      await this.#resealHeaders().catch(() => {});
    });
  }

  get #settings(): Settings {
    return settingsOf(this.env);
  }

  /** One transaction of writes, counted under `category`. */
  #write<T>(category: WriteCategory, writes: () => T): T {
    this.#meter.category = category;
    return this.ctx.storage.transactionSync(writes);
  }

  #bind(projectId: string): void {
    if (this.#projectId === projectId) return;
    if (this.#projectId !== null) throw new Error("project id mismatch for this object");
    this.#write("config", () => this.#store.setMeta("project_id", projectId));
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

  #view(): ExportView {
    return exportView(this.#store.config(), this.#credentials.names(), this.#store.status());
  }

  // --- ingest and housekeeping -----------------------------------------------------------------

  /** One host batch for this project, at most once per (host_id, batch_id); 202 means durable. */
  ingest(projectId: string, hostId: string, batchId: string, samples: PackedSamples, nowMs = Date.now()): IngestResult {
    this.#bind(projectId);
    this.#housekeeping(nowMs);
    const result = this.#aggregation.ingest(hostId, batchId, samples, nowMs, boundsOf(this.#store.config()), MAX_SERIES_PER_PROJECT);
    if (!result.duplicate && this.#pusher.ending.size > 0) this.#revive(nowMs);
    if (this.#aggregation.compactionDue) this.#aggregation.compact();
    // The first write of an object that has no alarm yet brings the idle housekeeping alarm.
    if (this.#alarmAt === null) void this.#syncAlarm().catch(() => {});
    return result;
  }

  /** A sample brings an expiring series back (few series are ever ending at once). */
  #revive(nowMs: number): void {
    const cutoff = nowMs - this.#settings.seriesRetentionMs;
    for (const key of this.#pusher.ending) {
      const s = this.#aggregation.state.series.get(key);
      if (s && s.lastSampleMs >= cutoff) this.#pusher.ending.delete(key);
    }
  }

  storageStats(projectId: string): StorageStats {
    this.#bind(projectId);
    return {
      database_size_bytes: this.ctx.storage.sql.databaseSize,
      ...this.#aggregation.stats(),
      last_push: this.#pusher.lastPush,
      rows_written_total: { ...this.#meter.totals, all: this.#meter.total },
    };
  }

  #housekeeping(nowMs: number, force = false): void {
    if (!force && nowMs - this.#lastHousekeepingMs < HOUSEKEEPING_EVERY_MS) return;
    this.#lastHousekeepingMs = nowMs;
    this.#aggregation.compact();
    this.#aggregation.expire(nowMs - BATCH_RETENTION_MS, nowMs - reportRetentionMs(this.#settings.exportIntervalMs));
    this.#expireSeries(nowMs);
  }

  /**
   * Series without a sample for SERIES_RETENTION_HOURS: while export runs, the next push ends them
   * (points flagged NoRecordedValue, a staleness marker in Prometheus-style backends) and they are
   * deleted once it is delivered; otherwise they are deleted now. Their slot under the series limit
   * is free again, and a returning app starts new cumulative series.
   */
  #expireSeries(nowMs: number): void {
    const cutoff = nowMs - this.#settings.seriesRetentionMs;
    const expired = [...this.#aggregation.state.series].filter(([, s]) => s.lastSampleMs < cutoff).map(([key]) => key);
    if (expired.length === 0) return;
    const config = this.#store.config();
    if (config !== null && config.enabled && this.#store.status().pausedAt === null) for (const key of expired) this.#pusher.ending.add(key);
    else this.#deleteSeries(expired);
  }

  #deleteSeries(keys: string[]): void {
    this.#aggregation.deleteSeries(keys);
    this.#write("housekeeping", () => this.#journal.forget(keys, "series"));
    for (const key of keys) this.#pusher.ending.delete(key);
    this.#aggregation.compact();
  }

  async #resealHeaders(): Promise<void> {
    if (this.#projectId === null) return;
    const config = this.#store.config();
    const resealed = await this.#credentials.resealed(config && originOf(config.endpoint));
    if (resealed !== null) this.#write("housekeeping", () => this.#store.replaceHeaders(resealed));
  }

  // --- export configuration --------------------------------------------------------------------

  getExport(projectId: string): ExportView {
    this.#bind(projectId);
    return this.#view();
  }

  /** PUT: the whole configuration ("Save & Enable"). Input is validated by the worker. */
  putExport(projectId: string, input: ExportConfigPut, warnings: string[]): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    return this.#save(projectId, configFromPut(input, this.#store.config(), Date.now()), input.headers ?? [], warnings);
  }

  /** PATCH: any subset. */
  async patchExport(projectId: string, input: ExportConfigPatch, warnings: string[]): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    const previous = this.#store.config();
    if (previous === null) return notConfigured();
    return this.#save(projectId, configFromPatch(input, previous, Date.now()), input.headers ?? null, warnings);
  }

  async #save(projectId: string, next: StoredConfig, headers: HeaderInput[] | null, warnings: string[]): Promise<Result<SaveResult>> {
    const previous = this.#store.config();
    const resolved = await this.#credentials.forSave(headers, previous && originOf(previous.endpoint), originOf(next.endpoint));
    if (resolved.kind !== "ok") return { ok: false, error: resolutionError(resolved, "save") };
    const sealed = resolved.value;
    const nowMs = Date.now();
    this.#pusher.replaceConfiguration();
    // Logged batches were applied with the old bounds: fold them in before the bounds change.
    this.#aggregation.compact();
    const rebucketed = this.#aggregation.rebucketAll(boundsOf(next), nowMs);
    this.#write("config", () => {
      this.#store.saveConfig(next);
      if (sealed !== null) this.#store.replaceHeaders(sealed);
      let status = this.#store.status();
      if (saveStartsStatusOver(previous, next, sealed !== null)) status = statusAfterSave(status);
      this.#store.saveStatus({ ...status, nextPushAt: next.enabled ? nextPushAt(projectId, this.#settings.exportIntervalMs, nowMs) : null });
      this.#journal.forget(rebucketed, "unconfirmed");
    });
    this.#aggregation.compact();
    await this.#syncAlarm();
    return { ok: true, value: { ...this.#view(), warnings } };
  }

  async deleteExport(projectId: string): Promise<void> {
    this.#bind(projectId);
    this.#pusher.replaceConfiguration();
    this.#write("config", () => {
      this.#store.deleteConfig();
      this.#store.saveStatus({ ...this.#store.status(), nextPushAt: null, pausedAt: null, consecutiveFailures: 0, lastError: null, warning: null });
      this.#journal.clear();
    });
    await this.#syncAlarm();
  }

  /** Re-enables an export (paused after repeated failures, or disabled) and pushes promptly. */
  async resumeExport(projectId: string): Promise<Result<ExportView>> {
    this.#bind(projectId);
    const config = this.#store.config();
    if (config === null) return notConfigured();
    const nowMs = Date.now();
    this.#write("config", () => {
      this.#store.saveConfig({ ...config, enabled: true, updatedAt: nowMs });
      this.#store.saveStatus({ ...statusAfterResume(this.#store.status()), nextPushAt: nowMs });
    });
    await this.#syncAlarm();
    return { ok: true, value: this.#view() };
  }

  // --- the alarm and pushes ----------------------------------------------------------------------

  /**
   * The stored next push time while export is enabled and not paused (every push housekeeps too,
   * and the interval is at most an hour); otherwise, while the object holds anything, the next idle
   * housekeeping.
   */
  async #syncAlarm(): Promise<void> {
    const config = this.#store.config();
    const status = this.#store.status();
    const pushing = config !== null && config.enabled && status.pausedAt === null && status.nextPushAt !== null;
    const holdsState = config !== null || this.#aggregation.holdsState();
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
    if (config === null || !config.enabled || status.pausedAt !== null || (status.nextPushAt !== null && nowMs < status.nextPushAt)) {
      await this.#syncAlarm();
      return;
    }
    try {
      await this.#pusher.push(projectId);
    } catch (err) {
      console.error(JSON.stringify({ event: "push_crashed", project_id: projectId, error: err instanceof Error ? err.name : "unknown" }));
    } finally {
      const after = this.#store.status();
      this.#write("push", () => this.#store.saveStatus({ ...after, nextPushAt: nextPushAt(projectId, this.#settings.exportIntervalMs, Date.now()) }));
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
    if (!config.enabled) return fail(409, "export_not_enabled", 'Export is disabled; enable it (PATCH {"enabled": true}) to send.');
    const nowMs = Date.now();
    const limit = this.#settings.flushesPerMinute;
    this.#flushTimes = this.#flushTimes.filter((t) => nowMs - t < 60_000);
    if (this.#flushTimes.length >= limit) {
      return fail(429, "rate_limited", `At most ${limit} "Send now" a minute per project (pushes run every interval anyway); try again shortly.`);
    }
    this.#flushTimes.push(nowMs);
    const summary = await this.#pusher.push(projectId);
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
      const e = summary.error;
      result.error = { http_status: e.httpStatus, classification: e.classification, message: e.message, hint: e.hint };
    }
    return { ok: true, value: result };
  }

  /** What the next push would carry (works while disabled too), bounded to `limit` series. */
  preview(projectId: string, limit = DEFAULT_PREVIEW_SERIES): Preview {
    this.#bind(projectId);
    return this.#pusher.preview(projectId, this.#store.config(), limit);
  }

  // --- Test Connection ---------------------------------------------------------------------------

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
    if (endpoint === undefined) return fail(400, "invalid_request", "endpoint: required, no export is configured yet.");
    const destination = input.destination ?? stored?.destination ?? "custom";
    const url = metricsUrl(endpoint);
    // A saved endpoint may have become private for this deployment (the worker checks unsaved ones).
    const refused = input.endpoint === undefined ? refusedEndpoint(endpoint, this.#settings) : null;
    if (refused !== null) return { ok: true, value: notSent(url, refused, destination) };
    const resolved = await this.#credentials.forSend(input.headers, stored && originOf(stored.endpoint), originOf(endpoint));
    if (resolved.kind === "unreadable") return { ok: true, value: notSent(url, unreadableFailure(resolved), destination) };
    if (resolved.kind !== "ok") return { ok: false, error: resolutionError(resolved, "test") };
    this.#testTimes.push(nowMs);
    const test = {
      url,
      destination,
      protocol: input.protocol ?? stored?.protocol ?? "http/protobuf",
      compression: input.compression ?? stored?.compression ?? "gzip",
      headers: resolved.value,
      bounds: boundsOf(stored),
    };
    return { ok: true, value: await testConnection(test, realTransport(this.#settings)) };
  }
}
