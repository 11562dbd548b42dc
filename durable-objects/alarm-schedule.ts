/**
 * The object's one alarm: when it comes (the earliest due export push, notification delivery or, while
 * the object holds anything, idle housekeeping) and what it starts (every due export's push on its
 * own, and due deliveries). A slow or failing export never holds another's push: the alarm waits for
 * the pushes it started only until the next one is due.
 */
import { nextPushAt } from "../src/export/schedule";
import type { StoredConfig } from "../src/export/status";
import type { Settings } from "../src/settings";
import type { ExportCollection } from "./export-collection";
import type { ExportSlot } from "./export-slot";
import type { Notifier } from "./notifier";
import type { WriteCategory } from "./row-meter";
import type { ProjectStore } from "./store";

/**
 * While nothing is pushed (export disabled, paused or not configured), the alarm still comes at
 * least this often for housekeeping: compaction, expiry, and re-sealing header values after a key
 * rotation (README "Rotating the encryption key").
 */
export const IDLE_HOUSEKEEPING_MS = 60 * 60_000;
/** A running push's watchdog alarm, in request timeouts (a push of one request and its retries takes at most about 4). */
const PUSH_WATCHDOG_TIMEOUTS = 5;

export interface AlarmScheduleDeps {
  storage: DurableObjectStorage;
  store: ProjectStore;
  exports: ExportCollection;
  notifier: Notifier;
  settings: () => Settings;
  /** Whether the object holds aggregated state (it then housekeeps even with no export). */
  holdsState: () => boolean;
  /** When housekeeping last ran (0: not since the object started). */
  lastHousekeepingMs: () => number;
  write: <T>(category: WriteCategory, writes: () => T) => T;
}

export class AlarmSchedule {
  /** The alarm this instance last set (null: none, or not known since it started). */
  alarmAt: number | null = null;

  constructor(private readonly d: AlarmScheduleDeps) {}

  /**
   * When export `id` pushes next (null: it does not: disabled or paused). While its push runs, a
   * watchdog time instead: should the object die mid-push, that alarm pushes again (a push that
   * ends normally sets the next slot, and one still running when the watchdog fires is left alone).
   */
  #dueAt(id: string, config: StoredConfig): number | null {
    const status = this.d.store.status(id);
    if (!config.enabled || status.pausedAt !== null) return null;
    if (this.d.exports.slot(id).pusher.running) return Date.now() + PUSH_WATCHDOG_TIMEOUTS * this.d.settings().requestTimeoutMs;
    return status.nextPushAt ?? Date.now();
  }

  /**
   * The earliest due export's next push or notification delivery; otherwise, while the object holds
   * anything, the next idle housekeeping (every push housekeeps too, and the interval is at most an hour).
   */
  async sync(): Promise<void> {
    const exports = this.d.store.exports();
    const due = exports.map((e) => this.#dueAt(e.id, e.config)).filter((at): at is number => at !== null);
    const delivery = this.d.notifier.nextDueAt();
    if (delivery !== null) due.push(delivery);
    const holdsState = exports.length > 0 || this.d.holdsState();
    const housekeptAt = this.d.lastHousekeepingMs() > 0 ? this.d.lastHousekeepingMs() : Date.now();
    const at = due.length > 0 ? Math.min(...due) : holdsState ? housekeptAt + IDLE_HOUSEKEEPING_MS : null;
    if (at === null) {
      await this.d.storage.deleteAlarm();
      this.alarmAt = null;
      return;
    }
    if ((await this.d.storage.getAlarm()) !== at) await this.d.storage.setAlarm(at);
    this.alarmAt = at;
  }

  /** Delivers the queued notifications that are due, then re-sets the alarm. Never throws. */
  async deliverNotifications(projectId: string | null): Promise<void> {
    try {
      await this.d.notifier.deliverDue();
    } catch (err) {
      console.error(JSON.stringify({ event: "notification_delivery_failed", project_id: projectId, error: err instanceof Error ? err.name : "unknown" }));
    }
    await this.sync();
  }

  /**
   * The alarm's work after housekeeping: starts the push of every export whose time has come, each
   * on its own, and the due deliveries; waits for them only until something else is due.
   */
  async runDue(projectId: string, nowMs: number): Promise<void> {
    const started = this.d.store
      .exports()
      .filter((e) => {
        const at = this.#dueAt(e.id, e.config);
        return at !== null && nowMs >= at && !this.d.exports.slot(e.id).pusher.running;
      })
      .map((e) => this.#scheduledPush(projectId, this.d.exports.slot(e.id)));
    const delivery = this.d.notifier.nextDueAt();
    if (delivery !== null && delivery <= nowMs) started.push(this.deliverNotifications(projectId));
    await this.sync();
    if (started.length === 0) return;
    const next = this.alarmAt;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const untilNext = new Promise<void>((resolve) => {
      if (next !== null) timer = setTimeout(resolve, Math.max(0, next - Date.now()));
    });
    await Promise.race([Promise.allSettled(started), untilNext]);
    clearTimeout(timer);
  }

  async #scheduledPush(projectId: string, slot: ExportSlot): Promise<void> {
    const next = () => nextPushAt(slot.scheduleKey(projectId), this.d.settings().exportIntervalMs, Date.now());
    try {
      // The push stores the next slot with its outcome (one row).
      await slot.pusher.push(projectId, next);
    } catch (err) {
      console.error(JSON.stringify({ event: "push_crashed", project_id: projectId, export_id: slot.id, error: err instanceof Error ? err.name : "unknown" }));
    } finally {
      // Unless it did not get that far (nothing to send, abandoned, crashed, or it joined another push).
      const after = this.d.store.config(slot.id) === null ? null : this.d.store.status(slot.id);
      if (after !== null && (after.nextPushAt === null || after.nextPushAt <= Date.now())) {
        this.d.write("push", () => this.d.store.saveStatus(slot.id, { ...after, nextPushAt: next() }));
      }
      await this.sync();
    }
  }
}
