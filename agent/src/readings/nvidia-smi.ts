/**
 * Runs nvidia-smi for the two queries the agent needs. A missing binary (a CPU-only host), a failing
 * call or a timeout is not an error of the agent: the reading goes on with GPU fields at 0 and the
 * failure is returned for the caller to report (once a minute).
 */
import { execFile } from "node:child_process";
import { COMPUTE_APPS_QUERY_ARGS, GPU_QUERY_ARGS, parseComputeApps, parseGpus, type GpuDevice, type GpuProcess } from "./nvidia-smi-csv";

// nvidia-smi prints a few hundred bytes per GPU or process; this bounds a misbehaving one.
const MAX_OUTPUT_BYTES = 1024 * 1024;
const ERROR_EXCERPT_CHARS = 300;

export type NvidiaSmiFailure = { kind: "missing"; message: string } | { kind: "timeout"; message: string } | { kind: "failed"; message: string };

export interface GpuReading {
  devices: GpuDevice[];
  processes: GpuProcess[];
  /** Unreadable lines or values (each one a skipped reading). */
  problems: string[];
  failure?: NvidiaSmiFailure;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ ok: true; stdout: string } | { ok: false; failure: NvidiaSmiFailure }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8", windowsHide: true }, (error, stdout, stderr) => {
      if (error === null) return resolve({ ok: true, stdout });
      const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      if (e.code === "ENOENT" || e.code === "EACCES") {
        return resolve({ ok: false, failure: { kind: "missing", message: `${command}: ${e.code === "ENOENT" ? "not found" : "not executable"}` } });
      }
      if (e.killed && e.signal === "SIGTERM") return resolve({ ok: false, failure: { kind: "timeout", message: `${command} ${args[0]}: no answer within ${timeoutMs} ms` } });
      // nvidia-smi prints its own errors ("Failed to initialize NVML: Driver/library version mismatch") on stdout.
      const said = `${stderr}\n${stdout}`.trim().slice(0, ERROR_EXCERPT_CHARS);
      resolve({ ok: false, failure: { kind: "failed", message: `${command} ${args[0]}: exit ${String(e.code ?? e.signal)}${said ? `: ${said}` : ""}` } });
    });
  });
}

export async function readGpus(command: string, timeoutMs: number): Promise<GpuReading> {
  const [gpus, apps] = await Promise.all([run(command, GPU_QUERY_ARGS, timeoutMs), run(command, COMPUTE_APPS_QUERY_ARGS, timeoutMs)]);
  const reading: GpuReading = { devices: [], processes: [], problems: [] };
  if (gpus.ok) {
    const parsed = parseGpus(gpus.stdout);
    reading.devices = parsed.devices;
    reading.problems.push(...parsed.problems);
  } else reading.failure = gpus.failure;
  if (apps.ok) {
    const parsed = parseComputeApps(apps.stdout);
    reading.processes = parsed.processes;
    reading.problems.push(...parsed.problems);
  } else reading.failure ??= apps.failure;
  return reading;
}
