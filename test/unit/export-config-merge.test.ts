import { describe, expect, it } from "vitest";
import { configFromPatch, configFromPut, saveStartsStatusOver } from "../../src/export/config";

describe("what a save leaves", () => {
  const put = configFromPut({ endpoint: "https://otlp.example.com", destination: "datadog" }, null, 1000, "datadog");

  it("PUT fills the defaults, delta for Datadog; created stays at the first save", () => {
    expect(put).toEqual({
      name: "datadog", destination: "datadog", endpoint: "https://otlp.example.com", protocol: "http/protobuf", compression: "gzip",
      temporality: "delta", histogramBoundsMs: null, enabled: true, filters: null, bodyLimitBytes: null, createdAt: 1000, updatedAt: 1000,
    });
    expect(configFromPut({ endpoint: "https://x.example" }, put, 2000, "unused")).toMatchObject({ name: "datadog", destination: "custom", temporality: "cumulative", createdAt: 1000, updatedAt: 2000 });
    expect(configFromPut({ endpoint: "https://x.example", destination: "new_relic" }, null, 2000, "nr").temporality).toBe("delta");
  });

  it("PATCH keeps what it does not name; a new destination without temporality takes its default", () => {
    expect(configFromPatch({ destination: "grafana_cloud" }, put, 3000)).toMatchObject({ destination: "grafana_cloud", temporality: "cumulative", endpoint: put.endpoint, updatedAt: 3000 });
    expect(configFromPatch({ destination: "grafana_cloud", temporality: "delta" }, put, 3000).temporality).toBe("delta");
    expect(configFromPatch({ histogram_bounds_ms: [1, 2] }, put, 3000)).toMatchObject({ histogramBoundsMs: [1, 2], temporality: "delta" });
    expect(configFromPatch({ histogram_bounds_ms: null }, { ...put, histogramBoundsMs: [1] }, 3000).histogramBoundsMs).toBeNull();
    expect(configFromPatch({ name: "Alerting", filters: { apps: { exclude: ["canary-*"] } } }, put, 3000)).toMatchObject({ name: "Alerting", filters: { apps: { exclude: ["canary-*"] } } });
    expect(configFromPatch({ filters: null }, { ...put, filters: { regions: { include: ["us-*"] } } }, 3000).filters).toBeNull();
  });

  it("a size learnt from 413 answers belongs to its destination: a new endpoint or destination forgets it", () => {
    const learnt = { ...put, bodyLimitBytes: 100_000 };
    expect(configFromPatch({ enabled: false }, learnt, 3000).bodyLimitBytes).toBe(100_000);
    expect(configFromPatch({ endpoint: "https://other.example" }, learnt, 3000).bodyLimitBytes).toBeNull();
    expect(configFromPatch({ destination: "custom" }, learnt, 3000).bodyLimitBytes).toBeNull();
    expect(configFromPut({ endpoint: learnt.endpoint, destination: "datadog" }, learnt, 3000, "x").bodyLimitBytes).toBe(100_000);
    expect(configFromPut({ endpoint: "https://other.example", destination: "datadog" }, learnt, 3000, "x").bodyLimitBytes).toBeNull();
  });

  it("a save starts the status over when it changes where or how pushes go, replaces headers, or re-enables", () => {
    expect(saveStartsStatusOver(null, put, false)).toBe(true);
    expect(saveStartsStatusOver(put, { ...put, enabled: false }, false)).toBe(false);
    expect(saveStartsStatusOver(put, { ...put, histogramBoundsMs: [1] }, false)).toBe(false);
    expect(saveStartsStatusOver(put, put, true)).toBe(true);
    expect(saveStartsStatusOver({ ...put, enabled: false }, put, false)).toBe(true);
    expect(saveStartsStatusOver(put, { ...put, endpoint: "https://other.example" }, false)).toBe(true);
  });
});
