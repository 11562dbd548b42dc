// @ts-check
/**
 * Pure formatting for the Metrics Export page: the status badge and its sentence, relative times,
 * totals. No DOM here (test/unit/page-format.test.ts runs it in Node).
 */

/** @typedef {"unconfigured" | "disabled" | "pending" | "connected" | "failing" | "paused"} ExportState */
/**
 * @typedef {{ at: string, http_status: number | null, classification: string, message: string, hint: string }} LastError
 * @typedef {{
 *   state: ExportState, last_success_at: string | null, last_attempt_at: string | null, last_error: LastError | null,
 *   consecutive_failures: number, paused_at: string | null, next_push_at: string | null, warning: string | null,
 *   totals: { pushes_succeeded: number, pushes_failed: number, retries: number, data_points_sent: number, bytes_sent: number, last_push_duration_ms: number | null }
 * }} ExportStatus
 */

/** The guide's words for each state. */
export const BADGES = /** @type {const} */ ({
  unconfigured: "Not configured",
  disabled: "Disabled",
  pending: "Pending",
  connected: "Connected",
  failing: "Failing",
  paused: "Paused",
});

/** What went wrong, in the words of the guide's troubleshooting. */
export const CLASSIFICATIONS = /** @type {Record<string, string>} */ ({
  unauthorized: "Unauthorized: the authentication headers were refused",
  not_found: "Not found: the OTLP endpoint URL is incorrect",
  timeout: "Connection timeout",
  network: "Endpoint unreachable",
  rate_limited: "Rate limited by the destination",
  payload_too_large: "Request too large for the destination",
  bad_request: "The destination refused the request",
  server_error: "The destination failed (server error)",
  credentials_unreadable: "Stored credentials cannot be read",
  endpoint_not_allowed: "Endpoint not allowed",
});

/** "just now", "40 s ago", "3 min ago", "2 h ago", "3 days ago" (`thenMs` in the past; clock skew reads "just now"). */
export function relativeTime(thenMs, nowMs) {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 5) return "just now";
  if (s < 90) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 36) return `${h} h ago`;
  const d = Math.round(h / 24);
  return `${d} day${d === 1 ? "" : "s"} ago`;
}

/** "in 12 s", "in 2 min", "now" for a time ahead. */
export function timeUntil(thenMs, nowMs) {
  const s = Math.round((thenMs - nowMs) / 1000);
  if (s <= 1) return "now";
  if (s < 90) return `in ${s} s`;
  return `in ${Math.round(s / 60)} min`;
}

/** 1234567 → "1,234,567". */
export function formatCount(n) {
  return Math.round(n).toLocaleString("en-US");
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  if (n < 1024) return n === 1 ? "1 byte" : `${Math.round(n)} bytes`;
  let value = n;
  let unit = 0;
  // Step up while the shown (rounded) figure would read 1024 or more.
  while (unit < units.length - 1 && Number((value / 1024).toFixed(0)) >= 1 && Number(value.toFixed(value < 10 ? 1 : 0)) >= 1024) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 9.95 ? 1 : 0)} ${units[unit]}`;
}

/** "Unauthorized: … (HTTP 401)" for a last error or a test result. */
export function errorTitle(classification, httpStatus) {
  const title = Object.hasOwn(CLASSIFICATIONS, classification) ? CLASSIFICATIONS[classification] : classification;
  return httpStatus === null ? title : `${title} (HTTP ${httpStatus})`;
}

/**
 * The badge and the sentence under it for an export's status (null: no export yet).
 * @param {ExportStatus | null} status
 * @param {number} nowMs
 * @returns {{ state: ExportState, badge: string, detail: string, error: { title: string, message: string, hint: string } | null }}
 */
export function statusModel(status, nowMs) {
  if (status === null || status.state === "unconfigured") {
    return { state: "unconfigured", badge: BADGES.unconfigured, detail: "Enter your platform's OTLP endpoint and headers, then Save & Enable.", error: null };
  }
  const ms = (/** @type {string | null} */ iso) => (iso === null ? null : Date.parse(iso));
  const lastSuccess = ms(status.last_success_at);
  const since = lastSuccess === null ? "no successful export yet" : `last successful export ${relativeTime(lastSuccess, nowMs)}`;
  const e = status.last_error;
  const error = e ? { title: errorTitle(e.classification, e.http_status), message: e.message, hint: e.hint } : null;
  const failures = status.consecutive_failures;
  switch (status.state) {
    case "connected": {
      const next = ms(status.next_push_at);
      // A partial success: the destination took the request but rejected some points, and said why.
      const warning = status.warning ? ` The destination reported: ${status.warning}` : "";
      return {
        state: "connected",
        badge: BADGES.connected,
        detail: `Last successful export ${relativeTime(/** @type {number} */ (lastSuccess), nowMs)}` + (next === null ? "." : `; next push ${timeUntil(next, nowMs)}.`) + warning,
        error: null,
      };
    }
    case "failing":
      return {
        state: "failing",
        badge: `${BADGES.failing} (${failures} ${failures === 1 ? "failure" : "failures"})`,
        detail: `${failures} consecutive failed ${failures === 1 ? "push" : "pushes"}; ${since}. Export pauses after 10.`,
        error,
      };
    case "paused": {
      const at = ms(status.paused_at);
      return {
        state: "paused",
        badge: BADGES.paused,
        detail:
          `Paused ${at === null ? "" : relativeTime(at, nowMs) + " "}after ${failures} consecutive failed pushes; ${since}. ` +
          "Fix the cause below, then click Re-enable.",
        error,
      };
    }
    case "disabled":
      return { state: "disabled", badge: BADGES.disabled, detail: `Export is switched off; the configuration is kept. ${capitalise(since)}.`, error: null };
    case "pending": {
      const next = ms(status.next_push_at);
      return {
        state: "pending",
        badge: BADGES.pending,
        detail: e
          ? `Re-enabled; the last error stays until a push succeeds. ${next === null ? "Waiting for the next push." : `The next push is due ${timeUntil(next, nowMs)}.`}`
          : next === null
            ? "Saved; waiting for the first push."
            : `Saved; the first push is due ${timeUntil(next, nowMs)}.`,
        error,
      };
    }
  }
}

/** @param {string} s */
function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
