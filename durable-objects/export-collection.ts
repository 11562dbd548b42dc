/**
 * A project's exports (at most 5): their slots, what each save, delete and resume leaves, the
 * views the API answers, and the operator overview in D1 (`export_states`, src/export-states.ts)
 * that follows each export's state changes. The object (project-exporter.ts) owns storage
 * transactions, the alarm and RPC; this class owns the exports' part of them.
 */
import { exportChanges, headerChangesFromInput, type Actor } from "../src/audit/changes";
import type { HeaderCipher } from "../src/crypto/header-crypto";
import { failed, type Result } from "../src/errors";
import { forgetExportState, recordExportState } from "../src/export-states";
import { boundsOf, configFromPatch, configFromPut, saveStartsStatusOver } from "../src/export/config";
import { compileFilters } from "../src/export/filters";
import type { MetricDefinition } from "../src/export/metric-definitions";
import { nextPushAt } from "../src/export/schedule";
import { exportState, statusAfterResume, statusAfterSave, type ExportStatus, type StoredConfig } from "../src/export/status";
import { exportView, type ExportView, type PerPush } from "../src/export/view";
import type { Settings } from "../src/settings";
import type { ExportConfigPatch, ExportConfigPut, HeaderInput } from "../src/validation/export-config";
import type { AggregateStore } from "./aggregate-store";
import type { AuditRecord } from "./audit-log";
import type { Aggregation } from "./aggregation";
import { originOf, resolutionError } from "./credentials";
import type { EndingSeries } from "./ending-series";
import { boundsForSave, defaultName, exportNotFound, notConfigured, presetHeaderError, saveConflict } from "./export-saves";
import { ExportSlot, newExportId } from "./export-slot";
import { FIRST_EXPORT_ID } from "./legacy-v3";
import type { RowMeter, WriteCategory } from "./row-meter";
import type { SaveResult } from "./rpc-types";
import type { ProjectStore } from "./store";

export interface CollectionDeps {
  store: ProjectStore;
  rows: AggregateStore;
  aggregation: Aggregation;
  meter: RowMeter;
  ending: EndingSeries;
  cipher: () => Promise<HeaderCipher>;
  projectId: () => string;
  settings: () => Settings;
  db: () => D1Database;
  write: <T>(category: WriteCategory, writes: () => T) => T;
  deleteSeries: (keys: string[]) => void;
  syncAlarm: () => Promise<void>;
  /** Inside a push's transaction: the status it leaves (notifications enqueue their events here). */
  statusStored: (exportId: string, exportName: string, before: ExportStatus, after: ExportStatus) => void;
  /** Inside a change's transaction: its audit entry. */
  audit: (record: AuditRecord) => void;
}


export class ExportCollection {
  /** The exports' slots, in the order they were created. */
  readonly slots = new Map<string, ExportSlot>();
  #bounds: readonly number[] | null = null;

  constructor(private readonly d: CollectionDeps) {}

  slot(id: string): ExportSlot {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = new ExportSlot(id, {
        store: this.d.store,
        rows: this.d.rows,
        aggregation: this.d.aggregation,
        meter: this.d.meter,
        ending: this.d.ending,
        cipher: () => this.d.cipher(),
        bounds: () => this.bounds(),
        settings: () => this.d.settings(),
        write: (category, writes) => this.d.write(category, writes),
        ended: (keys) => this.d.deleteSeries(keys),
        storing: (exportId, exportName, before, after) => this.d.statusStored(exportId, exportName, before, after),
        recorded: (exportId, before, after) => this.#recorded(exportId, before, after),
      });
      this.slots.set(id, slot);
    }
    return slot;
  }

  /** The export a request names (null: the first one), or null when there is none. */
  find(ref: string | null): { id: string; config: StoredConfig } | null {
    if (ref === null) return this.d.store.exports()[0] ?? null;
    const config = this.d.store.config(ref);
    return config === null ? null : { id: ref, config };
  }

  /**
   * The project's bucket bounds: every export holds the same (one aggregation feeds them all).
   * Every ingest asks, so they are read once and kept until a save or a delete changes them.
   */
  bounds(): readonly number[] {
    return (this.#bounds ??= boundsOf(this.d.store.exports()[0]?.config ?? null));
  }

  #perPush(config: StoredConfig): PerPush {
    const filters = compileFilters(config.filters);
    const gauges = filters.metrics.filter((m: MetricDefinition) => m.kind === "gauge").length;
    const others = filters.metrics.length - gauges;
    let series = 0;
    let points = 0;
    for (const [key, s] of this.d.aggregation.state.series) {
      if (!filters.keepSeries(s.appName, s.region)) continue;
      series += 1;
      points += others + (this.d.aggregation.state.reports.has(key) ? gauges : 0);
    }
    return { series, data_points: points };
  }

  view(id: string | null): ExportView {
    const config = id === null ? null : this.d.store.config(id);
    if (id === null || config === null) return exportView(null, null, [], this.d.store.status(""), { series: 0, data_points: 0 });
    return exportView(id, config, this.slot(id).credentials.names(), this.d.store.status(id), this.#perPush(config));
  }

  stoppedSending(exportId: string): void {
    const done = this.d.ending.dropExport(exportId);
    if (done.length > 0) this.d.deleteSeries(done);
  }

  async resealHeaders(): Promise<void> {
    if (this.d.projectId() === null) return;
    for (const { id, config } of this.d.store.exports()) {
      const resealed = await this.slot(id).credentials.resealed(originOf(config.endpoint));
      if (resealed !== null) this.d.write("housekeeping", () => this.d.store.replaceHeaders(id, resealed));
    }
  }

  /** The operator overview (D1 `export_states`) follows state changes, not pushes. */
  async #publish(exportId: string, before: ExportStatus | null): Promise<void> {
    const config = this.d.store.config(exportId);
    const projectId = this.d.projectId();
    try {
      if (config === null) {
        await forgetExportState(this.d.db(), projectId, exportId);
        return;
      }
      const status = this.d.store.status(exportId);
      const state = exportState(config, status);
      if (before !== null && exportState(config, before) === state) return;
      await recordExportState(this.d.db(), {
        projectId,
        exportId,
        name: config.name,
        state,
        consecutiveFailures: status.consecutiveFailures,
        lastSuccessAt: status.lastSuccessAt,
        lastAttemptAt: status.lastAttemptAt,
        lastErrorClassification: status.lastError?.classification ?? null,
        lastErrorAt: status.lastError?.at ?? null,
        updatedAt: Date.now(),
      });
    } catch (err) {
      console.error(JSON.stringify({ event: "export_state_not_published", project_id: projectId, export_id: exportId, error: err instanceof Error ? err.name : "unknown" }));
    }
  }

  async #recorded(exportId: string, before: ExportStatus, after: ExportStatus): Promise<void> {
    if (after.pausedAt !== null && before.pausedAt === null) {
      this.stoppedSending(exportId);
      await this.d.syncAlarm();
    }
    await this.#publish(exportId, before);
  }

  // --- export configuration --------------------------------------------------------------------

  list(): { exports: ExportView[] } {
    return { exports: this.d.store.exports().map((e) => this.view(e.id)) };
  }

  get(ref: string | null): Result<ExportView> {
    const found = this.find(ref);
    if (found === null && ref !== null) return failed(exportNotFound(ref));
    return { ok: true, value: this.view(found?.id ?? null) };
  }

  /** POST to the collection: a new export. */
  create(input: ExportConfigPut, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    const exports = this.d.store.exports();
    // The first export of a project is "default" (the id state from before several exports migrated to).
    const id = exports.some((e) => e.id === FIRST_EXPORT_ID) ? newExportId() : FIRST_EXPORT_ID;
    const next = configFromPut(input, null, Date.now(), defaultName(input.destination ?? "custom", exports));
    return this.#save(id, boundsForSave(input.histogram_bounds_ms !== undefined, next, this.#rawBounds(), exports.length), input.headers ?? [], warnings, input.histogram_bounds_ms !== undefined, actor);
  }

  /** PUT: the whole configuration ("Save & Enable"); on the singular route it creates the first export. */
  put(ref: string | null, input: ExportConfigPut, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    const found = this.find(ref);
    if (found === null && ref !== null) return Promise.resolve(failed(exportNotFound(ref)));
    if (found === null) return this.create(input, warnings, actor);
    const exports = this.d.store.exports();
    const next = configFromPut(input, found.config, Date.now(), found.config.name);
    return this.#save(found.id, boundsForSave(input.histogram_bounds_ms !== undefined, next, this.#rawBounds(), exports.length - 1), input.headers ?? [], warnings, true, actor);
  }

  /** PATCH: any subset. */
  patch(ref: string | null, input: ExportConfigPatch, warnings: string[], actor: Actor): Promise<Result<SaveResult>> {
    const found = this.find(ref);
    if (found === null) return Promise.resolve(failed(ref === null ? notConfigured() : exportNotFound(ref)));
    return this.#save(found.id, configFromPatch(input, found.config, Date.now()), input.headers ?? null, warnings, input.histogram_bounds_ms !== undefined, actor);
  }

  #rawBounds(): number[] | null {
    return this.d.store.exports()[0]?.config.histogramBoundsMs ?? null;
  }

  async #save(id: string, next: StoredConfig, headers: HeaderInput[] | null, warnings: string[], setsBounds: boolean, actor: Actor): Promise<Result<SaveResult>> {
    const conflict = saveConflict(id, next, this.d.store.exports());
    if (conflict !== null) return failed(conflict);
    const previous = this.d.store.config(id);
    const slot = this.slot(id);
    const resolved = await slot.credentials.forSave(headers, previous && originOf(previous.endpoint), originOf(next.endpoint));
    if (resolved.kind !== "ok") return failed(resolutionError(resolved, "save"));
    const sealed = resolved.value;
    const preset = presetHeaderError(next.destination, sealed === null ? slot.credentials.names() : sealed.map((h) => h.name));
    if (preset !== null) return failed(preset);
    const nowMs = Date.now();
    const before = previous === null ? null : this.d.store.status(id);
    const storedNames = previous === null ? [] : slot.credentials.names();
    const headerChanges = headerChangesFromInput(storedNames, headers ?? undefined) ?? storedNames.map((name) => ({ name, replaced: false }));
    slot.pusher.replaceConfiguration();
    const boundsChange = setsBounds && JSON.stringify(next.histogramBoundsMs) !== JSON.stringify(this.#rawBounds());
    // Logged batches were applied with the old bounds: fold them in before the bounds change.
    this.d.aggregation.compact();
    const rebucketed = this.d.aggregation.rebucketAll(boundsOf(next), nowMs);
    this.d.write("config", () => {
      this.d.store.saveConfig(id, next);
      if (boundsChange) this.d.store.setBoundsEverywhere(next.histogramBoundsMs);
      this.#bounds = null;
      if (sealed !== null) this.d.store.replaceHeaders(id, sealed);
      let status = this.d.store.status(id);
      const startsOver = saveStartsStatusOver(previous, next, sealed !== null);
      if (startsOver) status = statusAfterSave(status);
      this.d.store.saveStatus(id, { ...status, nextPushAt: next.enabled ? nextPushAt(slot.scheduleKey(this.d.projectId()), this.d.settings().exportIntervalMs, nowMs) : null });
      for (const s of this.slots.values()) s.journal.forget(rebucketed, "unconfirmed");
      this.d.audit({
        actor,
        action: previous === null ? "export.created" : "export.updated",
        target: { kind: "export", id, name: next.name },
        changes: exportChanges(previous, next, { before: storedNames, after: headerChanges }),
        outcome: previous === null ? "created" : startsOver && before !== null && (before.consecutiveFailures > 0 || before.pausedAt !== null) ? "saved; failures and pause cleared" : "saved",
      });
    });
    this.d.aggregation.compact();
    if (!next.enabled) this.stoppedSending(id);
    await this.d.syncAlarm();
    await this.#publish(id, before);
    return { ok: true, value: { ...this.view(id), warnings } };
  }

  async remove(ref: string | null, actor: Actor): Promise<Result<null>> {
    const found = this.find(ref);
    if (found === null) return ref === null ? { ok: true, value: null } : failed(exportNotFound(ref));
    const slot = this.slot(found.id);
    slot.pusher.replaceConfiguration();
    this.d.write("config", () => {
      this.d.store.deleteExport(found.id);
      this.#bounds = null;
      slot.journal.clear();
      this.d.audit({ actor, action: "export.deleted", target: { kind: "export", id: found.id, name: found.config.name }, changes: [], outcome: "deleted" });
    });
    this.slots.delete(found.id);
    this.stoppedSending(found.id);
    await this.d.syncAlarm();
    await this.#publish(found.id, null);
    return { ok: true, value: null };
  }

  /** Re-enables an export (paused after repeated failures, or disabled) and pushes promptly. */
  async resume(ref: string | null, actor: Actor): Promise<Result<ExportView>> {
    const found = this.find(ref);
    if (found === null) return failed(ref === null ? notConfigured() : exportNotFound(ref));
    const nowMs = Date.now();
    const before = this.d.store.status(found.id);
    this.d.write("config", () => {
      this.d.store.saveConfig(found.id, { ...found.config, enabled: true, updatedAt: nowMs });
      this.d.store.saveStatus(found.id, { ...statusAfterResume(before), nextPushAt: nowMs });
      this.d.audit({
        actor,
        action: "export.resumed",
        target: { kind: "export", id: found.id, name: found.config.name },
        changes: found.config.enabled ? [] : [{ field: "enabled", old: false, new: true }],
        outcome: before.pausedAt !== null ? `resumed after ${before.consecutiveFailures} consecutive failures` : "resumed",
      });
    });
    await this.d.syncAlarm();
    await this.#publish(found.id, before);
    return { ok: true, value: this.view(found.id) };
  }

}
