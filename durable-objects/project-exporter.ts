/**
 * One ProjectExporter per project (addressed by project id). It wires the pieces to storage, the
 * alarm and RPC: aggregation.ts (ingest, compaction), one ExportSlot per export (export-slot.ts:
 * pusher, credentials, delta journal), export-saves.ts and src/export/config.ts (what a save
 * leaves), src/export/connection-test.ts, alarm-schedule.ts (when the alarm comes and what it starts),
 * notification-registry.ts and notifier.ts (webhooks and their deliveries), audit-log.ts. The logic
 * itself lives in those modules and in src/.
 *
 * RPC methods that act on one export take `ref`: an export id, or null for the project's first
 * export (the singular `…/metrics-export` routes).
 */
import { DurableObject } from "cloudflare:workers";
import type { PackedSamples } from "../src/aggregation/packed-samples";
import { reportRetentionMs } from "../src/aggregation/gauges";
import { HeaderCipher } from "../src/crypto/header-crypto";
import { failed, type Result } from "../src/errors";
import type { ExportView } from "../src/export/view";
import { settingsOf, type RawEnv, type Settings } from "../src/settings";
import type { ConnectionTestInput, ExportConfigPatch, ExportConfigPut } from "../src/validation/export-config";
import type { Actor } from "../src/audit/changes";
import type { NotificationCreate, NotificationPatch } from "../src/validation/notifications";
import { AggregateStore } from "./aggregate-store";
import { AlarmSchedule } from "./alarm-schedule";
import { AuditLog, type AuditRecord } from "./audit-log";
import { NotificationRegistry, type NotificationView } from "./notification-registry";
import { Notifier } from "./notifier";
import { Aggregation } from "./aggregation";
import { EndingSeries } from "./ending-series";
import { ExportActions } from "./export-actions";
import { ExportCollection } from "./export-collection";
import { exportNotFound } from "./export-saves";
import { FIRST_EXPORT_ID } from "./legacy-v3";
import { DEFAULT_PREVIEW_SERIES } from "./pusher";
import { RowMeter, type WriteCategory } from "./row-meter";
import { SeriesExpiry } from "./series-expiry";
import type { ConnectionTestResult, FlushResult, IngestResult, Preview, SaveResult, StorageStats } from "./rpc-types";
import { migrate } from "./sql-migrations";
import { ProjectStore } from "./store";

export type { ConnectionTestResult, FlushResult, IngestResult, Preview, SaveResult, StorageStats } from "./rpc-types";
export { MAX_PREVIEW_SERIES } from "./pusher";
export { MAX_EXPORTS_PER_PROJECT } from "./export-saves";
export { CONNECTION_TESTS_PER_MINUTE } from "./export-actions";

/** At most this many (app, region) series per project; new ones beyond are rejected. */
export const MAX_SERIES_PER_PROJECT = 2000;
/** Batches are remembered (idempotency) for at least an hour. */
export const BATCH_RETENTION_MS = 65 * 60_000;
const HOUSEKEEPING_EVERY_MS = 60_000;
export { IDLE_HOUSEKEEPING_MS } from "./alarm-schedule";


/** The object reads its settings from the raw env, and writes the operator overview to D1. */
export type ExporterEnv = RawEnv & { DB: D1Database };

export class ProjectExporter extends DurableObject<ExporterEnv> {
  #meter = new RowMeter();
  #store: ProjectStore;
  #rows: AggregateStore;
  #aggregation: Aggregation;
  #ending = new EndingSeries();
  #expiry: SeriesExpiry;
  #exports: ExportCollection;
  #audit: AuditLog;
  #notifications: NotificationRegistry;
  #notifier: Notifier;
  #projectId: string | null = null;
  #cipher: Promise<HeaderCipher> | null = null;
  #actions: ExportActions;
  #lastHousekeepingMs = 0;
  #schedule: AlarmSchedule;

  constructor(ctx: DurableObjectState, env: ExporterEnv) {
    super(ctx, env);
    const sql = this.#meter.wrap(ctx.storage.sql);
    this.#store = new ProjectStore(sql);
    this.#rows = new AggregateStore(sql);
    this.#aggregation = new Aggregation(this.#rows, this.#store, (category, writes) => this.#write(category, writes), this.#meter);
    this.#audit = new AuditLog(sql);
    this.#notifications = new NotificationRegistry({
      sql,
      cipher: () => this.#cipherFor(this.#projectId!),
      write: (writes) => this.#write("config", writes),
      audit: (record) => this.#audit.append(record, Date.now()),
      syncAlarm: () => this.#schedule.sync(),
    });
    this.#notifier = new Notifier({
      sql,
      registry: this.#notifications,
      settings: () => this.#settings,
      projectId: () => this.#projectId!,
      pageOrigin: () => this.#store.meta("page_origin"),
      write: (writes) => this.#write("config", writes),
    });
    this.#exports = new ExportCollection({
      store: this.#store,
      rows: this.#rows,
      aggregation: this.#aggregation,
      meter: this.#meter,
      ending: this.#ending,
      cipher: () => this.#cipherFor(this.#projectId!),
      projectId: () => this.#projectId!,
      settings: () => this.#settings,
      db: () => this.env.DB,
      write: (category, writes) => this.#write(category, writes),
      deleteSeries: (keys) => this.#expiry.delete(keys),
      syncAlarm: () => this.#schedule.sync(),
      statusStored: (exportId, exportName, before, after) => {
        // In the push's transaction; deliveries start once it has committed.
        if (this.#notifier.enqueue(exportId, exportName, before, after, Date.now())) setTimeout(() => void this.#schedule.deliverNotifications(this.#projectId), 0);
      },
      audit: (record) => this.#audit.append(record, Date.now()),
    });
    this.#expiry = new SeriesExpiry({
      aggregation: this.#aggregation,
      store: this.#store,
      ending: this.#ending,
      slots: () => this.#exports.slots.values(),
      settings: () => this.#settings,
      write: (writes) => this.#write("housekeeping", writes),
    });
    this.#schedule = new AlarmSchedule({
      storage: ctx.storage,
      store: this.#store,
      exports: this.#exports,
      notifier: this.#notifier,
      settings: () => this.#settings,
      holdsState: () => this.#aggregation.holdsState(),
      lastHousekeepingMs: () => this.#lastHousekeepingMs,
      write: (category, writes) => this.#write(category, writes),
    });
    this.#actions = new ExportActions({ exports: this.#exports, store: this.#store, settings: () => this.#settings, syncAlarm: () => this.#schedule.sync() });
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      this.#projectId = this.#store.meta("project_id");
      this.#write("housekeeping", () => {
        this.#aggregation.load(this.#exports.bounds());
        for (const { id } of this.#store.exports()) this.#exports.slot(id).journal.load(this.#rows.journal(id));
      });
      // A save rebuckets in memory and compacts after its transaction; had the object died in
      // between, stored series still hold the old bounds: rebucket them now.
      const rebucketed = this.#aggregation.rebucketAll(this.#exports.bounds(), Date.now());
      if (rebucketed.length > 0) {
        this.#write("housekeeping", () => {
          for (const slot of this.#exports.slots.values()) slot.journal.forget(rebucketed, "unconfirmed");
        });
        this.#aggregation.compact();
      }
      // Values stored before the origin and export bindings (or under the previous key) are re-sealed now.
      await this.#exports.resealHeaders().catch(() => {});
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

  // --- ingest and housekeeping -----------------------------------------------------------------

  /** One host batch for this project, at most once per (host_id, batch_id); 202 means durable. */
  ingest(projectId: string, hostId: string, batchId: string, samples: PackedSamples, nowMs = Date.now()): IngestResult {
    this.#bind(projectId);
    this.#housekeeping(nowMs);
    const result = this.#aggregation.ingest(hostId, batchId, samples, nowMs, this.#exports.bounds(), MAX_SERIES_PER_PROJECT);
    if (!result.duplicate) this.#expiry.revive(nowMs);
    if (this.#aggregation.compactionDue) this.#aggregation.compact();
    // The first write of an object that has no alarm yet brings the idle housekeeping alarm.
    if (this.#schedule.alarmAt === null) void this.#schedule.sync().catch(() => {});
    return result;
  }

  storageStats(projectId: string): StorageStats {
    this.#bind(projectId);
    const first = this.#store.exports()[0];
    return {
      database_size_bytes: this.ctx.storage.sql.databaseSize,
      ...this.#aggregation.stats(),
      last_push: first ? this.#exports.slot(first.id).pusher.lastPush : null,
      rows_written_total: { ...this.#meter.totals, all: this.#meter.total },
    };
  }

  #housekeeping(nowMs: number, force = false): void {
    if (!force && nowMs - this.#lastHousekeepingMs < HOUSEKEEPING_EVERY_MS) return;
    this.#lastHousekeepingMs = nowMs;
    this.#aggregation.compact();
    this.#aggregation.expire(nowMs - BATCH_RETENTION_MS, nowMs - reportRetentionMs(this.#settings.exportIntervalMs));
    this.#expiry.expire(nowMs);
    if (this.#audit.hasExpired(nowMs)) this.#write("housekeeping", () => this.#audit.expire(nowMs));
  }

  // --- export configuration (export-collection.ts) ----------------------------------------------

  listExports(projectId: string): { exports: ExportView[] } {
    this.#bind(projectId);
    return this.#exports.list();
  }

  getExport(projectId: string, ref: string | null): Result<ExportView> {
    this.#bind(projectId);
    return this.#exports.get(ref);
  }

  /** POST to the collection: a new export. Input is validated by the worker. */
  createExport(projectId: string, input: ExportConfigPut, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    return this.#exports.create(input, warnings, actor);
  }

  /** PUT: the whole configuration ("Save & Enable"); on the singular route it creates the first export. */
  putExport(projectId: string, ref: string | null, input: ExportConfigPut, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    return this.#exports.put(ref, input, warnings, actor);
  }

  /** PATCH: any subset. */
  patchExport(projectId: string, ref: string | null, input: ExportConfigPatch, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    this.#bind(projectId);
    return this.#exports.patch(ref, input, warnings, actor);
  }

  deleteExport(projectId: string, ref: string | null, actor: Actor): Promise<Result<null>> {
    this.#bind(projectId);
    return this.#exports.remove(ref, actor);
  }

  /** Re-enables an export (paused after repeated failures, or disabled) and pushes promptly. */
  resumeExport(projectId: string, ref: string | null, actor: Actor): Promise<Result<ExportView>> {
    this.#bind(projectId);
    return this.#exports.resume(ref, actor);
  }

  // --- notifications and the audit log (notification-registry.ts, notifier.ts, audit-log.ts) ----

  /** Where links in notifications point: the origin the project's API was last called at. */
  #notePageOrigin(origin: string): void {
    if (this.#store.meta("page_origin") !== origin) this.#write("config", () => this.#store.setMeta("page_origin", origin));
  }

  listNotifications(projectId: string): { notifications: NotificationView[] } {
    this.#bind(projectId);
    return this.#notifications.list();
  }

  getNotification(projectId: string, id: string): Result<NotificationView> {
    this.#bind(projectId);
    return this.#notifications.get(id);
  }

  createNotification(projectId: string, input: NotificationCreate, actor: Actor, origin: string): Promise<Result<NotificationView & { secret: string }>> {
    this.#bind(projectId);
    this.#notePageOrigin(origin);
    return this.#notifications.create(input, actor);
  }

  patchNotification(projectId: string, id: string, input: NotificationPatch, actor: Actor, origin: string): Promise<Result<NotificationView & { secret?: string }>> {
    this.#bind(projectId);
    this.#notePageOrigin(origin);
    return this.#notifications.patch(id, input, actor);
  }

  deleteNotification(projectId: string, id: string, actor: Actor): Promise<Result<null>> {
    this.#bind(projectId);
    return this.#notifications.remove(id, actor);
  }

  testNotification(projectId: string, id: string, origin: string) {
    this.#bind(projectId);
    this.#notePageOrigin(origin);
    return this.#notifier.test(id);
  }

  auditLog(projectId: string, limit: number, before: number | null) {
    this.#bind(projectId);
    return this.#audit.page(limit, before);
  }

  /**
   * An audit entry from outside the object (project keys created or revoked by the admin routes);
   * `unlessRecorded`: not when the log holds an entry of the same action on the same target.
   */
  recordAudit(projectId: string, record: AuditRecord, options: { unlessRecorded?: boolean } = {}): void {
    this.#bind(projectId);
    if (options.unlessRecorded && this.#audit.holds(record.action, record.target.id)) return;
    this.#write("config", () => this.#audit.append(record, Date.now()));
  }

  // --- the alarm (alarm-schedule.ts) --------------------------------------------------------------

  /**
   * Idempotent: whatever woke it, it housekeeps (re-sealing header values too) and starts the push
   * of every export whose time has come and the due notification deliveries (alarm-schedule.ts).
   */
  override async alarm(): Promise<void> {
    const projectId = this.#projectId;
    if (projectId === null) return;
    const nowMs = Date.now();
    try {
      this.#housekeeping(nowMs, true);
      await this.#exports.resealHeaders();
      await this.#notifications.reseal();
    } catch (err) {
      console.error(JSON.stringify({ event: "housekeeping_failed", project_id: projectId, error: err instanceof Error ? err.name : "unknown" }));
    }
    await this.#schedule.runDue(projectId, nowMs);
  }

  /**
   * "Send now": a real push outside the schedule; it counts toward pausing like a scheduled one
   * (export-actions.ts).
   */
  flush(projectId: string, ref: string | null): Promise<Result<FlushResult>> {
    this.#bind(projectId);
    return this.#actions.flush(projectId, ref);
  }

  /** What the next push would carry (works while disabled too, and with no export), bounded to `limit` series. */
  preview(projectId: string, ref: string | null, limit = DEFAULT_PREVIEW_SERIES): Result<Preview> {
    this.#bind(projectId);
    const found = this.#exports.find(ref);
    if (found === null && ref !== null) return failed(exportNotFound(ref));
    const slot = this.#exports.slot(found?.id ?? FIRST_EXPORT_ID);
    return { ok: true, value: slot.pusher.preview(projectId, found?.config ?? null, limit) };
  }

  /** Test Connection: one valid OTLP request with no data points, one try, no state changed (export-actions.ts). */
  testConnection(projectId: string, ref: string | null, input: ConnectionTestInput): Promise<Result<ConnectionTestResult>> {
    this.#bind(projectId);
    return this.#actions.testConnection(ref, input);
  }
}
