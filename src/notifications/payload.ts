/**
 * The bodies a notification webhook receives: the documented generic JSON schema and a Slack
 * incoming-webhook message. Both are built from the event alone (it holds no secrets).
 */
import type { NotificationEventType } from "./events";

/** One notification about one export, as the notifier hands it to the body builders. */
export interface NotificationEvent {
  /** Unique per event; also the Idempotency-Key of its deliveries. */
  id: string;
  type: NotificationEventType;
  occurredAt: number;
  project: { id: string };
  export: { id: string; name: string };
  /** Consecutive failed pushes when the event happened. */
  failures: number;
  pausedAt: number | null;
  lastSuccessAt: number | null;
  error: { classification: string; httpStatus: number | null; message: string; hint: string } | null;
  /** The export's Metrics Export page; null: not known to this deployment. */
  pageUrl: string | null;
  /** A test notification sent from the settings, not a real event. */
  test?: boolean;
}

/** The generic JSON body (schema_version 1): stable snake_case fields, ISO-8601 times. */
export interface NotificationJson {
  schema_version: 1;
  id: string;
  type: NotificationEventType;
  occurred_at: string;
  test: boolean;
  project: { id: string };
  export: { id: string; name: string };
  status: { consecutive_failures: number; paused_at: string | null; last_success_at: string | null };
  error: { classification: string; http_status: number | null; message: string; hint: string } | null;
  /** One readable sentence (the first line of the Slack message, without its emoji). */
  summary: string;
  /** What to do about it; null when nothing is needed. */
  action: string | null;
  links: { metrics_export_page: string | null };
}

/** A time in ms as ISO 8601, null as null. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Control characters (line breaks included) become single spaces: one value stays on one line. */
const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();

const pushes = (n: number): string => `${n} ${n === 1 ? "push" : "pushes"}`;

/** The one-line sentence both bodies lead with, e.g. `Metrics export "Grafana" of project p-1 is paused after 10 consecutive failed pushes.` */
export function summary(event: NotificationEvent): string {
  const subject = `Metrics export "${oneLine(event.export.name)}" of project ${oneLine(event.project.id)}`;
  let sentence: string;
  switch (event.type) {
    case "export.failing":
      sentence = `${subject} is failing: ${event.failures === 1 ? "the latest push failed" : `${pushes(event.failures)} failed in a row`}.`;
      break;
    case "export.paused":
      sentence = `${subject} is paused after ${event.failures} consecutive failed ${event.failures === 1 ? "push" : "pushes"}.`;
      break;
    case "export.recovered":
      sentence = `${subject} has recovered: the latest push succeeded.`;
      break;
    case "export.credentials_unreadable":
      sentence = `${subject} cannot decrypt its stored credentials, so nothing is being sent.`;
      break;
  }
  return event.test ? `Test notification: ${sentence}` : sentence;
}

/** What the user should do: the resume instructions for a pause, the error's hint for a failure, null on recovery. */
function action(event: NotificationEvent): string | null {
  switch (event.type) {
    case "export.paused":
      return (
        "Fix the cause, then click Re-enable on the Metrics Export page or POST " +
        `/v1/projects/${encodeURIComponent(event.project.id)}/metrics-exports/${encodeURIComponent(event.export.id)}/resume`
      );
    case "export.failing":
    case "export.credentials_unreadable":
      return event.error?.hint || null;
    case "export.recovered":
      return null;
  }
}

/** The generic JSON body, as an object (see `jsonBody`). */
export function jsonPayload(event: NotificationEvent): NotificationJson {
  const e = event.error;
  return {
    schema_version: 1,
    id: event.id,
    type: event.type,
    occurred_at: new Date(event.occurredAt).toISOString(),
    test: event.test === true,
    project: { id: event.project.id },
    export: { id: event.export.id, name: event.export.name },
    status: { consecutive_failures: event.failures, paused_at: iso(event.pausedAt), last_success_at: iso(event.lastSuccessAt) },
    error: e ? { classification: e.classification, http_status: e.httpStatus, message: e.message, hint: e.hint } : null,
    summary: summary(event),
    action: action(event),
    links: { metrics_export_page: event.pageUrl },
  };
}

/** The generic JSON body (`NotificationJson`) as sent. */
export function jsonBody(event: NotificationEvent): string {
  return JSON.stringify(jsonPayload(event));
}

const EMOJI: Record<NotificationEventType, string> = {
  "export.failing": ":warning:",
  "export.paused": ":red_circle:",
  "export.recovered": ":large_green_circle:",
  "export.credentials_unreadable": ":closed_lock_with_key:",
};

/** Slack's limit for a section block's text. */
const SECTION_MAX = 3000;
/** Longest error message quoted (before escaping; escaped it stays below SECTION_MAX): destinations' bodies can be long. */
const MESSAGE_MAX = 500;

/** Slack's control characters (https://api.slack.com/reference/surfaces/formatting#escaping), on one line. */
export function slackEscape(s: string): string {
  return oneLine(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Cut a raw string to `max` characters, marking the cut. */
const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The Slack message's lines: summary, error, hint, what to do, page link. Each line is already escaped. */
function slackLines(event: NotificationEvent): string[] {
  const lines = [`${EMOJI[event.type]} ${slackEscape(summary(event))}`];
  const e = event.error;
  if (e && event.type !== "export.recovered") {
    const status = e.httpStatus === null ? "" : `, HTTP ${e.httpStatus}`;
    const message = e.message ? `: ${slackEscape(cut(oneLine(e.message), MESSAGE_MAX))}` : "";
    lines.push(`*Error* (${slackEscape(e.classification)}${status})${message}`);
    if (e.hint) lines.push(`*Hint:* ${slackEscape(e.hint)}`);
  }
  if (event.type === "export.paused") lines.push(`*What to do:* ${slackEscape(action(event)!)}`);
  if (event.pageUrl) lines.push(`<${slackEscape(event.pageUrl).replace(/\|/g, "%7C")}|Open Metrics Export>`);
  return lines.map((l) => cut(l, SECTION_MAX));
}

/** A Slack incoming-webhook message: `text` (all lines) and one mrkdwn section block per line. */
export function slackBody(event: NotificationEvent): string {
  const lines = slackLines(event);
  return JSON.stringify({
    text: lines.join("\n"),
    blocks: lines.map((text) => ({ type: "section", text: { type: "mrkdwn", text } })),
  });
}
