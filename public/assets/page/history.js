// @ts-check
/**
 * Pure text for the page's Notifications and Recent changes sections: a webhook's last delivery,
 * and one audit entry as a sentence. No DOM here (test/unit/page-history.test.ts).
 */
import { relativeTime } from "./format.js";

/**
 * @typedef {{ at: string, event_id: string, type: string, ok: boolean, http_status: number | null, attempts: number, error: string | null, state: "delivered" | "retrying" | "gave up", next_attempt_at: string | null }} LastDelivery
 * @typedef {{ kind: "admin" } | { kind: "key", key_id: string, key_name: string }} Actor
 * @typedef {{ field: string, old?: unknown, new?: unknown, change?: string }} FieldChange
 * @typedef {{ id: number, at: string, actor: Actor, action: string, target: { kind: string, id: string, name: string | null }, changes: FieldChange[], outcome: string }} AuditEntry
 */

/** "Delivered export.paused 2 min ago (HTTP 200)", "Retrying export.failing: … (attempt 3)", "No deliveries yet". */
export function deliveryText(/** @type {LastDelivery | null} */ last, /** @type {number} */ nowMs) {
  if (last === null) return "No deliveries yet.";
  const when = relativeTime(Date.parse(last.at), nowMs);
  const status = last.http_status === null ? "" : ` (HTTP ${last.http_status})`;
  if (last.state === "delivered") return `Delivered ${last.type} ${when}${status}.`;
  const why = last.error ?? "failed";
  if (last.state === "retrying") return `Retrying ${last.type}: ${why}${status}; attempt ${last.attempts}, next try ${last.next_attempt_at === null ? "soon" : relativeTimeAhead(Date.parse(last.next_attempt_at), nowMs)}.`;
  return `Gave up on ${last.type} ${when} after ${last.attempts} ${last.attempts === 1 ? "attempt" : "attempts"}: ${why}${status}.`;
}

function relativeTimeAhead(/** @type {number} */ at, /** @type {number} */ nowMs) {
  const s = Math.max(0, Math.round((at - nowMs) / 1000));
  return s < 90 ? `in ${s} s` : `in ${Math.round(s / 60)} min`;
}

/** @param {Actor} a */
export function actorText(a) {
  if (a.kind === "admin") return "Admin";
  return a.key_name.trim() === "" ? `Key ${a.key_id}` : `Key "${a.key_name}" (${a.key_id})`;
}

const VERBS = /** @type {Record<string, string>} */ ({
  "export.created": "created export",
  "export.updated": "changed export",
  "export.deleted": "deleted export",
  "export.resumed": "re-enabled export",
  "notification.created": "added webhook",
  "notification.updated": "changed webhook",
  "notification.deleted": "deleted webhook",
  "key.created": "created project key",
  "key.revoked": "revoked project key",
});

/** @param {unknown} v */
function show(v) {
  if (v === undefined) return "–";
  if (v === null) return "default";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** @param {FieldChange} c */
export function changeText(c) {
  if (c.change !== undefined) return `${c.field} ${c.change}`;
  if (!("old" in c)) return `${c.field}: ${show(c.new)}`;
  return `${c.field}: ${show(c.old)} → ${show(c.new)}`;
}

/** One audit entry: who, what, when, and the fields changed. @param {AuditEntry} e @param {number} nowMs */
export function auditSentence(e, nowMs) {
  const verb = VERBS[e.action] ?? e.action;
  const target = e.target.name ? `"${e.target.name}"` : e.target.id;
  const changes = e.changes.length > 0 ? `: ${e.changes.map(changeText).join("; ")}` : "";
  return `${relativeTime(Date.parse(e.at), nowMs)}: ${actorText(e.actor)} ${verb} ${target}${changes} (${e.outcome}).`;
}
