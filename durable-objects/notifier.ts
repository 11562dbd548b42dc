/**
 * A project's notification webhooks (at most 3): their settings with the URL and signing secret
 * sealed like export headers (AES-GCM, bound to the project, the webhook and the URL's origin), the
 * events a push's outcome raises (src/notifications/events.ts, with the quiet period), and their
 * durable delivery queue (`notification_outbox`): an event is enqueued in the same transaction as
 * the status that raised it, delivered by the object's alarm, retried with backoff on network
 * errors, 408/425/429 and 5xx for up to an hour, and deleted once delivered. Every delivery carries
 * the event id as `Idempotency-Key` (and in the body); generic JSON deliveries are signed.
 */
import { notificationChanges, redactUrl, type Actor, type FieldChange } from "../src/audit/changes";
import type { HeaderCipher, SealedValue } from "../src/crypto/header-crypto";
import type { ErrorBody, Result } from "../src/errors";
import type { ExportStatus } from "../src/export/status";
import { classifyDelivery, retryAt } from "../src/notifications/delivery-policy";
import { decide, EVENT_TYPES, exportEvents, INITIAL_RUN_STATE, type NotificationEventType, type RunState } from "../src/notifications/events";
import { jsonBody, slackBody, type NotificationEvent } from "../src/notifications/payload";
import { generateSecret, IDEMPOTENCY_HEADER, signatureHeader, SIGNATURE_HEADER } from "../src/notifications/signature";
import type { Settings } from "../src/settings";
import { checkEndpoint } from "../src/validation/endpoint";
import type { NotificationCreate, NotificationPatch } from "../src/validation/notifications";
import type { AuditRecord } from "./audit-log";

export const MAX_NOTIFICATIONS = 3;
export const DEFAULT_QUIET_PERIOD_SECONDS = 600;

export interface LastDelivery {
  at: string;
  event_id: string;
  type: NotificationEventType;
  ok: boolean;
  http_status: number | null;
  attempts: number;
  /** Why it failed (never a secret: the URL is not in it), or null. */
  error: string | null;
  /** "delivered", "retrying" (with next_attempt_at) or "gave up". */
  state: "delivered" | "retrying" | "gave up";
  next_attempt_at: string | null;
}

export interface NotificationView {
  notification_id: string;
  name: string;
  format: "slack" | "json";
  events: NotificationEventType[];
  quiet_period_seconds: number;
  /** Scheme, host and port only: the rest of a webhook URL is a credential (Slack's are). */
  url: string;
  created_at: string;
  updated_at: string;
  last_delivery: LastDelivery | null;
  pending_deliveries: number;
}

interface Row extends Record<string, SqlStorageValue> {
  notification_id: string;
  position: number;
  name: string;
  format: string;
  events: string;
  quiet_period_ms: number;
  url_origin: string;
  url_redacted: string;
  key_version: string;
  url_iv: ArrayBuffer;
  url_ct: ArrayBuffer;
  secret_iv: ArrayBuffer;
  secret_ct: ArrayBuffer;
  created_at: number;
  updated_at: number;
  last_delivery: string | null;
}

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
  cipher: () => Promise<HeaderCipher>;
  settings: () => Settings;
  projectId: () => string;
  /** The Metrics Export page's origin, when a request has told the object (null: not known yet). */
  pageOrigin: () => string | null;
  write: <T>(writes: () => T) => T;
  audit: (record: AuditRecord) => void;
  syncAlarm: () => Promise<void>;
}

const fail = (status: ErrorBody["status"], code: ErrorBody["code"], message: string): { ok: false; error: ErrorBody } => ({ ok: false, error: { status, code, message } });
const notFound = (id: string) => fail(404, "notification_not_found", `Notification "${id.slice(0, 80)}" does not exist in this project; GET …/notifications lists them.`);
const bytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? b : new Uint8Array(b));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function newNotificationId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return `n-${Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => alphabet[b & 31]).join("")}`;
}

function newEventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, "")}`;
}

/** The seal binding of a webhook's URL or secret: AAD v3 with the webhook in the export's place. */
const binding = (id: string, what: "url" | "secret", origin: string) => ({ exportId: `notification:${id}`, headerName: what, origin });

export class Notifier {
  /** Deliveries under way in this instance (an alarm and a test never send one event twice at once). */
  #sending = new Set<string>();

  constructor(private readonly d: NotifierDeps) {}

  #rows(): Row[] {
    return this.d.sql.exec<Row>("SELECT * FROM notifications ORDER BY position").toArray();
  }

  #row(id: string): Row | null {
    return this.d.sql.exec<Row>("SELECT * FROM notifications WHERE notification_id = ?", id).toArray()[0] ?? null;
  }

  #view(r: Row): NotificationView {
    const pending = this.d.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM notification_outbox WHERE notification_id = ?", r.notification_id).one().n;
    return {
      notification_id: r.notification_id,
      name: r.name,
      format: r.format as NotificationView["format"],
      events: JSON.parse(r.events) as NotificationEventType[],
      quiet_period_seconds: r.quiet_period_ms / 1000,
      url: r.url_redacted,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
      last_delivery: r.last_delivery === null ? null : (JSON.parse(r.last_delivery) as LastDelivery),
      pending_deliveries: pending,
    };
  }

  list(): { notifications: NotificationView[] } {
    return { notifications: this.#rows().map((r) => this.#view(r)) };
  }

  get(id: string): Result<NotificationView> {
    const r = this.#row(id);
    return r === null ? notFound(id) : { ok: true, value: this.#view(r) };
  }

  #auditFields(r: Row) {
    return { name: r.name, format: r.format, events: JSON.parse(r.events) as string[], quiet_period_seconds: r.quiet_period_ms / 1000, url_redacted: r.url_redacted };
  }

  async #seal(id: string, url: string, secret: string): Promise<{ origin: string; keyVersion: string; url: SealedValue; secret: SealedValue }> {
    const cipher = await this.d.cipher();
    const origin = new URL(url).origin;
    const sealedUrl = await cipher.seal(binding(id, "url", origin), url);
    const sealedSecret = await cipher.seal(binding(id, "secret", origin), secret);
    return { origin, keyVersion: sealedUrl.keyVersion, url: sealedUrl, secret: sealedSecret };
  }

  #nameTaken(name: string, except: string | null): boolean {
    return this.#rows().some((r) => r.notification_id !== except && r.name.toLowerCase() === name.toLowerCase());
  }

  /** POST: a new webhook; the answer holds its signing secret, shown this once. */
  async create(input: NotificationCreate, actor: Actor): Promise<Result<NotificationView & { secret: string }>> {
    const rows = this.#rows();
    if (rows.length >= MAX_NOTIFICATIONS) {
      return fail(409, "notification_limit_reached", `A project has at most ${MAX_NOTIFICATIONS} notification webhooks; delete one first.`);
    }
    const id = newNotificationId();
    const name = input.name ?? this.#defaultName(input.format, rows);
    if (this.#nameTaken(name, null)) return fail(409, "notification_name_taken", `name: another webhook of this project is already called "${name}"; choose another name.`);
    const secret = generateSecret();
    const sealed = await this.#seal(id, input.url, secret);
    const nowMs = Date.now();
    const events = input.events ?? [...EVENT_TYPES];
    const quietMs = (input.quiet_period_seconds ?? DEFAULT_QUIET_PERIOD_SECONDS) * 1000;
    const position = rows.length === 0 ? 0 : Math.max(...rows.map((r) => r.position)) + 1;
    const redacted = redactUrl(input.url);
    this.d.write(() => {
      this.d.sql.exec(
        "INSERT INTO notifications (notification_id, position, name, format, events, quiet_period_ms, url_origin, url_redacted, key_version, url_iv, url_ct, secret_iv, secret_ct, created_at, updated_at, last_delivery) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        id, position, name, input.format, JSON.stringify(events), quietMs, sealed.origin, redacted, sealed.keyVersion,
        sealed.url.iv, sealed.url.ciphertext, sealed.secret.iv, sealed.secret.ciphertext, nowMs, nowMs,
      );
      this.d.audit({
        actor,
        action: "notification.created",
        target: { kind: "notification", id, name },
        changes: notificationChanges(null, { name, format: input.format, events, quiet_period_seconds: quietMs / 1000, url_redacted: redacted }, true, true),
        outcome: "created",
      });
    });
    return { ok: true, value: { ...this.#view(this.#row(id)!), secret } };
  }

  #defaultName(format: string, rows: Row[]): string {
    const base = format === "slack" ? "Slack" : "Webhook";
    for (let i = 1; ; i++) {
      const name = i === 1 ? base : `${base} ${i}`;
      if (!rows.some((r) => r.name.toLowerCase() === name.toLowerCase())) return name;
    }
  }

  /** PATCH: any subset; a new `url` or `rotate_secret` re-seals (a new secret is answered once). */
  async patch(id: string, input: NotificationPatch, actor: Actor): Promise<Result<NotificationView & { secret?: string }>> {
    const r = this.#row(id);
    if (r === null) return notFound(id);
    const name = input.name ?? r.name;
    if (this.#nameTaken(name, id)) return fail(409, "notification_name_taken", `name: another webhook of this project is already called "${name}"; choose another name.`);
    const current = await this.#open(r);
    if (!current.ok && input.url === undefined) {
      return fail(409, "credentials_unreadable", "This webhook's stored URL cannot be decrypted (the encryption key changed); give the url again.");
    }
    const url = input.url ?? (current.ok ? current.url : "");
    const secret = input.rotate_secret || !current.ok ? generateSecret() : current.secret;
    const sealed = input.url !== undefined || input.rotate_secret || !current.ok ? await this.#seal(id, url, secret) : null;
    const events = input.events ?? (JSON.parse(r.events) as NotificationEventType[]);
    const quietMs = input.quiet_period_seconds === undefined ? r.quiet_period_ms : input.quiet_period_seconds * 1000;
    const format = input.format ?? r.format;
    const redacted = input.url === undefined ? r.url_redacted : redactUrl(url);
    const nowMs = Date.now();
    const before = this.#auditFields(r);
    this.d.write(() => {
      this.d.sql.exec(
        "UPDATE notifications SET name = ?, format = ?, events = ?, quiet_period_ms = ?, url_redacted = ?, updated_at = ? WHERE notification_id = ?",
        name, format, JSON.stringify(events), quietMs, redacted, nowMs, id,
      );
      if (sealed !== null) {
        this.d.sql.exec(
          "UPDATE notifications SET url_origin = ?, key_version = ?, url_iv = ?, url_ct = ?, secret_iv = ?, secret_ct = ? WHERE notification_id = ?",
          sealed.origin, sealed.keyVersion, sealed.url.iv, sealed.url.ciphertext, sealed.secret.iv, sealed.secret.ciphertext, id,
        );
      }
      const changes: FieldChange[] = notificationChanges(before, { name, format, events, quiet_period_seconds: quietMs / 1000, url_redacted: redacted }, input.url !== undefined, sealed !== null && secret !== (current.ok ? current.secret : ""));
      this.d.audit({ actor, action: "notification.updated", target: { kind: "notification", id, name }, changes, outcome: "saved" });
    });
    const view = this.#view(this.#row(id)!);
    return { ok: true, value: secret !== (current.ok ? current.secret : null) ? { ...view, secret } : view };
  }

  async remove(id: string, actor: Actor): Promise<Result<null>> {
    const r = this.#row(id);
    if (r === null) return notFound(id);
    this.d.write(() => {
      this.d.sql.exec("DELETE FROM notifications WHERE notification_id = ?", id);
      this.d.sql.exec("DELETE FROM notification_outbox WHERE notification_id = ?", id);
      this.d.sql.exec("DELETE FROM notification_runs WHERE notification_id = ?", id);
      this.d.audit({ actor, action: "notification.deleted", target: { kind: "notification", id, name: r.name }, changes: [], outcome: "deleted" });
    });
    await this.d.syncAlarm();
    return { ok: true, value: null };
  }

  async #open(r: Row): Promise<{ ok: true; url: string; secret: string } | { ok: false; message: string }> {
    const cipher = await this.d.cipher();
    const url = await cipher.open(binding(r.notification_id, "url", r.url_origin), { keyVersion: r.key_version, iv: bytes(r.url_iv), ciphertext: bytes(r.url_ct) });
    const secret = await cipher.open(binding(r.notification_id, "secret", r.url_origin), { keyVersion: r.key_version, iv: bytes(r.secret_iv), ciphertext: bytes(r.secret_ct) });
    if (!url.ok || !secret.ok) return { ok: false, message: "the webhook's stored URL or secret cannot be decrypted (the encryption key changed, or the row was tampered with)" };
    return { ok: true, url: url.value, secret: secret.value };
  }

  /**
   * Values sealed under the previous encryption key are sealed again under the current one (the
   * alarm calls this beside the export headers' re-seal, README "Rotating the encryption key").
   */
  async reseal(): Promise<void> {
    const cipher = await this.d.cipher();
    for (const r of this.#rows()) {
      const sealedUrl = { keyVersion: r.key_version, iv: bytes(r.url_iv), ciphertext: bytes(r.url_ct) };
      if (!cipher.needsReseal(binding(r.notification_id, "url", r.url_origin), sealedUrl)) continue;
      const opened = await this.#open(r);
      if (!opened.ok) continue;
      const sealed = await this.#seal(r.notification_id, opened.url, opened.secret);
      this.d.write(() =>
        this.d.sql.exec(
          "UPDATE notifications SET key_version = ?, url_iv = ?, url_ct = ?, secret_iv = ?, secret_ct = ? WHERE notification_id = ? AND key_version = ?",
          sealed.keyVersion, sealed.url.iv, sealed.url.ciphertext, sealed.secret.iv, sealed.secret.ciphertext, r.notification_id, r.key_version,
        ),
      );
    }
  }

  // --- events ---------------------------------------------------------------------------------

  /**
   * Inside the transaction that stores a push's outcome: the events it raises, one outbox row per
   * webhook that wants it and is not in its quiet period. Writes nothing when nothing changed.
   */
  enqueue(exportId: string, exportName: string, before: ExportStatus, after: ExportStatus, nowMs: number): boolean {
    const types = exportEvents(before, after);
    if (types.length === 0) return false;
    const rows = this.#rows();
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
      if (state.failingSentAt !== initial.failingSentAt || state.silenced !== initial.silenced) {
        this.d.sql.exec(
          "INSERT INTO notification_runs (notification_id, export_id, failing_sent_at, silenced) VALUES (?, ?, ?, ?) " +
            "ON CONFLICT (notification_id, export_id) DO UPDATE SET failing_sent_at = excluded.failing_sent_at, silenced = excluded.silenced",
          r.notification_id, exportId, state.failingSentAt, state.silenced ? 1 : 0,
        );
      }
    }
    return queued;
  }

  #runState(notificationId: string, exportId: string): RunState {
    // State from before the export was created belongs to a deleted export that had the same id
    // (a project's first export is always "default"): a new export starts with none.
    const row = this.d.sql
      .exec<{ failing_sent_at: number | null; silenced: number }>(
        "SELECT r.failing_sent_at, r.silenced FROM notification_runs r LEFT JOIN export_config c ON c.export_id = r.export_id " +
          "WHERE r.notification_id = ? AND r.export_id = ? AND (c.created_at IS NULL OR r.failing_sent_at IS NULL OR r.failing_sent_at >= c.created_at)",
        notificationId,
        exportId,
      )
      .toArray()[0];
    return row === undefined ? INITIAL_RUN_STATE : { failingSentAt: row.failing_sent_at, silenced: row.silenced === 1 };
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
      const r = this.#row(o.notification_id);
      if (r === null) return;
      const event = JSON.parse(o.event) as NotificationEvent;
      const attempt = await this.#attempt(r, event);
      const attempts = o.attempts + 1;
      const nowMs = Date.now();
      const verdict = attempt.outcome;
      const next = verdict === "retry" ? retryAt(o.created_at, attempts, this.d.settings().notificationRetryBaseMs, nowMs, attempt.retryAfter) : null;
      const state: LastDelivery["state"] = verdict === "delivered" ? "delivered" : next !== null ? "retrying" : "gave up";
      const last: LastDelivery = {
        at: new Date(nowMs).toISOString(),
        event_id: event.id,
        type: event.type,
        ok: verdict === "delivered",
        http_status: attempt.status,
        attempts,
        error: attempt.error,
        state,
        next_attempt_at: iso(next),
      };
      this.d.write(() => {
        if (next === null) this.d.sql.exec("DELETE FROM notification_outbox WHERE notification_id = ? AND event_id = ?", o.notification_id, o.event_id);
        else this.d.sql.exec("UPDATE notification_outbox SET attempts = ?, next_attempt_at = ? WHERE notification_id = ? AND event_id = ?", attempts, next, o.notification_id, o.event_id);
        this.d.sql.exec("UPDATE notifications SET last_delivery = ? WHERE notification_id = ?", JSON.stringify(last), o.notification_id);
      });
      if (state === "gave up") {
        console.warn(JSON.stringify({ event: "notification_gave_up", project_id: this.d.projectId(), notification_id: o.notification_id, event_id: event.id, attempts }));
      }
    } finally {
      this.#sending.delete(o.event_id);
    }
  }

  /** One POST of `event` to the webhook (redirects are not followed; the URL is never in the error). */
  async #attempt(r: Row, event: NotificationEvent): Promise<{ outcome: "delivered" | "retry" | "give_up"; status: number | null; error: string | null; retryAfter: string | null; latencyMs: number }> {
    const started = Date.now();
    const opened = await this.#open(r);
    if (!opened.ok) return { outcome: "give_up", status: null, error: opened.message, retryAfter: null, latencyMs: 0 };
    const check = checkEndpoint(opened.url, this.d.settings().allowPrivateEndpoints);
    if (!check.ok) return { outcome: "give_up", status: null, error: `the webhook URL is not allowed here: it ${check.message}`, retryAfter: null, latencyMs: 0 };
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
    const r = this.#row(id);
    if (r === null) return notFound(id);
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
    const last: LastDelivery = {
      at: new Date().toISOString(),
      event_id: event.id,
      type: event.type,
      ok: attempt.outcome === "delivered",
      http_status: attempt.status,
      attempts: 1,
      error: attempt.error,
      state: attempt.outcome === "delivered" ? "delivered" : "gave up",
      next_attempt_at: null,
    };
    this.d.write(() => this.d.sql.exec("UPDATE notifications SET last_delivery = ? WHERE notification_id = ?", JSON.stringify(last), id));
    return { ok: true, value: { ok: last.ok, event_id: event.id, http_status: attempt.status, latency_ms: attempt.latencyMs, message: attempt.error } };
  }
}

export type { NotificationCreate, NotificationPatch };
export { INITIAL_RUN_STATE };
