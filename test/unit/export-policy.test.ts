import { describe, expect, it } from "vitest";
import { classify, describeFailure } from "../../src/export/classify";
import { parsePartialSuccess } from "../../src/export/partial-success";
import { backoffMs, isRetryable, parseRetryAfter, retryDelayMs } from "../../src/export/retry-policy";
import { nextPushAt, pushOffsetMs } from "../../src/export/schedule";
import { exportState, INITIAL_STATUS, recordPush, statusAfterResume, type PushSummary, type StoredConfig } from "../../src/export/status";
import { metricsUrl } from "../../src/export/url";

describe("metricsUrl", () => {
  it.each([
    ["https://otlp-gateway-prod-us-east-0.grafana.net/otlp", "https://otlp-gateway-prod-us-east-0.grafana.net/otlp/v1/metrics"],
    ["https://otlp-gateway-prod-us-east-0.grafana.net/otlp/", "https://otlp-gateway-prod-us-east-0.grafana.net/otlp/v1/metrics"],
    ["https://otlp-gateway-prod-us-east-0.grafana.net/otlp//", "https://otlp-gateway-prod-us-east-0.grafana.net/otlp/v1/metrics"],
    ["http://prom:4318", "http://prom:4318/v1/metrics"],
    ["http://prom:4318/", "http://prom:4318/v1/metrics"],
    ["https://api.datadoghq.com/api/v2/otlp", "https://api.datadoghq.com/api/v2/otlp/v1/metrics"],
    ["https://otlp.datadoghq.com/v1/metrics", "https://otlp.datadoghq.com/v1/metrics"],
    ["https://otlp.datadoghq.com/v1/metrics/", "https://otlp.datadoghq.com/v1/metrics"],
    ["http://prom:9090/api/v1/otlp", "http://prom:9090/api/v1/otlp/v1/metrics"],
    ["https://collector.example.com/base?tenant=a", "https://collector.example.com/base/v1/metrics?tenant=a"],
  ])("%s → %s", (endpoint, url) => {
    expect(metricsUrl(endpoint)).toBe(url);
  });
});

describe("retry policy", () => {
  it.each([
    [{ kind: "http", status: 429, bodyExcerpt: "", retryAfter: null }, true],
    [{ kind: "http", status: 502, bodyExcerpt: "", retryAfter: null }, true],
    [{ kind: "http", status: 503, bodyExcerpt: "", retryAfter: null }, true],
    [{ kind: "http", status: 504, bodyExcerpt: "", retryAfter: null }, true],
    [{ kind: "http", status: 500, bodyExcerpt: "", retryAfter: null }, false],
    [{ kind: "http", status: 400, bodyExcerpt: "", retryAfter: null }, false],
    [{ kind: "http", status: 401, bodyExcerpt: "", retryAfter: null }, false],
    [{ kind: "http", status: 404, bodyExcerpt: "", retryAfter: null }, false],
    [{ kind: "http", status: 413, bodyExcerpt: "", retryAfter: null }, false],
    [{ kind: "timeout", timeoutMs: 10_000 }, true],
    [{ kind: "network", message: "refused" }, true],
    [{ kind: "credentials_unreadable", message: "x" }, false],
  ] as const)("%j retryable: %s", (failure, retryable) => {
    expect(isRetryable(failure)).toBe(retryable);
  });

  it("backs off base × 1, 2, 4 with ±20% jitter", () => {
    expect([1, 2, 3].map((n) => backoffMs(n, 1000, () => 0.5))).toEqual([1000, 2000, 4000]);
    expect(backoffMs(1, 1000, () => 0)).toBe(800);
    expect(backoffMs(3, 1000, () => 1)).toBe(4800);
  });

  it("reads Retry-After as seconds or an HTTP date, capped at 30 s", () => {
    const now = Date.parse("2026-11-26T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("120", now)).toBe(30_000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 10:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter("7", now, 100)).toBe(100); // the cap is a setting (EXPORT_RETRY_AFTER_MAX_MS)
    expect(retryDelayMs({ kind: "http", status: 429, bodyExcerpt: "", retryAfter: "3" }, 1, 1000, now)).toBe(3000);
    expect(retryDelayMs({ kind: "http", status: 503, bodyExcerpt: "", retryAfter: null }, 2, 1000, now, undefined, () => 0.5)).toBe(2000);
  });
});

describe("classification", () => {
  it.each([
    [401, "unauthorized"],
    [403, "unauthorized"],
    [404, "not_found"],
    [301, "not_found"],
    [429, "rate_limited"],
    [413, "payload_too_large"],
    [400, "bad_request"],
    [422, "bad_request"],
    [500, "server_error"],
    [503, "server_error"],
  ])("HTTP %i → %s", (status, classification) => {
    expect(classify({ kind: "http", status, bodyExcerpt: "", retryAfter: null })).toBe(classification);
  });

  it("gives destination-specific hints", () => {
    const http = (status: number, bodyExcerpt = "") => ({ kind: "http" as const, status, bodyExcerpt, retryAfter: null });
    expect(describeFailure(http(401), "grafana_cloud").hint).toMatch(/MetricsPublisher.*Remote Write/);
    expect(describeFailure(http(403), "datadog").hint).toMatch(/API key.*site/);
    expect(describeFailure(http(404), "grafana_cloud").hint).toContain("region");
    expect(describeFailure({ kind: "timeout", timeoutMs: 10_000 }, "prometheus").hint).toMatch(/publicly reachable.*4318/);
    // The hint names the timeout in force (EXPORT_REQUEST_TIMEOUT_MS), not a fixed 10 seconds.
    expect(describeFailure({ kind: "timeout", timeoutMs: 2_500 }, "custom").hint).toContain("within 2.5 seconds");
    expect(describeFailure(http(400, "invalid temporality and type combination"), "grafana_cloud").hint).toMatch(/delta.*cumulative|cumulative.*delta/);
    expect(describeFailure(http(400, "bad proto"), "grafana_cloud").hint).not.toContain("temporality");
    expect(describeFailure({ kind: "network", message: "connection refused" }, "custom")).toMatchObject({
      classification: "network",
      httpStatus: null,
      message: "Could not connect: connection refused",
    });
  });
});

describe("partial success", () => {
  it("reads protobuf and JSON responses, ignoring empty and unreadable ones", () => {
    const msg = new TextEncoder().encode("too old");
    // ExportMetricsServiceResponse { partial_success (1) { rejected_data_points (1) = 3, error_message (2) = "too old" } }
    const inner = [0x08, 0x03, 0x12, msg.length, ...msg];
    const body = new Uint8Array([0x0a, inner.length, ...inner]);
    expect(parsePartialSuccess(body, "application/x-protobuf")).toEqual({ rejectedDataPoints: 3, errorMessage: "too old" });
    expect(parsePartialSuccess(new TextEncoder().encode('{"partialSuccess":{"rejectedDataPoints":"4","errorMessage":"x"}}'), "application/json")).toEqual({
      rejectedDataPoints: 4,
      errorMessage: "x",
    });
    expect(parsePartialSuccess(new Uint8Array(), "application/x-protobuf")).toBeNull();
    expect(parsePartialSuccess(new TextEncoder().encode("<html>ok</html>"), "text/html")).toBeNull();
    expect(parsePartialSuccess(new TextEncoder().encode("{}"), "application/json")).toBeNull();
  });
});

describe("failure accounting", () => {
  const failed: PushSummary = {
    ok: false,
    error: { httpStatus: 503, classification: "server_error", message: "HTTP 503", hint: "retry" },
    warning: null,
    requests: 1,
    attempts: 4,
    dataPoints: 0,
    bytes: 0,
    durationMs: 10,
  };
  const succeeded: PushSummary = { ok: true, error: null, warning: null, requests: 2, attempts: 3, dataPoints: 26, bytes: 900, durationMs: 5 };
  const config: StoredConfig = {
    name: "custom",
    filters: null,
    bodyLimitBytes: null,
    destination: "custom",
    endpoint: "https://x",
    protocol: "http/protobuf",
    compression: "gzip",
    temporality: "cumulative",
    histogramBoundsMs: null,
    enabled: true,
    createdAt: 0,
    updatedAt: 0,
  };

  it("pauses at the 10th consecutive failure and not before", () => {
    let s = { ...INITIAL_STATUS };
    expect(exportState(config, s)).toBe("pending");
    for (let i = 1; i <= 9; i++) {
      s = recordPush(s, failed, i);
      expect(s.pausedAt).toBeNull();
      expect(exportState(config, s)).toBe("failing");
    }
    s = recordPush(s, failed, 10);
    expect(s).toMatchObject({ consecutiveFailures: 10, pausedAt: 10, lastError: { at: 10, classification: "server_error" } });
    expect(exportState(config, s)).toBe("paused");
    s = statusAfterResume(s);
    expect(s).toMatchObject({ consecutiveFailures: 0, pausedAt: null });
    s = recordPush(s, succeeded, 11);
    expect(exportState(config, s)).toBe("connected");
    expect(s.totals).toEqual({ pushesSucceeded: 1, pushesFailed: 10, retries: 31, dataPointsSent: 26, bytesSent: 900, lastPushDurationMs: 5 });
  });

  it("a success in between resets the count", () => {
    let s = { ...INITIAL_STATUS };
    for (let i = 0; i < 9; i++) s = recordPush(s, failed, i);
    s = recordPush(s, succeeded, 9);
    s = recordPush(s, failed, 10);
    expect(s).toMatchObject({ consecutiveFailures: 1, pausedAt: null, lastSuccessAt: 9 });
  });

  it("states", () => {
    expect(exportState(null, INITIAL_STATUS)).toBe("unconfigured");
    expect(exportState({ ...config, enabled: false }, INITIAL_STATUS)).toBe("disabled");
  });
});

describe("schedule", () => {
  it("spreads projects over the interval with a stable offset", () => {
    const offsets = new Set(Array.from({ length: 200 }, (_, i) => Math.floor(pushOffsetMs(`p-proj${i}`, 60_000) / 1000)));
    expect(offsets.size).toBeGreaterThan(40);
    // FNV-1a 32-bit of "p-abc12345" is 3,904,582,393 (computed independently): 3,904,582,393 mod 60,000.
    expect(pushOffsetMs("p-abc12345", 60_000)).toBe(22_393);
    expect(pushOffsetMs("p-abc12346", 60_000)).toBe(29_536);
  });

  it("next push is the first slot strictly after now", () => {
    const off = pushOffsetMs("p-abc12345", 60_000);
    const base = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);
    expect(nextPushAt("p-abc12345", 60_000, base + off - 1)).toBe(base + off);
    expect(nextPushAt("p-abc12345", 60_000, base + off)).toBe(base + off + 60_000);
    const t = nextPushAt("p-abc12345", 2000, base);
    expect(t).toBeGreaterThan(base);
    expect(t - base).toBeLessThanOrEqual(2000);
  });
});
