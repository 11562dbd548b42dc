/**
 * The samples the agent sends, in the edge's wire format (README "Sample format"), and the parsing of
 * runs reported to `POST /runs` with the edge's own validator (edge-rules.ts).
 */
import { MAX_SAMPLES_PER_BATCH, parseSamples, type RunSampleInput, type SampleRejection } from "./edge-rules";
import type { AppReading } from "./readings/app-readings";

export interface RunSample {
  type: "run";
  project_id: string;
  app_name: string;
  region: string;
  time: number;
  execution_ms: number;
  queue_ms: number;
  response_ms: number;
  coldstart_ms?: number;
  success: boolean;
}

export interface ResourceSample {
  type: "resource";
  project_id: string;
  app_name: string;
  region: string;
  time: number;
  cpu_cores: number;
  memory_bytes: number;
  gpu_memory_bytes: number;
  gpu_compute_percent: number;
  gpu_count: number;
  containers_running: number;
  containers_ready: number;
}

export type Sample = RunSample | ResourceSample;

export function resourceSample(app: AppReading, region: string, timeMs: number): ResourceSample {
  return {
    type: "resource",
    project_id: app.projectId,
    app_name: app.appName,
    region,
    time: timeMs,
    cpu_cores: app.cpuCores,
    memory_bytes: app.memoryBytes,
    gpu_memory_bytes: app.gpuMemoryBytes,
    gpu_compute_percent: app.gpuComputePercent,
    gpu_count: app.gpuCount,
    containers_running: app.containersRunning,
    containers_ready: app.containersReady,
  };
}

function runSample(r: RunSampleInput): RunSample {
  const s: RunSample = {
    type: "run",
    project_id: r.projectId,
    app_name: r.appName,
    region: r.region,
    time: r.timeMs,
    execution_ms: r.executionMs,
    queue_ms: r.queueMs,
    response_ms: r.responseMs,
    success: r.success,
  };
  if (r.coldstartMs !== undefined) s.coldstart_ms = r.coldstartMs;
  return s;
}

export type RunsParse =
  | { ok: true; samples: RunSample[]; rejected: SampleRejection[] }
  | { ok: false; status: 400 | 413; code: "invalid_request" | "payload_too_large"; message: string };

/**
 * A `POST /runs` body: one run object or an array of them, with the run fields of the sample format.
 * `type` may be left out; `region` defaults to the host's and `time` to now (the router reports a run
 * as it finishes). Then each run is checked with the edge's rules; invalid ones are rejected alone, with
 * the edge's codes and messages, and the rest accepted.
 */
export function parseRuns(body: unknown, region: string, nowMs: number): RunsParse {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return { ok: false, status: 400, code: "invalid_request", message: "No runs in the body." };
  if (items.length > MAX_SAMPLES_PER_BATCH) {
    return { ok: false, status: 413, code: "payload_too_large", message: `At most ${MAX_SAMPLES_PER_BATCH} runs per request, got ${items.length}.` };
  }
  const notRuns = new Set<number>();
  const withDefaults = items.map((item, index) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) return item;
    const run = item as Record<string, unknown>;
    // A resource sample would pass the edge's validator; this endpoint takes runs only.
    if (run.type !== undefined && run.type !== "run") notRuns.add(index);
    return { type: "run", region, time: nowMs, ...run };
  });
  const parsed = parseSamples(withDefaults, nowMs);
  const valid = parsed.valid.filter((s) => !notRuns.has(s.index));
  const rejected = parsed.rejected.filter((r) => !notRuns.has(r.index));
  for (const index of notRuns) rejected.push({ index, code: "unknown_type", message: 'type: must be "run" or left out; only runs are reported here.' });
  rejected.sort((a, b) => a.index - b.index);
  return { ok: true, samples: valid.map((s) => runSample(s as RunSampleInput)), rejected };
}
