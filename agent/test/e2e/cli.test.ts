/** The bundled command line (the package's bin), run as a host runs it: --check, --help, refusals. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_BUNDLE } from "../../scripts/build.mjs";
import { APPS_RULE, BUSY_APPS, BUSY_GPUS, buildScenario, C1, C2, C3, FakeHost, fakeNvidiaSmiEnv, myModelSample, PROJECT_A, PROJECT_B, UNMAPPED } from "../support/fake-host";

let host: FakeHost;
let dir: string;

function agent(args: string[], config?: Record<string, unknown>, env: Record<string, string> = {}) {
  if (config !== undefined) writeFileSync(path.join(dir, "agent.json"), JSON.stringify(config));
  const r = spawnSync(process.execPath, [AGENT_BUNDLE, ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  host = new FakeHost();
  buildScenario(host);
  dir = mkdtempSync(path.join(tmpdir(), "agent-cli-"));
});
afterAll(() => {
  host.remove();
  rmSync(dir, { recursive: true, force: true });
});

const config = () => ({
  edge_url: "http://127.0.0.1:9",
  host_id: "gpu-host-cli",
  region: "us-east-1",
  interval_seconds: 0.2,
  spool_dir: "spool",
  cgroup_root: host.cgroupRoot,
  containers_under: "/apps",
  proc_root: host.procRoot,
  mapping: { rules: [{ pattern: APPS_RULE, readiness_file: host.readinessTemplate }] },
});

describe("metrics-export-agent", () => {
  it("--check prints the containers, the GPU and the samples it would send, and posts nothing", () => {
    const r = agent(["--config", path.join(dir, "agent.json"), "--check"], config(), { ...fakeNvidiaSmiEnv(BUSY_GPUS, BUSY_APPS), METRICS_EXPORT_INGEST_KEY: "cmx_ik_cli" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.containers).toEqual([
      { cgroup: C1, projectId: PROJECT_A, appName: "my-model", ready: true },
      { cgroup: C2, projectId: PROJECT_A, appName: "my-model", ready: false },
      { cgroup: C3, projectId: PROJECT_B, appName: "other-app", ready: true },
    ]);
    expect(report.unmapped_containers).toEqual([UNMAPPED]);
    expect(report.cgroup_v2).toBe(true);
    expect(report.nvidia_smi).toBe("ok");
    expect(report.gpu_devices).toEqual([expect.objectContaining({ uuid: "GPU-00000000-1111-2222-3333-444444444444", utilizationPercent: 100 })]);
    expect(report.samples[0]).toEqual({ ...myModelSample(0), time: expect.any(Number) });
  });

  it.each([
    [["--help"], 0, /^Usage: metrics-export-agent --config/, "stdout"],
    [[], 2, /--config <file> is required/, "stderr"],
    [["--config", "x.json", "cmx_ik_0123"], 2, /never put the ingest key on the command line/, "stderr"],
    [["--config", "/nonexistent/agent.json"], 2, /cannot read \/nonexistent\/agent.json/, "stderr"],
  ] as const)("%j exits %i", (args, code, text, stream) => {
    const r = agent([...args]);
    expect(r.code).toBe(code);
    expect(r[stream]).toMatch(text);
  });

  it("a bad configuration or a missing key stops it at once with the reason", () => {
    const bad = agent(["--config", path.join(dir, "agent.json")], { ...config(), region: "US East" });
    expect([bad.code, bad.stderr]).toEqual([2, "metrics-export-agent: region: must match ^[a-z0-9][a-z0-9-]{0,31}$.\n"]);
    const env = { ...process.env };
    delete env.METRICS_EXPORT_INGEST_KEY;
    const noKey = spawnSync(process.execPath, [AGENT_BUNDLE, "--config", path.join(dir, "agent.json")], { env, encoding: "utf8", timeout: 30_000 });
    writeFileSync(path.join(dir, "agent.json"), JSON.stringify(config()));
    const again = spawnSync(process.execPath, [AGENT_BUNDLE, "--config", path.join(dir, "agent.json")], { env, encoding: "utf8", timeout: 30_000 });
    expect([again.status, again.stderr]).toEqual([2, "metrics-export-agent: ingest key: the environment variable METRICS_EXPORT_INGEST_KEY is not set.\n"]);
    expect(noKey.status).toBe(2);
  });
});
