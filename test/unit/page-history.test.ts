/**
 * The page's Notifications and Recent changes text (public/assets/page/history.js): a webhook's last
 * delivery and audit entries as sentences, fed with entries shaped by the object's own code.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exportChanges, notificationChanges, type AuditEntry } from "../../src/audit/changes";
import { configFromPut } from "../../src/export/config";

interface LastDelivery {
  at: string;
  event_id: string;
  type: string;
  ok: boolean;
  http_status: number | null;
  attempts: number;
  error: string | null;
  state: "delivered" | "retrying" | "gave up";
  next_attempt_at: string | null;
}
interface HistoryModule {
  deliveryText(last: LastDelivery | null, nowMs: number): string;
  actorText(a: AuditEntry["actor"]): string;
  changeText(c: AuditEntry["changes"][number]): string;
  auditSentence(e: AuditEntry, nowMs: number): string;
}
const history = (await import(path.join(import.meta.dirname, "../../public/assets/page/history.js"))) as HistoryModule;
const NOW = Date.parse("2026-12-03T08:00:00.000Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();

it("history.js exports what this test expects", () => {
  expect(Object.keys(history).sort()).toEqual(["actorText", "auditSentence", "changeText", "deliveryText"]);
});

describe("deliveryText", () => {
  const base = { event_id: "evt_1", type: "export.paused", attempts: 1, error: null, next_attempt_at: null };
  it("says when nothing was delivered yet", () => {
    expect(history.deliveryText(null, NOW)).toBe("No deliveries yet.");
  });
  it("a delivered event: what, when, the status", () => {
    expect(history.deliveryText({ ...base, at: ago(120_000), ok: true, http_status: 200, state: "delivered" }, NOW)).toBe("Delivered export.paused 2 min ago (HTTP 200).");
  });
  it("a retry: why, the attempt and when the next try is", () => {
    const text = history.deliveryText(
      { ...base, at: ago(1000), ok: false, http_status: 503, attempts: 3, error: "the webhook answered HTTP 503", state: "retrying", next_attempt_at: new Date(NOW + 40_000).toISOString() },
      NOW,
    );
    expect(text).toBe("Retrying export.paused: the webhook answered HTTP 503 (HTTP 503); attempt 3, next try in 40 s.");
  });
  it("given up: how many attempts and why", () => {
    const text = history.deliveryText({ ...base, at: ago(10_000), ok: false, http_status: null, attempts: 1, error: "the webhook could not be reached", state: "gave up" }, NOW);
    expect(text).toBe("Gave up on export.paused 10 s ago after 1 attempt: the webhook could not be reached.");
  });
});

describe("auditSentence", () => {
  const previous = configFromPut({ endpoint: "https://a.example.com", destination: "prometheus" }, null, NOW - 60_000, "prometheus");
  const next = configFromPut({ endpoint: "https://b.example.com", destination: "prometheus" }, previous, NOW, "prometheus");
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    id: 1,
    at: ago(30_000),
    actor: { kind: "key", key_id: "key_0123456789abcdef", key_name: "ci" },
    action: "export.updated",
    target: { kind: "export", id: "default", name: "prometheus" },
    changes: exportChanges(previous, next, { before: ["Authorization"], after: [{ name: "Authorization", replaced: true }] }),
    outcome: "saved",
    ...over,
  });

  it("who, what, the fields with old → new, secrets only as replaced, the outcome", () => {
    expect(history.auditSentence(entry({}), NOW)).toBe(
      '30 s ago: Key "ci" (key_0123456789abcdef) changed export "prometheus": endpoint: https://a.example.com → https://b.example.com; headers.Authorization value replaced (saved).',
    );
  });
  it("the admin, a deletion without changes, a key without a name", () => {
    expect(history.auditSentence(entry({ actor: { kind: "admin" }, action: "export.deleted", changes: [], outcome: "deleted" }), NOW)).toBe(
      '30 s ago: Admin deleted export "prometheus" (deleted).',
    );
    expect(history.actorText({ kind: "key", key_id: "key_1", key_name: " " })).toBe("Key key_1");
  });
  it("a webhook's URL change never shows the URL", () => {
    const changes = notificationChanges(
      { name: "Slack", format: "slack", events: ["export.paused"], quiet_period_seconds: 600, url_redacted: "https://hooks.slack.com/…" },
      { name: "Slack", format: "slack", events: ["export.paused"], quiet_period_seconds: 600, url_redacted: "https://hooks.slack.com/…" },
      true,
      false,
    );
    const text = history.auditSentence(entry({ action: "notification.updated", target: { kind: "notification", id: "n-aaaaaaaaaa", name: "Slack" }, changes }), NOW);
    expect(text).toBe('30 s ago: Key "ci" (key_0123456789abcdef) changed webhook "Slack": url value replaced (saved).');
  });
  it("creation lists the new values; null reads as default", () => {
    expect(history.changeText({ field: "histogram_bounds_ms", new: null })).toBe("histogram_bounds_ms: default");
    expect(history.changeText({ field: "enabled", old: true, new: false })).toBe("enabled: true → false");
    expect(history.changeText({ field: "headers.DD-API-KEY", change: "added" })).toBe("headers.DD-API-KEY added");
  });
});
