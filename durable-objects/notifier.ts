/**
 * A project's notification events and their durable delivery queue (`notification_outbox`): the
 * events a push's outcome raises (src/notifications/events.ts, with the quiet period) are enqueued
 * in the same transaction as the status that raised it, delivered by the object's alarm, retried
 * with backoff on network errors, 408/425/429 and 5xx for up to an hour, and deleted once
 * delivered. Every delivery carries the event id as `Idempotency-Key` (and in the body); generic
 * JSON deliveries are signed. The webhooks themselves are notification-registry.ts's.
 */
import type { Result } from "../src/errors";
import type { ExportStatus } from "../src/export/status";
import { classifyDelivery, retryAt } from "../src/notifications/delivery-policy";
import { decide, exportEvents, INITIAL_RUN_STATE, type NotificationEventType, type RunState } from "../src/notifications/events";
import { iso, jsonBody, slackBody, type NotificationEvent } from "../src/notifications/payload";
import { IDEMPOTENCY_HEADER, signatureHeader, SIGNATURE_HEADER } from "../src/notifications/signature";
import type { Settings } from "../src/settings";
import { notificationNotFound, webhookUrlProblem } from "../src/validation/notifications";
import { type LastDelivery, type NotificationRegistry, type NotificationRow } from "./notification-registry";

interface OutboxRow extends Record<string, SqlStorageValue> {
  notification_id: string;
  event_id: string;
  event: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
}

export interface NotifierDeps {
  sql: SqlStorage;
  registry: NotificationRegistry;
  settings: () => Settings;
  projectId: () => string;
  /** The Metrics Export page's origin, when a request has told the object (null: not known yet). */
  pageOrigin: () => string | null;
  write: <T>(writes: () => T) => T;
}

function newEventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, "")}`;
}

/** What one attempt came back with. */
interface Attempt {
  outcome: "delivered" | "retry" | "give_up";
  status: number | null;
  error: string | null;
  retryAfter: string | null;
  latencyMs: number;
}

/** A webhook's last delivery after an attempt (`next`: when it is tried again; null: not again). */
function lastDelivery(event: NotificationEvent, attempt: Attempt, attempts: number, next: number | null, nowMs: number): LastDelivery {
  const ok = attempt.outcome === "delivered";
  return {
    at: new Date(nowMs).toISOString(),
    event_id: event.id,
    type: event.type,
    ok,
    http_status: attempt.status,
    attempts,
    error: attempt.error,
    state: ok ? "delivered" : next !== null ? "retrying" : "gave up",
    next_attempt_at: iso(next),
  };
}

export class Notifier {
  /** Deliveries under way in this instance (an alarm and a test never send one event twice at once). */
  #sending = new Set<string>();

  constructor(private readonly d: NotifierDeps) {}

  /**
   * Inside the transaction that stores a push's outcome: the events it raises, one outbox row per
   * webhook that wants it and is not in its quiet period. Writes nothing when nothing changed.
   */
  enqueue(exportId: string, exportName: string, before: ExportStatus, after: ExportStatus, nowMs: number): boolean {
    const types = exportEvents(before, after);
    if (types.length === 0) return false;
    const rows = this.d.registry.rows();
    let queued = false;
    for (const r of rows) {
      const wanted = JSON.parse(r.events) as NotificationEventType[];
      let state = this.#runState(r.notification_id, exportId);
      const initial = state;
      for (const type of types) {
        if (!wanted.includes(type)) continue;
        const decision = decide(type, state, nowMs, r.quiet_period_ms);
        state = decision.state;
        if (!decision.send) continue;
        const event = this.#event(type, exportId, exportName, after, nowMs, false);
        this.d.sql.exec(
          "INSERT INTO notification_outbox (notification_id, event_id, event, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)",
          r.notification_id, event.id, JSON.stringify(event), nowMs, nowMs,
        );
        queued = true;
      }
      if (state.failingSentAt !== initial.failingSentAt || state.announced !== initial.announced) {
        this.d.sql.exec(
          "INSERT INTO notification_runs (notification_id, export_id, failing_sent_at, announced) VALUES (?, ?, ?, ?) " +
            "ON CONFLICT (notification_id, export_id) DO UPDATE SET failing_sent_at = excluded.failing_sent_at, announced = excluded.announced",
          r.notification_id, exportId, state.failingSentAt, state.announced ? 1 : 0,
        );
      }
    }
    return queued;
  }

  #runState(notificationId: string, exportId: string): RunState {
    // Deleted with the export (store.deleteExport): a new export with the same id starts with none.
    const row = this.d.sql
      .exec<{ failing_sent_at: number | null; announced: number }>(
        "SELECT failing_sent_at, announced FROM notification_runs WHERE notification_id = ? AND export_id = ?",
        notificationId,
        exportId,
      )
      .toArray()[0];
    return row === undefined ? INITIAL_RUN_STATE : { failingSentAt: row.failing_sent_at, announced: row.announced === 1 };
  }

  #event(type: NotificationEventType, exportId: string, exportName: string, s: ExportStatus, nowMs: number, test: boolean): NotificationEvent {
    const origin = this.d.pageOrigin();
    const projectId = this.d.projectId();
    const e = s.lastError;
    return {
      id: newEventId(),
      type,
      occurredAt: nowMs,
      project: { id: projectId },
      export: { id: exportId, name: exportName },
      failures: s.consecutiveFailures,
      pausedAt: s.pausedAt,
      lastSuccessAt: s.lastSuccessAt,
      error: e ? { classification: e.classification, httpStatus: e.httpStatus, message: e.message, hint: e.hint } : null,
      pageUrl: origin === null ? null : `${origin}/projects/${projectId}/integrations/metrics-export`,
      ...(test ? { test: true } : {}),
    };
  }

  // --- delivery -------------------------------------------------------------------------------

  /**
   * When the next queued delivery is due (null: none queued). A delivery under way is not due
   * again until its attempt has had time to end (a watchdog, should the object die mid-attempt):
   * reported as due now, it made the alarm fire again and again for as long as the webhook took.
   */
  nextDueAt(): number | null {
    const rows = this.d.sql
      .exec<{ event_id: string; next_attempt_at: number }>("SELECT event_id, next_attempt_at FROM notification_outbox ORDER BY next_attempt_at LIMIT ?", this.#sending.size + 1)
      .toArray();
    const idle = rows.find((r) => !this.#sending.has(r.event_id))?.next_attempt_at ?? null;
    if (this.#sending.size === 0) return idle;
    const watchdog = Date.now() + 2 * this.d.settings().requestTimeoutMs;
    return idle === null ? watchdog : Math.min(idle, watchdog);
  }

  /** Delivers every queued event that is due (the alarm calls this). */
  async deliverDue(nowMs = Date.now()): Promise<void> {
    const due = this.d.sql.exec<OutboxRow>("SELECT * FROM notification_outbox WHERE next_attempt_at <= ? ORDER BY created_at LIMIT 50", nowMs).toArray();
    await Promise.all(due.filter((o) => !this.#sending.has(o.event_id)).map((o) => this.#deliver(o)));
  }

  async #deliver(o: OutboxRow): Promise<void> {
    this.#sending.add(o.event_id);
    try {
      const r = this.d.registry.row(o.notification_id);
      if (r === null) return;
      const event = JSON.parse(o.event) as NotificationEvent;
      const attempt = await this.#attempt(r, event);
      const attempts = o.attempts + 1;
      const nowMs = Date.now();
      const next = attempt.outcome === "retry" ? retryAt(o.created_at, attempts, this.d.settings().notificationRetryBaseMs, nowMs, attempt.retryAfter) : null;
      const last = lastDelivery(event, attempt, attempts, next, nowMs);
      this.d.write(() => {
        if (next === null) this.d.sql.exec("DELETE FROM notification_outbox WHERE notification_id = ? AND event_id = ?", o.notification_id, o.event_id);
        else this.d.sql.exec("UPDATE notification_outbox SET attempts = ?, next_attempt_at = ? WHERE notification_id = ? AND event_id = ?", attempts, next, o.notification_id, o.event_id);
        this.d.registry.setLastDelivery(o.notification_id, last);
      });
      if (last.state === "gave up") {
        console.warn(JSON.stringify({ event: "notification_gave_up", project_id: this.d.projectId(), notification_id: o.notification_id, event_id: event.id, attempts }));
      }
    } finally {
      this.#sending.delete(o.event_id);
    }
  }

  /** One POST of `event` to the webhook (redirects are not followed; the URL is never in the error). */
  async #attempt(r: NotificationRow, event: NotificationEvent): Promise<Attempt> {
    const started = Date.now();
    const opened = await this.d.registry.open(r);
    if (!opened.ok) return { outcome: "give_up", status: null, error: opened.message, retryAfter: null, latencyMs: 0 };
    const problem = webhookUrlProblem(opened.url, this.d.settings().allowPrivateEndpoints);
    if (problem !== null) return { outcome: "give_up", status: null, error: `the webhook URL is not allowed here: it ${problem}`, retryAfter: null, latencyMs: 0 };
    const body = r.format === "slack" ? slackBody(event) : jsonBody(event);
    const headers: Record<string, string> = { "Content-Type": "application/json", "User-Agent": "metrics-export-notifier/1", [IDEMPOTENCY_HEADER]: event.id };
    if (r.format === "json") headers[SIGNATURE_HEADER] = await signatureHeader(opened.secret, Math.floor(Date.now() / 1000), body);
    try {
      const response = await fetch(opened.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(this.d.settings().requestTimeoutMs) });
      await response.body?.cancel().catch(() => {});
      const outcome = classifyDelivery({ kind: "status", status: response.status });
      return {
        outcome,
        status: response.status,
        error: outcome === "delivered" ? null : `the webhook answered HTTP ${response.status}`,
        retryAfter: response.headers.get("retry-after"),
        latencyMs: Date.now() - started,
      };
    } catch (err) {
      const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return {
        outcome: classifyDelivery(timeout ? { kind: "timeout" } : { kind: "network" }),
        status: null,
        error: timeout ? "the webhook did not answer in time" : "the webhook could not be reached",
        retryAfter: null,
        latencyMs: Date.now() - started,
      };
    }
  }

  /** POST …/test: a sample event sent now, once, outside the queue; its outcome becomes the last delivery. */
  async test(id: string): Promise<Result<{ ok: boolean; event_id: string; http_status: number | null; latency_ms: number; message: string | null }>> {
    const r = this.d.registry.row(id);
    if (r === null) return notificationNotFound(id);
    const sample: ExportStatus = {
      consecutiveFailures: 10,
      lastSuccessAt: Date.now() - 11 * 60_000,
      lastAttemptAt: Date.now(),
      lastError: { at: Date.now(), httpStatus: 401, classification: "unauthorized", message: "This is a test notification: no export is affected.", hint: "Nothing to do: this shows how a paused export is reported." },
      pausedAt: Date.now(),
      warning: null,
      totals: { pushesSucceeded: 0, pushesFailed: 0, retries: 0, dataPointsSent: 0, bytesSent: 0, lastPushDurationMs: null },
      nextPushAt: null,
    };
    const event = this.#event("export.paused", "test-export", "Test export", sample, Date.now(), true);
    const attempt = await this.#attempt(r, event);
    const last = lastDelivery(event, attempt, 1, null, Date.now());
    this.d.write(() => this.d.registry.setLastDelivery(id, last));
    return { ok: true, value: { ok: last.ok, event_id: event.id, http_status: attempt.status, latency_ms: attempt.latencyMs, message: attempt.error } };
  }
}
