/**
 * A project's notification webhooks (at most 3): their settings, with the URL and signing secret
 * sealed like export headers (AES-GCM, bound to the project, the webhook and the URL's origin and
 * re-sealed after a key rotation), and the audit entries their changes write. Events and their
 * delivery are notifier.ts's.
 */
import { notificationChanges, redactUrl, type Actor, type FieldChange } from "../src/audit/changes";
import type { HeaderCipher, SealedValue } from "../src/crypto/header-crypto";
import { failure, type Result } from "../src/errors";
import { EVENT_TYPES, type NotificationEventType } from "../src/notifications/events";
import { generateSecret } from "../src/notifications/signature";
import { notificationNotFound, type NotificationCreate, type NotificationPatch } from "../src/validation/notifications";
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

export interface NotificationRow extends Record<string, SqlStorageValue> {
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

export interface RegistryDeps {
  sql: SqlStorage;
  cipher: () => Promise<HeaderCipher>;
  write: <T>(writes: () => T) => T;
  audit: (record: AuditRecord) => void;
  /** Deleting a webhook drops its queued deliveries: the alarm may have less to do. */
  syncAlarm: () => Promise<void>;
}

const nameTaken = (name: string) => failure(409, "notification_name_taken", `name: another webhook of this project is already called "${name}"; choose another name.`);
const bytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? b : new Uint8Array(b));

function newNotificationId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return `n-${Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => alphabet[b & 31]).join("")}`;
}

/** The seal binding of a webhook's URL or secret: AAD v3 with the webhook in the export's place. */
const binding = (id: string, what: "url" | "secret", origin: string) => ({ exportId: `notification:${id}`, headerName: what, origin });

export class NotificationRegistry {
  constructor(private readonly d: RegistryDeps) {}

  rows(): NotificationRow[] {
    return this.d.sql.exec<NotificationRow>("SELECT * FROM notifications ORDER BY position").toArray();
  }

  row(id: string): NotificationRow | null {
    return this.d.sql.exec<NotificationRow>("SELECT * FROM notifications WHERE notification_id = ?", id).toArray()[0] ?? null;
  }

  #view(r: NotificationRow): NotificationView {
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
    return { notifications: this.rows().map((r) => this.#view(r)) };
  }

  get(id: string): Result<NotificationView> {
    const r = this.row(id);
    return r === null ? notificationNotFound(id) : { ok: true, value: this.#view(r) };
  }

  #auditFields(r: NotificationRow) {
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
    return this.rows().some((r) => r.notification_id !== except && r.name.toLowerCase() === name.toLowerCase());
  }

  /** POST: a new webhook; the answer holds its signing secret, shown this once. */
  async create(input: NotificationCreate, actor: Actor): Promise<Result<NotificationView & { secret: string }>> {
    const rows = this.rows();
    if (rows.length >= MAX_NOTIFICATIONS) {
      return failure(409, "notification_limit_reached", `A project has at most ${MAX_NOTIFICATIONS} notification webhooks; delete one first.`);
    }
    const id = newNotificationId();
    const name = input.name ?? this.#defaultName(input.format, rows);
    if (this.#nameTaken(name, null)) return nameTaken(name);
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
    return { ok: true, value: { ...this.#view(this.row(id)!), secret } };
  }

  #defaultName(format: string, rows: NotificationRow[]): string {
    const base = format === "slack" ? "Slack" : "Webhook";
    for (let i = 1; ; i++) {
      const name = i === 1 ? base : `${base} ${i}`;
      if (!rows.some((r) => r.name.toLowerCase() === name.toLowerCase())) return name;
    }
  }

  /** PATCH: any subset; a new `url` or `rotate_secret` re-seals (a new secret is answered once). */
  async patch(id: string, input: NotificationPatch, actor: Actor): Promise<Result<NotificationView & { secret?: string }>> {
    const r = this.row(id);
    if (r === null) return notificationNotFound(id);
    const name = input.name ?? r.name;
    if (this.#nameTaken(name, id)) return nameTaken(name);
    const current = await this.open(r);
    if (!current.ok && input.url === undefined) {
      return failure(409, "credentials_unreadable", "This webhook's stored URL cannot be decrypted (the encryption key changed); give the url again.");
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
    const view = this.#view(this.row(id)!);
    return { ok: true, value: secret !== (current.ok ? current.secret : null) ? { ...view, secret } : view };
  }

  async remove(id: string, actor: Actor): Promise<Result<null>> {
    const r = this.row(id);
    if (r === null) return notificationNotFound(id);
    this.d.write(() => {
      this.d.sql.exec("DELETE FROM notifications WHERE notification_id = ?", id);
      this.d.sql.exec("DELETE FROM notification_outbox WHERE notification_id = ?", id);
      this.d.sql.exec("DELETE FROM notification_runs WHERE notification_id = ?", id);
      this.d.audit({ actor, action: "notification.deleted", target: { kind: "notification", id, name: r.name }, changes: [], outcome: "deleted" });
    });
    await this.d.syncAlarm();
    return { ok: true, value: null };
  }

  /** The webhook's URL and signing secret (fails closed when they cannot be decrypted). */
  async open(r: NotificationRow): Promise<{ ok: true; url: string; secret: string } | { ok: false; message: string }> {
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
    for (const r of this.rows()) {
      const sealedUrl = { keyVersion: r.key_version, iv: bytes(r.url_iv), ciphertext: bytes(r.url_ct) };
      if (!cipher.needsReseal(binding(r.notification_id, "url", r.url_origin), sealedUrl)) continue;
      const opened = await this.open(r);
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

  /** The outcome of the latest delivery attempt (the API and the page show it). */
  setLastDelivery(id: string, last: LastDelivery): void {
    this.d.sql.exec("UPDATE notifications SET last_delivery = ? WHERE notification_id = ?", JSON.stringify(last), id);
  }
}
