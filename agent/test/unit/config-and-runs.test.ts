/** The configuration file and the POST /runs body (validated with the edge's own rules). */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, parseListen } from "../../src/config";
import { parseRuns } from "../../src/samples";

const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);
const base = {
  edge_url: "https://metrics.example.com/",
  ingest_key_file: "secrets/ingest-key",
  host_id: "gpu-host-17",
  region: "us-east-1",
  spool_dir: "spool",
  mapping: { rules: [{ pattern: "^/apps/(?<project_id>[^/]+)/(?<app_name>[^/]+)/[^/]+$", readiness_file: "ready/{container}" }] },
};

describe("parseConfig", () => {
  it("fills the documented defaults and resolves relative paths against the configuration's folder", () => {
    const c = parseConfig(base, "/etc/agent/agent.json", NOW);
    expect(c).toMatchObject({
      edgeUrl: "https://metrics.example.com",
      ingestKey: { kind: "file", path: "/etc/agent/secrets/ingest-key" },
      hostId: "gpu-host-17",
      region: "us-east-1",
      intervalMs: 15_000,
      spoolDir: "/etc/agent/spool",
      spoolMaxBytes: 256 * 1024 * 1024,
      listen: { kind: "tcp", host: "127.0.0.1", port: 9465 },
      cgroupRoot: "/sys/fs/cgroup",
      containersUnder: "/",
      procRoot: "/proc",
      nvidiaSmi: "nvidia-smi",
      batchMaxSamples: 500,
      retryBaseMs: 1000,
      retryMaxMs: 60_000,
      requestTimeoutMs: 30_000,
      maxInFlight: 2,
      shutdownTimeoutMs: 10_000,
      logLevel: "info",
    });
    expect(c.mapping.rules[0]!.readinessFile).toBe("/etc/agent/ready/{container}");
  });

  it("takes the key from METRICS_EXPORT_INGEST_KEY when no source is named", () => {
    const { ingest_key_file: _, ...noKey } = base;
    expect(parseConfig(noKey, "/a.json", NOW).ingestKey).toEqual({ kind: "env", name: "METRICS_EXPORT_INGEST_KEY" });
    expect(parseConfig({ ...noKey, ingest_key_env: "KEY" }, "/a.json", NOW).ingestKey).toEqual({ kind: "env", name: "KEY" });
  });

  it.each([
    [{ edge_url: undefined }, "edge_url: required."],
    [{ edge_url: "ftp://x" }, "edge_url: must be http or https."],
    [{ edge_url: "https://u:p@x" }, "edge_url: no credentials, query or fragment."],
    [{ ingest_key_env: "K" }, "ingest_key_file, ingest_key_env: give one of them, not both."],
    [{ host_id: "gpu host" }, "host_id: must be 1 to 128 printable ASCII characters without spaces."],
    [{ region: "US_EAST" }, "region: must match ^[a-z0-9][a-z0-9-]{0,31}$."],
    [{ interval_seconds: 0 }, "interval_seconds: must be a number from 0.05 to 3600."],
    [{ spool_max_bytes: 100 }, "spool_max_bytes: must be a whole number from 4096 to 9007199254740991."],
    [{ batch_max_samples: 5001 }, "batch_max_samples: must be a whole number from 1 to 5000."],
    [{ listen: "0.0.0.0:9465" }, 'listen: "0.0.0.0" is not a loopback address (use 127.0.0.1, ::1 or a Unix socket).'],
    [{ listen: "9465" }, 'listen: must be "127.0.0.1:<port>" or the absolute path of a Unix socket.'],
    [{ containers_under: "apps" }, 'containers_under: must start with "/" (a path as /proc/<pid>/cgroup shows it).'],
    [{ mapping: {} }, "mapping: needs rules, a file, or both."],
    [{ mapping: undefined }, "mapping: required (rules, a file, or both)."],
    [{ mapping: { rules: [{ pattern: "^/(?<app_name>x)$" }] } }, "mapping.rules[0].pattern: needs the named group (?<project_id>…)."],
    [{ log_level: "trace" }, "log_level: one of debug, info, warn, error."],
    [{ ingest_key: "cmx_ik_x" }, 'configuration: unknown field "ingest_key".'],
  ])("%j → %s", (change, message) => {
    const raw: Record<string, unknown> = { ...base, ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete raw[k];
    expect(() => parseConfig(raw, "/a.json", NOW)).toThrow(new ConfigError(message));
  });

  it.each([
    ["127.0.0.1:0", { kind: "tcp", host: "127.0.0.1", port: 0 }],
    ["[::1]:9465", { kind: "tcp", host: "::1", port: 9465 }],
    ["localhost:80", { kind: "tcp", host: "localhost", port: 80 }],
    ["/run/agent.sock", { kind: "unix", path: "/run/agent.sock" }],
  ])("listen %s", (value, listen) => {
    expect(parseListen(value)).toEqual(listen);
  });
});

describe("parseRuns", () => {
  const run = { project_id: "p-abcd", app_name: "my-model", execution_ms: 120.5, queue_ms: 3.1, response_ms: 131, success: true };

  it("one run or many; region defaults to the host's, time to now; coldstart_ms kept when given", () => {
    expect(parseRuns(run, "us-east-1", NOW)).toEqual({
      ok: true,
      samples: [{ type: "run", project_id: "p-abcd", app_name: "my-model", region: "us-east-1", time: NOW, execution_ms: 120.5, queue_ms: 3.1, response_ms: 131, success: true }],
      rejected: [],
    });
    const many = parseRuns([{ ...run, region: "eu-west-1", time: "2026-11-26T09:59:00Z" }, { ...run, type: "run", coldstart_ms: 2400 }], "us-east-1", NOW);
    expect(many.ok && many.samples.map((s) => [s.region, s.time, s.coldstart_ms])).toEqual([
      ["eu-west-1", NOW - 60_000, undefined],
      ["us-east-1", NOW, 2400],
    ]);
  });

  it("rejects bad runs one by one with the edge's codes and messages, keeping the rest", () => {
    const r = parseRuns(
      [
        run,
        { ...run, app_name: "My Model" },
        { ...run, execution_ms: 86_400_001 },
        { ...run, success: "yes" },
        { ...run, time: NOW - 2 * 3_600_000 },
        { ...run, type: "resource" },
        { ...run, extra: 1 },
        "not an object",
      ],
      "us-east-1",
      NOW,
    );
    expect(r.ok && r.samples).toHaveLength(1);
    expect(r.ok && r.rejected).toEqual([
      { index: 1, code: "invalid_field", message: "app_name: must match ^[a-z0-9][a-z0-9-]{0,62}$." },
      { index: 2, code: "invalid_field", message: "execution_ms: must be at most 86400000 ms (24 hours)." },
      { index: 3, code: "invalid_field", message: "success: must be true or false." },
      { index: 4, code: "time_out_of_range", message: "time: more than one hour in the past." },
      { index: 5, code: "unknown_type", message: 'type: must be "run" or left out; only runs are reported here.' },
      { index: 6, code: "unknown_field", message: 'Unknown field "extra" for a run sample.' },
      { index: 7, code: "invalid_sample", message: "A sample must be a JSON object." },
    ]);
  });

  it("refuses an empty list and more runs than a batch may carry", () => {
    expect(parseRuns([], "us-east-1", NOW)).toEqual({ ok: false, status: 400, code: "invalid_request", message: "No runs in the body." });
    expect(parseRuns(new Array(5001).fill(run), "us-east-1", NOW)).toMatchObject({ ok: false, status: 413, code: "payload_too_large" });
  });
});
