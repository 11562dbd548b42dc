import { describe, expect, it } from "vitest";
import { parseSamples } from "../../src/validation/samples";

const NOW = Date.parse("2026-03-01T00:10:00Z");

function run(time: unknown) {
  return { type: "run", project_id: "p-abcd1234", app_name: "a", region: "r", time, execution_ms: 1, queue_ms: 1, response_ms: 1, success: true };
}

describe("sample time", () => {
  it.each([
    ["2026-03-01T00:05:00Z", Date.parse("2026-03-01T00:05:00Z")],
    ["2026-03-01T00:05:00.123456789Z", Date.parse("2026-03-01T00:05:00.123Z")],
    ["2026-03-01t00:05:00z", Date.parse("2026-03-01T00:05:00Z")],
    ["2026-03-01T01:05:00+01:00", Date.parse("2026-03-01T00:05:00Z")],
    ["2026-02-28T23:59:60Z", Date.parse("2026-02-28T23:59:59Z")],
    [NOW - 1000, NOW - 1000],
  ])("accepts %s", (time, ms) => {
    const { valid, rejected } = parseSamples([run(time)], NOW);
    expect(rejected).toEqual([]);
    expect(valid[0]!.timeMs).toBe(ms);
  });

  it.each([
    ["2026-02-30T00:05:00Z", "invalid_field"], // no such day: Date.parse would roll over to March 2
    ["2026-02-28T24:00:00Z", "invalid_field"],
    ["2026-02-28T23:60:00Z", "invalid_field"],
    ["2026-13-01T00:00:00Z", "invalid_field"],
    ["2026-03-01T00:05:00+24:00", "invalid_field"],
    ["2026-03-01 00:05", "invalid_field"],
    ["1772323500000", "invalid_field"],
    [1.5, "invalid_field"],
    [-1, "invalid_field"],
    [NOW - 3_600_001, "time_out_of_range"],
    [NOW + 300_001, "time_out_of_range"],
  ])("rejects %s with %s", (time, code) => {
    const { valid, rejected } = parseSamples([run(time)], NOW);
    expect(valid).toEqual([]);
    expect(rejected).toEqual([{ index: 0, code, message: expect.stringContaining("time") }]);
  });
});

describe("amount bounds keep sums finite", () => {
  it.each([
    ["memory_bytes", Number.MAX_SAFE_INTEGER, true],
    ["memory_bytes", Number.MAX_SAFE_INTEGER + 2, false],
    ["cpu_cores", 1_000_000, true],
    ["cpu_cores", 1_000_000.5, false],
    ["containers_running", 1_000_000, true],
    ["containers_running", 1_000_001, false],
    ["gpu_compute_percent", 100, true],
    ["gpu_compute_percent", 100.0001, false],
  ])("%s = %d accepted: %s", (field, value, ok) => {
    const sample = {
      type: "resource",
      project_id: "p-abcd1234",
      app_name: "a",
      region: "r",
      time: NOW,
      cpu_cores: 1,
      memory_bytes: 1,
      gpu_memory_bytes: 1,
      gpu_compute_percent: 1,
      containers_running: 1,
      containers_ready: 1,
      [field]: value,
    };
    const { rejected } = parseSamples([sample], NOW);
    expect(rejected.length === 0).toBe(ok);
    if (!ok) expect(rejected[0]).toMatchObject({ code: "invalid_field", message: expect.stringContaining(field) });
  });
});
