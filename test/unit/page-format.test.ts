/**
 * public/assets/page/format.js: the Metrics Export page's status badge and sentence, relative times
 * and totals. The status objects are built by the server's own code (recordPush → exportView), so the
 * page is tested against the JSON it really receives.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeFailure, type Classification } from "../../src/export/classify";
import type { SendFailure } from "../../src/export/send-outcome";
import {
  INITIAL_STATUS,
  PAUSE_AFTER_FAILURES,
  recordPush,
  statusAfterResume,
  statusAfterSave,
  type ExportState,
  type ExportStatus,
  type PushSummary,
  type StoredConfig,
} from "../../src/export/status";
import { exportView } from "../../src/export/view";

// The page scripts are plain browser JS, type-checked from their JSDoc by tsconfig.page.json; this
// project does not compile them (their `// @ts-check` would, and some of their parameters are left
// untyped), so they are loaded through a specifier TypeScript does not resolve, with the signatures
// of their JSDoc restated here. The first test checks that the module exports exactly these.

/** format.js's `ExportStatus` typedef (it mirrors src/export/view.ts `status`). */
interface PageExportStatus {
  state: ExportState;
  last_success_at: string | null;
  last_attempt_at: string | null;
  last_error: { at: string; http_status: number | null; classification: string; message: string; hint: string } | null;
  consecutive_failures: number;
  paused_at: string | null;
  next_push_at: string | null;
  warning: string | null;
  totals: { pushes_succeeded: number; pushes_failed: number; retries: number; data_points_sent: number; bytes_sent: number };
}
interface StatusModel {
  state: ExportState;
  badge: string;
  detail: string;
  error: { title: string; message: string; hint: string } | null;
}
interface FormatModule {
  BADGES: Readonly<Record<ExportState, string>>;
  CLASSIFICATIONS: Readonly<Record<string, string>>;
  relativeTime(thenMs: number, nowMs: number): string;
  timeUntil(thenMs: number, nowMs: number): string;
  formatCount(n: number): string;
  formatBytes(n: number): string;
  errorTitle(classification: string, httpStatus: number | null): string;
  statusModel(status: PageExportStatus | null, nowMs: number): StatusModel;
}

const formatModule = (await import(path.join(import.meta.dirname, "../../public/assets/page/format.js"))) as FormatModule;
const { BADGES, CLASSIFICATIONS, errorTitle, formatBytes, formatCount, relativeTime, statusModel, timeUntil } = formatModule;

it("format.js exports what this test expects", () => {
  expect(Object.keys(formatModule).sort()).toEqual(
    ["BADGES", "CLASSIFICATIONS", "errorTitle", "formatBytes", "formatCount", "relativeTime", "statusModel", "timeUntil"].sort(),
  );
  for (const f of [errorTitle, formatBytes, formatCount, relativeTime, statusModel, timeUntil]) expect(typeof f).toBe("function");
});

const NOW = Date.parse("2025-06-01T12:00:00.000Z");
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe("relativeTime", () => {
  const ago = (ms: number) => relativeTime(NOW - ms, NOW);

  it('reads "just now" below 5 s', () => {
    expect(ago(0)).toBe("just now");
    expect(ago(1 * SEC)).toBe("just now");
    expect(ago(4 * SEC)).toBe("just now");
    expect(ago(4.4 * SEC)).toBe("just now");
  });

  it("counts seconds from 5 s to 89 s", () => {
    expect(ago(5 * SEC)).toBe("5 s ago");
    expect(ago(40 * SEC)).toBe("40 s ago");
    expect(ago(89 * SEC)).toBe("89 s ago");
  });

  it("switches to minutes at 90 s", () => {
    expect(ago(90 * SEC)).toBe("2 min ago");
    expect(ago(3 * MIN)).toBe("3 min ago");
    expect(ago(89 * MIN)).toBe("89 min ago");
  });

  it("switches to hours at 90 min, and to days at 36 h", () => {
    expect(ago(90 * MIN)).toBe("2 h ago");
    expect(ago(5 * HOUR)).toBe("5 h ago");
    expect(ago(35 * HOUR)).toBe("35 h ago");
    expect(ago(36 * HOUR)).toBe("2 days ago");
    expect(ago(3 * DAY)).toBe("3 days ago");
    expect(ago(400 * DAY)).toBe("400 days ago");
  });

  it("reads the future (clock skew) as just now", () => {
    expect(relativeTime(NOW + 1 * SEC, NOW)).toBe("just now");
    expect(relativeTime(NOW + 10 * MIN, NOW)).toBe("just now");
    expect(relativeTime(NOW + 3 * DAY, NOW)).toBe("just now");
  });

  it('is grammatical everywhere (never "1 days ago") and never reads younger as time passes', () => {
    const toSeconds = (text: string): number => {
      if (text === "just now") return 0;
      const m = /^(\d+) (s|min|h|days?) ago$/.exec(text);
      expect(m, text).not.toBeNull();
      const [, n, unit] = m!;
      if (unit === "day") expect(n, text).toBe("1");
      if (unit === "days") expect(n, text).not.toBe("1");
      return Number(n) * { s: 1, min: 60, h: 3600, day: 86400, days: 86400 }[unit as "s" | "min" | "h" | "day" | "days"];
    };
    let previous = 0;
    for (let ms = 0; ms <= 10 * DAY; ms += ms < 2 * HOUR ? 500 : 5 * MIN) {
      const shown = toSeconds(ago(ms));
      expect(shown, `${ms} ms ago read as "${ago(ms)}"`).toBeGreaterThanOrEqual(previous);
      previous = shown;
    }
  });
});

describe("timeUntil", () => {
  const ahead = (ms: number) => timeUntil(NOW + ms, NOW);

  it('reads "now" for 1 s or less, and for a time already past', () => {
    expect(ahead(0)).toBe("now");
    expect(ahead(1 * SEC)).toBe("now");
    expect(ahead(-30 * SEC)).toBe("now");
  });

  it("counts seconds up to 89 s, then minutes", () => {
    expect(ahead(2 * SEC)).toBe("in 2 s");
    expect(ahead(12 * SEC)).toBe("in 12 s");
    expect(ahead(89 * SEC)).toBe("in 89 s");
    expect(ahead(90 * SEC)).toBe("in 2 min");
    expect(ahead(10 * MIN)).toBe("in 10 min");
  });
});

describe("formatCount", () => {
  it("groups thousands with commas", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1000)).toBe("1,000");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(12_345_678_901)).toBe("12,345,678,901");
  });

  it("rounds to a whole number", () => {
    expect(formatCount(1234.4)).toBe("1,234");
    expect(formatCount(1234.5)).toBe("1,235");
  });
});

describe("formatBytes", () => {
  it("shows bytes below 1 KiB", () => {
    expect(formatBytes(0)).toBe("0 bytes");
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1023)).toBe("1023 bytes");
  });

  it("uses binary units, one decimal below 10", () => {
    expect(formatBytes(1024)).toBe("1.0 KiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(10 * 1024)).toBe("10 KiB");
    expect(formatBytes(1024 * 1024)).toBe("1.0 MiB");
    expect(formatBytes(5.5 * 1024 * 1024)).toBe("5.5 MiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
    expect(formatBytes(2 * 1024 ** 4)).toBe("2.0 TiB");
  });

  it("stops at TiB", () => {
    expect(formatBytes(2048 * 1024 ** 4)).toBe("2048 TiB");
  });
});

describe("errorTitle", () => {
  it("uses the guide's words and appends the HTTP status when there is one", () => {
    expect(errorTitle("unauthorized", 401)).toBe("Unauthorized: the authentication headers were refused (HTTP 401)");
    expect(errorTitle("not_found", 404)).toBe("Not found: the OTLP endpoint URL is incorrect (HTTP 404)");
    expect(errorTitle("timeout", null)).toBe("Connection timeout");
    expect(errorTitle("network", null)).toBe("Endpoint unreachable");
  });

  it("passes an unknown classification through", () => {
    expect(errorTitle("brand_new_kind", null)).toBe("brand_new_kind");
    expect(errorTitle("brand_new_kind", 418)).toBe("brand_new_kind (HTTP 418)");
  });

  it("has words for every classification the server produces", () => {
    // `satisfies` makes this list fail to compile when src/export/classify.ts gains a classification.
    const all = {
      unauthorized: 0,
      not_found: 0,
      timeout: 0,
      network: 0,
      rate_limited: 0,
      payload_too_large: 0,
      bad_request: 0,
      server_error: 0,
      credentials_unreadable: 0,
      endpoint_not_allowed: 0,
    } satisfies Record<Classification, 0>;
    for (const c of Object.keys(all)) {
      expect(Object.hasOwn(CLASSIFICATIONS, c), c).toBe(true);
      expect(errorTitle(c, null)).not.toBe(c);
    }
  });
});

// --- statusModel, over the JSON the server really sends -------------------------------------------

const config = (enabled = true): StoredConfig => ({
  name: "Grafana prod",
  destination: "grafana_cloud",
  endpoint: "https://otlp-gateway-prod-us-central-0.grafana.net/otlp/v1/metrics",
  protocol: "http/protobuf",
  compression: "gzip",
  temporality: "cumulative",
  histogramBoundsMs: null,
  enabled,
  filters: null,
  bodyLimitBytes: null,
  createdAt: NOW - 30 * DAY,
  updatedAt: NOW - 30 * DAY,
});

/** The `status` of GET …/metrics-export for this configuration and server-side status. */
function served(stored: StoredConfig | null, status: ExportStatus): PageExportStatus {
  const view = exportView(stored === null ? null : "exp_1", stored, ["Authorization"], status, { series: 12, data_points: 120 });
  // The page's typedef must accept what the server sends.
  const page: PageExportStatus = view.status;
  return page;
}

const push = (ok: boolean, failure?: SendFailure): PushSummary => ({
  ok,
  error: failure ? describeFailure(failure, "grafana_cloud") : null,
  warning: null,
  requests: 1,
  attempts: ok ? 1 : 3,
  dataPoints: ok ? 120 : 0,
  bytes: ok ? 2048 : 0,
  durationMs: 180,
});

const UNAUTHORIZED: SendFailure = { kind: "http", status: 401, bodyExcerpt: "invalid credentials", retryAfter: null };
const UNREACHABLE: SendFailure = { kind: "network", message: "connection refused" };

const succeeded = (at: number, from: ExportStatus = INITIAL_STATUS): ExportStatus => recordPush(from, push(true), at);
function failed(times: number, failure: SendFailure, lastAt: number, from: ExportStatus = INITIAL_STATUS): ExportStatus {
  let s = from;
  for (let i = times - 1; i >= 0; i--) s = recordPush(s, push(false, failure), lastAt - i * MIN);
  return s;
}

describe("statusModel", () => {
  it("shows Not configured without an export", () => {
    for (const status of [null, served(null, INITIAL_STATUS)]) {
      const m = statusModel(status, NOW);
      expect(m.state).toBe("unconfigured");
      expect(m.badge).toBe(BADGES.unconfigured);
      expect(m.badge).toBe("Not configured");
      expect(m.detail).toBe("Enter your platform's OTLP endpoint and headers, then Save & Enable.");
      expect(m.error).toBeNull();
    }
  });

  it("shows Connected with the last success and the next push", () => {
    const status = served(config(), { ...succeeded(NOW - 40 * SEC), nextPushAt: NOW + 20 * SEC });
    expect(status.state).toBe("connected");
    expect(status.next_push_at).not.toBeNull();
    const m = statusModel(status, NOW);
    expect(m.state).toBe("connected");
    expect(m.badge).toBe("Connected");
    expect(m.detail.startsWith("Last successful export")).toBe(true);
    expect(m.detail).toBe("Last successful export 40 s ago; next push in 20 s.");
    expect(m.error).toBeNull();
  });

  it("shows Connected without a next push", () => {
    const status = served(config(), succeeded(NOW - 40 * SEC));
    expect(status.next_push_at).toBeNull();
    const m = statusModel(status, NOW);
    expect(m.state).toBe("connected");
    expect(m.detail).toBe("Last successful export 40 s ago.");
    expect(m.error).toBeNull();
  });

  it("shows Connected again after failures once a push succeeds (no stale error)", () => {
    const status = served(config(), succeeded(NOW - 3 * MIN, failed(4, UNAUTHORIZED, NOW - 10 * MIN)));
    const m = statusModel(status, NOW);
    expect(m.state).toBe("connected");
    expect(m.detail).toBe("Last successful export 3 min ago.");
    expect(m.error).toBeNull();
  });

  it("shows one failure in the singular, with the error's title, message and hint", () => {
    const status = served(config(), failed(1, UNAUTHORIZED, NOW - 30 * SEC, succeeded(NOW - 5 * MIN)));
    expect(status.state).toBe("failing");
    const m = statusModel(status, NOW);
    expect(m.state).toBe("failing");
    expect(m.badge).toBe("Failing (1 failure)");
    expect(m.detail).toBe("1 consecutive failed push; last successful export 5 min ago. Export pauses after 10.");
    const e = status.last_error!;
    expect(m.error).toEqual({ title: "Unauthorized: the authentication headers were refused (HTTP 401)", message: e.message, hint: e.hint });
    expect(m.error!.message).toBe("The endpoint answered HTTP 401: invalid credentials");
    expect(m.error!.hint).toContain("MetricsPublisher");
  });

  it("shows several failures in the plural, and says when nothing ever succeeded", () => {
    const status = served(config(), failed(3, UNREACHABLE, NOW - 10 * SEC));
    const m = statusModel(status, NOW);
    expect(m.state).toBe("failing");
    expect(m.badge).toBe("Failing (3 failures)");
    expect(m.detail).toBe("3 consecutive failed pushes; no successful export yet. Export pauses after 10.");
    expect(m.error).toEqual({ title: "Endpoint unreachable", message: "Could not connect: connection refused", hint: status.last_error!.hint });
  });

  it("shows Paused with when, after how many failures, and the reason", () => {
    const status = served(config(), failed(PAUSE_AFTER_FAILURES, UNAUTHORIZED, NOW - 2 * HOUR, succeeded(NOW - 3 * DAY)));
    expect(status.state).toBe("paused");
    expect(status.paused_at).toBe(new Date(NOW - 2 * HOUR).toISOString());
    const m = statusModel(status, NOW);
    expect(m.state).toBe("paused");
    expect(m.badge).toBe("Paused");
    expect(m.detail).toBe(
      "Paused 2 h ago after 10 consecutive failed pushes; last successful export 3 days ago. Fix the cause below, then click Re-enable.",
    );
    expect(m.error).toEqual({
      title: "Unauthorized: the authentication headers were refused (HTTP 401)",
      message: "The endpoint answered HTTP 401: invalid credentials",
      hint: status.last_error!.hint,
    });
  });

  it("shows Disabled with the last success, and without one", () => {
    const before = served(config(false), { ...succeeded(NOW - 3 * MIN), nextPushAt: NOW + 30 * SEC });
    expect(before.state).toBe("disabled");
    const m = statusModel(before, NOW);
    expect(m.state).toBe("disabled");
    expect(m.badge).toBe("Disabled");
    expect(m.detail).toBe("Export is switched off; the configuration is kept. Last successful export 3 min ago.");
    expect(m.error).toBeNull();

    const never = statusModel(served(config(false), INITIAL_STATUS), NOW);
    expect(never.state).toBe("disabled");
    expect(never.detail).toBe("Export is switched off; the configuration is kept. No successful export yet.");
  });

  it("shows Pending after a save, with and without the first push's time", () => {
    const saved = served(config(), { ...INITIAL_STATUS, nextPushAt: NOW + 45 * SEC });
    expect(saved.state).toBe("pending");
    const m = statusModel(saved, NOW);
    expect(m.state).toBe("pending");
    expect(m.badge).toBe("Pending");
    expect(m.detail).toBe("Saved; the first push is due in 45 s.");
    expect(m.error).toBeNull();

    const unscheduled = statusModel(served(config(), INITIAL_STATUS), NOW);
    expect(unscheduled.state).toBe("pending");
    expect(unscheduled.detail).toBe("Saved; waiting for the first push.");

    // A save after failures (the user's fix) starts over: pending, failures forgotten.
    const fixed = served(config(), { ...statusAfterSave(failed(4, UNAUTHORIZED, NOW - MIN)), nextPushAt: NOW + 3 * MIN });
    const f = statusModel(fixed, NOW);
    expect(f.state).toBe("pending");
    expect(f.detail).toBe("Saved; the first push is due in 3 min.");
  });

  it("shows Pending after Re-enable of a paused export", () => {
    const paused = failed(PAUSE_AFTER_FAILURES, UNREACHABLE, NOW - HOUR);
    const status = served(config(), { ...statusAfterResume(paused), nextPushAt: NOW + 5 * SEC });
    const m = statusModel(status, NOW);
    expect(m.state).toBe("pending");
    expect(m.badge).toBe("Pending");
    // The last error stays visible (with its hint) until a push succeeds.
    expect(m.detail).toBe("Re-enabled; the last error stays until a push succeeds. The next push is due in 5 s.");
    expect(m.error).not.toBeNull();
    expect(m.error!.title).toBe(errorTitle(paused.lastError!.classification, paused.lastError!.httpStatus));
  });

  it("a connected export with a partial success shows the destination's warning", () => {
    const ok = { ...INITIAL_STATUS, lastSuccessAt: NOW - 40 * SEC, lastAttemptAt: NOW - 40 * SEC, warning: "2 data points rejected: out of order" };
    const m = statusModel(served(config(), ok), NOW);
    expect(m.state).toBe("connected");
    expect(m.detail).toBe("Last successful export 40 s ago. The destination reported: 2 data points rejected: out of order");
  });

  it("has a badge for every state", () => {
    expect(Object.keys(BADGES).sort()).toEqual(["connected", "disabled", "failing", "paused", "pending", "unconfigured"]);
  });
});
