import { describe, expect, it } from "vitest";
import {
  AUDIT_RETENTION_MS,
  boundChanges,
  describeActor,
  exportChanges,
  headerChangesFromInput,
  MAX_AUDIT_CHANGES_BYTES,
  MAX_AUDIT_ENTRIES,
  notificationChanges,
  redactUrl,
  type NotificationAuditView,
} from "../../src/audit/changes";
import { configFromPatch, configFromPut } from "../../src/export/config";
import type { StoredConfig } from "../../src/export/status";
import type { ExportConfigPatch, ExportConfigPut } from "../../src/validation/export-config";

const SECRET = "sk-live-9f8e7d6c5b4a-TOP-SECRET";
const SECRET_2 = "Bearer glc_eyJvIjoiMTIzNCJ9-ANOTHER-SECRET";

function config(overrides: Partial<StoredConfig> = {}): StoredConfig {
  return {
    name: "Grafana",
    destination: "grafana_cloud",
    endpoint: "https://otlp-gateway-prod-us-east-0.grafana.net/otlp",
    protocol: "http/protobuf",
    compression: "gzip",
    temporality: "cumulative",
    histogramBoundsMs: null,
    enabled: true,
    filters: null,
    bodyLimitBytes: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

const untouched = (names: string[]) => names.map((name) => ({ name, replaced: false }));

describe("exportChanges", () => {
  it("creation lists every field with its new value only, and every header as added", () => {
    const after = config({ histogramBoundsMs: [5, 10], filters: { apps: { include: ["web-*"] } } });
    const changes = exportChanges(null, after, {
      before: [],
      after: [
        { name: "X-Scope-OrgID", replaced: false },
        { name: "Authorization", replaced: false },
      ],
    });
    expect(changes).toEqual([
      { field: "name", new: "Grafana" },
      { field: "destination", new: "grafana_cloud" },
      { field: "endpoint", new: "https://otlp-gateway-prod-us-east-0.grafana.net/otlp" },
      { field: "enabled", new: true },
      { field: "protocol", new: "http/protobuf" },
      { field: "compression", new: "gzip" },
      { field: "temporality", new: "cumulative" },
      { field: "histogram_bounds_ms", new: [5, 10] },
      { field: "filters", new: { apps: { include: ["web-*"] } } },
      { field: "headers.Authorization", change: "added" },
      { field: "headers.X-Scope-OrgID", change: "added" },
    ]);
    for (const change of changes) expect(change).not.toHaveProperty("old");
  });

  it("creation from a PUT records defaults (null bounds and filters) as new values", () => {
    const after = configFromPut({ endpoint: "https://collector.example.com/v1/metrics" }, null, 5_000, "Export 1");
    const changes = exportChanges(null, after, { before: [], after: [] });
    expect(changes.map((c) => c.field)).toEqual([
      "name",
      "destination",
      "endpoint",
      "enabled",
      "protocol",
      "compression",
      "temporality",
      "histogram_bounds_ms",
      "filters",
    ]);
    expect(changes.find((c) => c.field === "histogram_bounds_ms")).toEqual({ field: "histogram_bounds_ms", new: null });
    expect(changes.find((c) => c.field === "filters")).toEqual({ field: "filters", new: null });
    expect(changes.find((c) => c.field === "name")).toEqual({ field: "name", new: "Export 1" });
  });

  it("a PUT changing endpoint and destination reports both (and the temporality it implies), nothing else", () => {
    const before = config();
    const input: ExportConfigPut = { endpoint: "https://api.datadoghq.com/api/intake/otlp/v1/metrics", destination: "datadog" };
    const after = configFromPut(input, before, 9_000, "unused");
    const changes = exportChanges(before, after, { before: [], after: [] });
    expect(changes).toEqual([
      { field: "destination", old: "grafana_cloud", new: "datadog" },
      { field: "endpoint", old: "https://otlp-gateway-prod-us-east-0.grafana.net/otlp", new: "https://api.datadoghq.com/api/intake/otlp/v1/metrics" },
      { field: "temporality", old: "cumulative", new: "delta" },
    ]);
  });

  it("a PATCH of one header's value is exactly one 'value replaced' change", () => {
    const before = config();
    const stored = ["Authorization", "X-Scope-OrgID"];
    const input: ExportConfigPatch = { headers: [{ name: "Authorization", value: SECRET }, { name: "X-Scope-OrgID" }] };
    const after = configFromPatch(input, before, 2_000);
    const headerList = headerChangesFromInput(stored, input.headers);
    expect(headerList).not.toBeNull();
    const changes = exportChanges(before, after, { before: stored, after: headerList! });
    expect(changes).toEqual([{ field: "headers.Authorization", change: "value replaced" }]);
    expect(JSON.stringify(changes)).not.toContain(SECRET);
  });

  it("headers added and removed", () => {
    const changes = exportChanges(config(), config(), {
      before: ["Authorization", "X-Old"],
      after: [
        { name: "Authorization", replaced: false },
        { name: "X-New", replaced: false },
      ],
    });
    expect(changes).toEqual([
      { field: "headers.X-New", change: "added" },
      { field: "headers.X-Old", change: "removed" },
    ]);
  });

  it("headers untouched produce no change", () => {
    const stored = ["Authorization", "DD-API-KEY"];
    expect(exportChanges(config(), config({ updatedAt: 99_999 }), { before: stored, after: untouched(stored) })).toEqual([]);
  });

  it("header names compare case-insensitively", () => {
    const changes = exportChanges(config(), config(), {
      before: ["authorization", "x-scope-orgid"],
      after: [
        { name: "Authorization", replaced: true },
        { name: "X-Scope-OrgID", replaced: false },
      ],
    });
    expect(changes).toEqual([{ field: "headers.Authorization", change: "value replaced" }]);
  });

  it("header changes come after the fields, sorted by name case-insensitively", () => {
    const changes = exportChanges(config(), config({ enabled: false }), {
      before: ["b-header", "Zeta", "alpha"],
      after: [
        { name: "zeta", replaced: true },
        { name: "Carrot", replaced: false },
        { name: "alpha", replaced: true },
      ],
    });
    expect(changes).toEqual([
      { field: "enabled", old: true, new: false },
      { field: "headers.alpha", change: "value replaced" },
      { field: "headers.b-header", change: "removed" },
      { field: "headers.Carrot", change: "added" },
      { field: "headers.zeta", change: "value replaced" },
    ]);
  });

  it("deep-equal filters (even with keys in another order) are no change", () => {
    const before = config({ filters: { metrics: { include: ["cerebrium_run_total"] }, apps: { include: ["a"], exclude: ["b"] } } });
    const after = config({ filters: { apps: { exclude: ["b"], include: ["a"] }, metrics: { include: ["cerebrium_run_total"] } } });
    expect(exportChanges(before, after, { before: [], after: [] })).toEqual([]);
  });

  it("changed filters report old and new", () => {
    const before = config({ filters: { apps: { include: ["a"] } } });
    const after = config({ filters: { apps: { include: ["a", "b"] } } });
    expect(exportChanges(before, after, { before: [], after: [] })).toEqual([
      { field: "filters", old: { apps: { include: ["a"] } }, new: { apps: { include: ["a", "b"] } } },
    ]);
    expect(exportChanges(after, config({ filters: null }), { before: [], after: [] })).toEqual([
      { field: "filters", old: { apps: { include: ["a", "b"] } }, new: null },
    ]);
  });

  it("recorded values are copies, not the live configuration", () => {
    const after = config({ filters: { regions: { include: ["us-east-1"] } }, histogramBoundsMs: [1, 2] });
    const changes = exportChanges(config(), after, { before: [], after: [] });
    after.filters!.regions!.include!.push("eu-west-2");
    after.histogramBoundsMs!.push(3);
    expect(changes).toEqual([
      { field: "histogram_bounds_ms", old: null, new: [1, 2] },
      { field: "filters", old: null, new: { regions: { include: ["us-east-1"] } } },
    ]);
  });

  it("histogram bounds null ↔ array, and between arrays", () => {
    const none = config();
    const some = config({ histogramBoundsMs: [10, 100, 1000] });
    expect(exportChanges(none, some, { before: [], after: [] })).toEqual([{ field: "histogram_bounds_ms", old: null, new: [10, 100, 1000] }]);
    expect(exportChanges(some, none, { before: [], after: [] })).toEqual([{ field: "histogram_bounds_ms", old: [10, 100, 1000], new: null }]);
    expect(exportChanges(some, config({ histogramBoundsMs: [10, 100, 1000] }), { before: [], after: [] })).toEqual([]);
    expect(exportChanges(some, config({ histogramBoundsMs: [10, 100] }), { before: [], after: [] })).toEqual([
      { field: "histogram_bounds_ms", old: [10, 100, 1000], new: [10, 100] },
    ]);
  });

  it("the enabled toggle (a PATCH {enabled: false}) is one change", () => {
    const before = config();
    const after = configFromPatch({ enabled: false }, before, 3_000);
    expect(exportChanges(before, after, { before: ["Authorization"], after: untouched(["Authorization"]) })).toEqual([
      { field: "enabled", old: true, new: false },
    ]);
    expect(exportChanges(after, before, { before: [], after: [] })).toEqual([{ field: "enabled", old: false, new: true }]);
  });

  it("bodyLimitBytes, createdAt and updatedAt are not audited", () => {
    const before = config();
    const after = config({ bodyLimitBytes: 1_048_576, createdAt: 7, updatedAt: 8 });
    expect(exportChanges(before, after, { before: [], after: [] })).toEqual([]);
  });

  it("deletion lists nothing", () => {
    expect(exportChanges(config(), null, { before: ["Authorization"], after: [] })).toEqual([]);
  });

  it("never contains a secret header value", () => {
    const stored = ["Authorization", "DD-API-KEY", "X-Old"];
    const headers = [
      { name: "authorization", value: SECRET },
      { name: "DD-API-KEY", value: SECRET_2 },
      { name: "X-Brand-New", value: SECRET },
    ];
    const before = config();
    const after = configFromPut({ endpoint: before.endpoint, destination: before.destination, headers }, before, 4_000, "unused");
    const list = headerChangesFromInput(stored, headers)!;
    const outputs = [
      exportChanges(before, after, { before: stored, after: list }),
      exportChanges(null, after, { before: [], after: list }),
      exportChanges(before, null, { before: stored, after: [] }),
    ];
    expect(outputs[0]).toEqual([
      { field: "headers.authorization", change: "value replaced" },
      { field: "headers.DD-API-KEY", change: "value replaced" },
      { field: "headers.X-Brand-New", change: "added" },
      { field: "headers.X-Old", change: "removed" },
    ]);
    for (const output of outputs) {
      const text = JSON.stringify(output);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET_2);
      expect(text).not.toContain("TOP-SECRET");
      for (const change of output) if (change.field.startsWith("headers.")) expect(Object.keys(change).sort()).toEqual(["change", "field"]);
    }
  });
});

describe("headerChangesFromInput", () => {
  it("is null when the input has no headers", () => {
    expect(headerChangesFromInput(["Authorization"], undefined)).toBeNull();
  });

  it("an empty list removes every stored header", () => {
    const list = headerChangesFromInput(["Authorization"], []);
    expect(list).toEqual([]);
    expect(exportChanges(config(), config(), { before: ["Authorization"], after: list! })).toEqual([{ field: "headers.Authorization", change: "removed" }]);
  });

  it("marks a stored header given a value as replaced, case-insensitively", () => {
    expect(headerChangesFromInput(["authorization", "X-Keep"], [{ name: "Authorization", value: SECRET }, { name: "x-keep" }])).toEqual([
      { name: "Authorization", replaced: true },
      { name: "x-keep", replaced: false },
    ]);
  });

  it("a new name with a value is not 'replaced' (exportChanges reports it added)", () => {
    const list = headerChangesFromInput(["Authorization"], [{ name: "Authorization" }, { name: "X-New", value: SECRET }]);
    expect(list).toEqual([
      { name: "Authorization", replaced: false },
      { name: "X-New", replaced: false },
    ]);
    expect(exportChanges(config(), config(), { before: ["Authorization"], after: list! })).toEqual([{ field: "headers.X-New", change: "added" }]);
  });

  it("never carries values", () => {
    const list = headerChangesFromInput(["A"], [{ name: "A", value: SECRET }, { name: "B", value: SECRET_2 }]);
    expect(JSON.stringify(list)).not.toContain(SECRET);
    expect(JSON.stringify(list)).not.toContain(SECRET_2);
  });
});

describe("describeActor", () => {
  it("describes the admin and keys", () => {
    expect(describeActor({ kind: "admin" })).toBe("admin");
    expect(describeActor({ kind: "key", key_id: "k_123", key_name: "CI deploy" })).toBe('key "CI deploy" (k_123)');
    expect(describeActor({ kind: "key", key_id: "k_456", key_name: "" })).toBe("key k_456");
  });
});

describe("boundChanges", () => {
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
  const bigFilters = (tag: string) => ({
    apps: { include: Array.from({ length: 64 }, (_, i) => `${tag}-app-${i}-`.padEnd(128, "x")) },
    regions: { exclude: Array.from({ length: 64 }, (_, i) => `${tag}-region-${i}-`.padEnd(128, "y")) },
  });

  it("leaves changes that fit exactly as they are (a copy)", () => {
    const changes = exportChanges(config(), config({ enabled: false, filters: { regions: { include: ["us-*"] } } }), { before: ["Authorization"], after: untouched(["Authorization"]) });
    const bounded = boundChanges(changes);
    expect(bounded).toEqual(changes);
    expect(bounded).not.toBe(changes);
  });

  it("replaces the largest values by their size until the entry fits, keeping the small ones and every field", () => {
    const before = config({ filters: bigFilters("old") });
    const after = config({ filters: bigFilters("new"), endpoint: "https://other.example/otlp" });
    const headers = { before: ["Authorization"], after: [{ name: "Authorization", replaced: true }] };
    const changes = exportChanges(before, after, headers);
    expect(bytes(changes)).toBeGreaterThan(MAX_AUDIT_CHANGES_BYTES);
    const bounded = boundChanges(changes);
    expect(bytes(bounded)).toBeLessThanOrEqual(MAX_AUDIT_CHANGES_BYTES);
    expect(bounded.map((c) => c.field)).toEqual(changes.map((c) => c.field));
    const filters = bounded.find((c) => c.field === "filters")!;
    // Each side alone is ~17 KB: both go, each replaced by its exact size.
    expect(filters.old).toBe(`[omitted: ${bytes(before.filters)} bytes]`);
    expect(filters.new).toBe(`[omitted: ${bytes(after.filters)} bytes]`);
    expect(bounded.find((c) => c.field === "endpoint")).toEqual({ field: "endpoint", old: before.endpoint, new: after.endpoint });
    expect(bounded.find((c) => c.field === "headers.Authorization")).toEqual({ field: "headers.Authorization", change: "value replaced" });
    expect(changes.find((c) => c.field === "filters")!.old).toEqual(before.filters); // the input is not changed
  });

  it("omits only as much as it must: one large value of two", () => {
    const changes = [
      { field: "a", old: "x".repeat(600), new: "y".repeat(100) },
      { field: "b", new: "z".repeat(700) },
    ];
    expect(boundChanges(changes, 1000)).toEqual([
      { field: "a", old: "x".repeat(600), new: "y".repeat(100) },
      { field: "b", new: "[omitted: 702 bytes]" },
    ]);
  });

  it("the log's bounds: 1,000 entries of at most 16 KiB of changes, 90 days", () => {
    expect(MAX_AUDIT_ENTRIES * MAX_AUDIT_CHANGES_BYTES).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(AUDIT_RETENTION_MS / (24 * 60 * 60 * 1000)).toBe(90);
  });
});

describe("redactUrl", () => {
  it.each([
    ["a Slack webhook", "https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"],
    ["a root path", "https://example.com/", "https://example.com/"],
    ["no path at all", "https://example.com", "https://example.com/"],
    ["a query on the root", "https://example.com/?token=abc", "https://example.com/"],
    ["a query and fragment on a path", "https://example.com/hook?token=abc#frag", "https://example.com/…"],
    ["a port", "http://example.com:8080/a/b", "http://example.com:8080/…"],
    ["a default port", "https://example.com:443/x", "https://example.com/…"],
    ["user info", "https://user:pass@example.com/x", "https://example.com/…"],
    ["an upper-case host", "HTTPS://Hooks.Slack.COM/services/x", "https://hooks.slack.com/…"],
    ["an invalid URL", "not a url", "[invalid url]"],
    ["an empty string", "", "[invalid url]"],
    ["a URL without a host", "mailto:someone@example.com", "[invalid url]"],
  ])("%s", (_, url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("never keeps the secret part", () => {
    const out = redactUrl(`https://hooks.slack.com/services/T0/B0/${SECRET}?k=${SECRET_2}#${SECRET}`);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain("B0");
  });
});

describe("notificationChanges", () => {
  const slack = `https://hooks.slack.com/services/T0/B0/${SECRET}`;
  function notification(overrides: Partial<NotificationAuditView> = {}): NotificationAuditView {
    return {
      name: "On-call",
      format: "slack",
      events: ["export.paused", "export.failing"],
      quiet_period_seconds: 600,
      url_redacted: redactUrl(slack),
      ...overrides,
    };
  }

  it("creation lists every field new only, the URL as added with its origin", () => {
    const changes = notificationChanges(null, notification(), true, true);
    expect(changes).toEqual([
      { field: "name", new: "On-call" },
      { field: "format", new: "slack" },
      { field: "events", new: ["export.paused", "export.failing"] },
      { field: "quiet_period_seconds", new: 600 },
      { field: "url", change: "added" },
      { field: "url_origin", new: "https://hooks.slack.com" },
      { field: "secret", change: "added" },
    ]);
    expect(JSON.stringify(changes)).not.toContain(SECRET);
  });

  it("non-secret fields report old and new", () => {
    const changes = notificationChanges(notification(), notification({ name: "Team", quiet_period_seconds: 60, events: ["export.paused"] }), false, false);
    expect(changes).toEqual([
      { field: "name", old: "On-call", new: "Team" },
      { field: "events", old: ["export.paused", "export.failing"], new: ["export.paused"] },
      { field: "quiet_period_seconds", old: 600, new: 60 },
    ]);
  });

  it("the same events in another order are no change", () => {
    expect(notificationChanges(notification(), notification({ events: ["export.failing", "export.paused"] }), false, false)).toEqual([]);
  });

  it("a replaced URL on the same origin is 'value replaced' only", () => {
    const changes = notificationChanges(notification(), notification({ url_redacted: redactUrl("https://hooks.slack.com/services/T1/B1/other") }), true, false);
    expect(changes).toEqual([{ field: "url", change: "value replaced" }]);
  });

  it("a replaced URL on another origin also reports the origins", () => {
    const changes = notificationChanges(notification(), notification({ format: "json", url_redacted: redactUrl(`https://alerts.example.com:8443/hook?key=${SECRET_2}`) }), true, false);
    expect(changes).toEqual([
      { field: "format", old: "slack", new: "json" },
      { field: "url", change: "value replaced" },
      { field: "url_origin", old: "https://hooks.slack.com", new: "https://alerts.example.com:8443" },
    ]);
    expect(JSON.stringify(changes)).not.toContain(SECRET_2);
  });

  it("secret rotation is 'value replaced'", () => {
    expect(notificationChanges(notification(), notification(), false, true)).toEqual([{ field: "secret", change: "value replaced" }]);
  });

  it("nothing changed, and deletion, list nothing", () => {
    expect(notificationChanges(notification(), notification(), false, false)).toEqual([]);
    expect(notificationChanges(notification(), null, false, false)).toEqual([]);
  });

  it("never contains the URL or the secret", () => {
    const outputs = [
      notificationChanges(null, notification(), true, true),
      notificationChanges(notification(), notification({ url_redacted: redactUrl(`https://other.example/${SECRET}`) }), true, true),
    ];
    for (const output of outputs) {
      const text = JSON.stringify(output);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain("/services/");
      for (const change of output) if (change.field === "url" || change.field === "secret") expect(Object.keys(change).sort()).toEqual(["change", "field"]);
    }
  });
});
