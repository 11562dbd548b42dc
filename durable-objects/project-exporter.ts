/**
 * One ProjectExporter per project (addressed by project id). It wires the pieces to storage, the
 * alarm and RPC: aggregation.ts (ingest, compaction), one ExportSlot per export (export-slot.ts:
 * pusher, credentials, delta journal), export-saves.ts and src/export/config.ts (what a save
 * leaves), src/export/connection-test.ts. The logic itself lives in those modules and in src/.
 *
 * RPC methods that act on one export take `ref`: an export id, or null for the project's first
 * export (the singular `…/metrics-export` routes).
 */
import { DurableObject } from "cloudflare:workers";
import type { PackedSamples } from "../src/aggregation/packed-samples";
import { reportRetentionMs } from "../src/aggregation/gauges";
import { HeaderCipher } from "../src/crypto/header-crypto";
import { failed, type Result } from "../src/errors";
import { nextPushAt } from "../src/export/schedule";
import type { StoredConfig } from "../src/export/status";
import type { ExportView } from "../src/export/view";
import { settingsOf, type RawEnv, type Settings } from "../src/settings";
import type { ConnectionTestInput, ExportConfigPatch, ExportConfigPut } from "../src/validation/export-config";
import type { Actor } from "../src/audit/changes";
import type { NotificationCreate, NotificationPatch } from "../src/validation/notifications";
import { AggregateStore } from "./aggregate-store";
import { AuditLog, type AuditRecord } from "./audit-log";
import { NotificationRegistry, type NotificationView } from "./notification-registry";
import { Notifier } from "./notifier";
import { Aggregation } from "./aggregation";
import { EndingSeries } from "./ending-series";
import { ExportActions } from "./export-actions";
import { ExportCollection } from "./export-collection";
import { exportNotFound } from "./export-saves";
import type { ExportSlot } from "./export-slot";
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
/**
 * While nothing is pushed (export disabled, paused or not configured), the alarm still comes at
 * least this often for housekeeping: compaction, expiry, and re-sealing header values after a key
 * rotation (README "Rotating the encryption key").
 */
export const IDLE_HOUSEKEEPING_MS = 60 * 60_000;
/** A running push's watchdog alarm, in request timeouts (a push of one request and its retries takes at most about 4). */
const PUSH_WATCHDOG_TIMEOUTS = 5;


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
  /** The alarm this instance last set (null: none, or not known since it started). */
  #alarmAt: number | null = null;

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
      syncAlarm: () => this.#syncAlarm(),
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
      syncAlarm: () => this.#syncAlarm(),
      statusStored: (exportId, exportName, before, after) => {
        // In the push's transaction; deliveries start once it has committed.
        if (this.#notifier.enqueue(exportId, exportName, before, after, Date.now())) setTimeout(() => void this.#deliverNotifications(), 0);
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
    this.#actions = new ExportActions({ exports: this.#exports, store: this.#store, settings: () => this.#settings, syncAlarm: () => this.#syncAlarm() });
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
    if (this.#alarmAt === null) void this.#syncAlarm().catch(() => {});
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
    this.#write("housekeeping", () => this.#audit.expire(nowMs));
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

  /** An audit entry from outside the object (project keys created or revoked by the admin routes). */
  recordAudit(projectId: string, record: AuditRecord): void {
    this.#bind(projectId);
    this.#write("config", () => this.#audit.append(record, Date.now()));
  }

  async #deliverNotifications(): Promise<void> {
    try {
      await this.#notifier.deliverDue();
    } catch (err) {
      console.error(JSON.stringify({ event: "notification_delivery_failed", project_id: this.#projectId, error: err instanceof Error ? err.name : "unknown" }));
    }
    await this.#syncAlarm();
  }

  // --- the alarm and pushes ----------------------------------------------------------------------

  /**
   * When export `id` pushes next (null: it does not: disabled or paused). While its push runs, a
   * watchdog time instead: should the object die mid-push, that alarm pushes again (a push that
   * ends normally sets the next slot, and one still running when the watchdog fires is left alone).
   */
  #dueAt(id: string, config: StoredConfig): number | null {
    const status = this.#store.status(id);
    if (!config.enabled || status.pausedAt !== null) return null;
    if (this.#exports.slot(id).pusher.running) return Date.now() + PUSH_WATCHDOG_TIMEOUTS * this.#settings.requestTimeoutMs;
    return status.nextPushAt ?? Date.now();
  }

  /**
   * The earliest due export's next push; otherwise, while the object holds anything, the next idle
   * housekeeping (every push housekeeps too, and the interval is at most an hour).
   */
  async #syncAlarm(): Promise<void> {
    const exports = this.#store.exports();
    const due = exports.map((e) => this.#dueAt(e.id, e.config)).filter((at): at is number => at !== null);
    const delivery = this.#notifier.nextDueAt();
    if (delivery !== null) due.push(delivery);
    const holdsState = exports.length > 0 || this.#aggregation.holdsState();
    const housekeptAt = this.#lastHousekeepingMs > 0 ? this.#lastHousekeepingMs : Date.now();
    const at = due.length > 0 ? Math.min(...due) : holdsState ? housekeptAt + IDLE_HOUSEKEEPING_MS : null;
    if (at === null) {
      await this.ctx.storage.deleteAlarm();
      this.#alarmAt = null;
      return;
    }
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }

  /**
   * Idempotent: whatever woke it, it housekeeps (re-sealing header values too) and starts the push
   * of every export whose time has come, each on its own. It waits for them only until another
   * export is due, so a slow or failing export (timeouts, Retry-After) never holds another's push:
   * the next alarm fires on time while the slow push goes on.
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
    const started = this.#store
      .exports()
      .filter((e) => {
        const at = this.#dueAt(e.id, e.config);
        return at !== null && nowMs >= at && !this.#exports.slot(e.id).pusher.running;
      })
      .map((e) => this.#scheduledPush(projectId, this.#exports.slot(e.id)));
    const delivery = this.#notifier.nextDueAt();
    if (delivery !== null && delivery <= nowMs) started.push(this.#deliverNotifications());
    await this.#syncAlarm();
    if (started.length === 0) return;
    const next = this.#alarmAt;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const untilNext = new Promise<void>((resolve) => {
      if (next !== null) timer = setTimeout(resolve, Math.max(0, next - Date.now()));
    });
    await Promise.race([Promise.allSettled(started), untilNext]);
    clearTimeout(timer);
  }

  async #scheduledPush(projectId: string, slot: ExportSlot): Promise<void> {
    const next = () => nextPushAt(slot.scheduleKey(projectId), this.#settings.exportIntervalMs, Date.now());
    try {
      // The push stores the next slot with its outcome (one row).
      await slot.pusher.push(projectId, next);
    } catch (err) {
      console.error(JSON.stringify({ event: "push_crashed", project_id: projectId, export_id: slot.id, error: err instanceof Error ? err.name : "unknown" }));
    } finally {
      // Unless it did not get that far (nothing to send, abandoned, crashed, or it joined another push).
      const after = this.#store.config(slot.id) === null ? null : this.#store.status(slot.id);
      if (after !== null && (after.nextPushAt === null || after.nextPushAt <= Date.now())) {
        this.#write("push", () => this.#store.saveStatus(slot.id, { ...after, nextPushAt: next() }));
      }
      await this.#syncAlarm();
    }
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
