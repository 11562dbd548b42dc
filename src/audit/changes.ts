/**
 * The audit log's vocabulary: who changed what, and the field-by-field difference a change made.
 * Pure functions over plain data; the Durable Object stores the entries.
 *
 * Secrets never reach an entry: header values and notification secrets are reported as "added",
 * "removed" or "value replaced" only, and a webhook URL (a Slack webhook URL is itself the secret)
 * only as its origin.
 */
import type { StoredConfig } from "../export/status";

/** At most this many entries are kept per project (the oldest go first). */
export const MAX_AUDIT_ENTRIES = 1000;
/** Entries older than this are dropped. */
export const AUDIT_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;
/**
 * At most this many bytes of changes (as JSON) per entry: with MAX_AUDIT_ENTRIES, a project's log
 * stays under ~16 MiB whatever the bodies held (filters alone may be ~33 KB, old and new twice that).
 */
export const MAX_AUDIT_CHANGES_BYTES = 16 * 1024;

/**
 * One field's difference. Non-secret fields: `field`, `old` (absent on creation) and `new`.
 * Secrets (`headers.<Name>`, `url`, `secret`): `field` and `change` only, never a value.
 */
export interface FieldChange {
  field: string;
  old?: unknown;
  new?: unknown;
  change?: "added" | "removed" | "value replaced";
}

export type Actor = { kind: "admin" } | { kind: "key"; key_id: string; key_name: string };

export type AuditAction =
  | "export.created"
  | "export.updated"
  | "export.deleted"
  | "export.resumed"
  | "notification.created"
  | "notification.updated"
  | "notification.deleted"
  | "key.created"
  | "key.revoked";

export interface AuditEntry {
  id: number;
  /** ISO 8601. */
  at: string;
  actor: Actor;
  action: AuditAction;
  target: { kind: "export" | "notification" | "key"; id: string; name: string | null };
  changes: FieldChange[];
  outcome: string;
}

const utf8 = new TextEncoder();
const jsonBytes = (value: unknown): number => utf8.encode(JSON.stringify(value) ?? "null").byteLength;

/**
 * Changes that fit MAX_AUDIT_CHANGES_BYTES: while they do not, the largest remaining old or new value
 * is replaced by `"[omitted: N bytes]"` (the entry still says which field changed, and from/to what
 * when the values are small). Header and secret entries carry no values and always stay.
 */
export function boundChanges(changes: readonly FieldChange[], maxBytes = MAX_AUDIT_CHANGES_BYTES): FieldChange[] {
  const bounded = changes.map((c) => ({ ...c }));
  let total = jsonBytes(bounded);
  if (total <= maxBytes) return bounded; // the usual case: nothing more to measure
  const values = bounded
    .flatMap((c) => (["old", "new"] as const).filter((side) => side in c).map((side) => ({ c, side, bytes: jsonBytes(c[side]) })))
    .sort((a, b) => b.bytes - a.bytes);
  for (const v of values) {
    if (total <= maxBytes) break;
    const marker = `[omitted: ${v.bytes} bytes]`;
    v.c[v.side] = marker;
    total += jsonBytes(marker) - v.bytes;
  }
  return bounded;
}

/** "admin", `key "<name>" (<key_id>)`, or `key <key_id>` for a key without a name. */
export function describeActor(actor: Actor): string {
  if (actor.kind === "admin") return "admin";
  if (actor.key_name.trim() === "") return `key ${actor.key_id}`;
  return `key ${JSON.stringify(actor.key_name)} (${actor.key_id})`;
}

/** The audited fields of an export, in output order, under their API names. */
const EXPORT_FIELDS: readonly [string, (config: StoredConfig) => unknown][] = [
  ["name", (c) => c.name],
  ["destination", (c) => c.destination],
  ["endpoint", (c) => c.endpoint],
  ["enabled", (c) => c.enabled],
  ["protocol", (c) => c.protocol],
  ["compression", (c) => c.compression],
  ["temporality", (c) => c.temporality],
  // null: the default bounds.
  ["histogram_bounds_ms", (c) => c.histogramBoundsMs],
  ["filters", (c) => c.filters],
];

/**
 * What a save or deletion changed. `headers.before`: the stored header names; `headers.after`: the
 * names the export has afterwards, `replaced` when a stored header got a new value (headers left
 * untouched: the stored names with `replaced: false`). Deletion (after null) lists nothing: the
 * action says it. bodyLimitBytes (learnt from the destination), createdAt and updatedAt are not
 * audited.
 */
export function exportChanges(
  before: StoredConfig | null,
  after: StoredConfig | null,
  headers: { before: string[]; after: { name: string; replaced: boolean }[] },
): FieldChange[] {
  if (after === null) return [];
  const changes: FieldChange[] = [];
  for (const [field, read] of EXPORT_FIELDS) {
    const next = jsonCopy(read(after));
    if (before === null) {
      changes.push({ field, new: next });
      continue;
    }
    const previous = jsonCopy(read(before));
    if (!jsonEqual(previous, next)) changes.push({ field, old: previous, new: next });
  }

  const stored = new Set((before === null ? [] : headers.before).map((name) => name.toLowerCase()));
  const kept = new Set(headers.after.map((h) => h.name.toLowerCase()));
  const headerChanges: { name: string; change: "added" | "removed" | "value replaced" }[] = [];
  for (const h of headers.after) {
    if (!stored.has(h.name.toLowerCase())) headerChanges.push({ name: h.name, change: "added" });
    else if (h.replaced) headerChanges.push({ name: h.name, change: "value replaced" });
  }
  if (before !== null) {
    for (const name of headers.before) {
      if (!kept.has(name.toLowerCase())) headerChanges.push({ name, change: "removed" });
    }
  }
  headerChanges.sort((a, b) => compareNames(a.name, b.name));
  for (const h of headerChanges) changes.push({ field: `headers.${h.name}`, change: h.change });
  return changes;
}

/**
 * The header list a save leaves, for exportChanges: null when the input has no `headers` (they are
 * untouched). A listed header replaces a stored one when it carries a value; a new name with a value
 * is an addition, which exportChanges works out from the stored names.
 */
export function headerChangesFromInput(
  storedNames: string[],
  input: { name: string; value?: string }[] | undefined,
): { name: string; replaced: boolean }[] | null {
  if (input === undefined) return null;
  const stored = new Set(storedNames.map((name) => name.toLowerCase()));
  return input.map((h) => ({ name: h.name, replaced: h.value !== undefined && stored.has(h.name.toLowerCase()) }));
}

/**
 * A webhook URL as the log may show it: scheme, host and port; a path other than `/` becomes `/…`;
 * user info, query and fragment are dropped.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "[invalid url]";
  }
  if (parsed.host === "") return "[invalid url]";
  const path = parsed.pathname === "/" || parsed.pathname === "" ? "/" : "/…";
  return `${parsed.protocol}//${parsed.host}${path}`;
}

export interface NotificationAuditView {
  name: string;
  format: string;
  events: string[];
  quiet_period_seconds: number;
  /** redactUrl of the webhook URL. */
  url_redacted: string;
}

/**
 * What a notification save or deletion changed. The URL is reported as "value replaced" (plus
 * `url_origin` old/new when the origin moved), the signing secret's rotation as "value replaced";
 * neither value ever appears. Creation: every field `new` only, `url` (and, when one was generated,
 * `secret`) "added". Deletion (after null): nothing.
 */
export function notificationChanges(
  before: NotificationAuditView | null,
  after: NotificationAuditView | null,
  urlReplaced: boolean,
  secretRotated: boolean,
): FieldChange[] {
  if (after === null) return [];
  const changes: FieldChange[] = [];
  const plain: [string, (n: NotificationAuditView) => unknown][] = [
    ["name", (n) => n.name],
    ["format", (n) => n.format],
    ["events", (n) => n.events],
    ["quiet_period_seconds", (n) => n.quiet_period_seconds],
  ];
  for (const [field, read] of plain) {
    const next = jsonCopy(read(after));
    if (before === null) {
      changes.push({ field, new: next });
      continue;
    }
    const previous = jsonCopy(read(before));
    const same = field === "events" ? sameSet(before.events, after.events) : jsonEqual(previous, next);
    if (!same) changes.push({ field, old: previous, new: next });
  }

  const nextOrigin = originOf(after.url_redacted);
  if (before === null) {
    changes.push({ field: "url", change: "added" }, { field: "url_origin", new: nextOrigin });
    if (secretRotated) changes.push({ field: "secret", change: "added" });
    return changes;
  }
  const previousOrigin = originOf(before.url_redacted);
  if (urlReplaced || before.url_redacted !== after.url_redacted) {
    changes.push({ field: "url", change: "value replaced" });
    if (previousOrigin !== nextOrigin) changes.push({ field: "url_origin", old: previousOrigin, new: nextOrigin });
  }
  if (secretRotated) changes.push({ field: "secret", change: "value replaced" });
  return changes;
}

/** The scheme, host and port of a (redacted) URL; anything unparsable as it is. */
function originOf(redacted: string): string {
  try {
    const url = new URL(redacted);
    return url.host === "" ? redacted : `${url.protocol}//${url.host}`;
  } catch {
    return redacted;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

/** Case-insensitive, then exact (for a stable order of names differing in case only). */
function compareNames(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A detached copy as JSON would carry it (undefined members dropped), so entries never alias live state. */
function jsonCopy(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** Deep equality of JSON values; object key order does not matter. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((value, i) => jsonEqual(value, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  return keys.every((key) => Object.hasOwn(y, key) && jsonEqual(x[key], y[key]));
}
