/**
 * Validation of sample batches from GPU hosts (POST /v1/samples).
 *
 * Hand-written rather than zod: this is the ingest hot path (up to 5,000 samples per request), and
 * each invalid sample must be rejected alone with its own index and code while the rest are kept.
 */
import type { ResourceReading } from "../aggregation/gauges";

export const MAX_SAMPLES_PER_BATCH = 5000;
export const MAX_DURATION_MS = 86_400_000;
/**
 * Upper bounds on reported amounts, far above any real host, so that sums over every host of an
 * app stay finite and exact in a double: bytes up to 2^53 (8 PiB), a million CPU cores, a million
 * containers or GPUs.
 */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;
export const MAX_CORES = 1_000_000;
export const MAX_COUNT = 1_000_000;
export const MAX_SAMPLE_AGE_MS = 60 * 60_000;
export const MAX_SAMPLE_FUTURE_MS = 5 * 60_000;
const APP_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;
const PROJECT_ID = /^p-[a-z0-9]{4,32}$/;
const PRINTABLE_ID = /^[\x21-\x7e]{1,128}$/;

export interface ResourceSampleInput extends ResourceReading {
  index: number;
  type: "resource";
  projectId: string;
  appName: string;
  region: string;
  timeMs: number;
}

export interface RunSampleInput {
  index: number;
  type: "run";
  projectId: string;
  appName: string;
  region: string;
  timeMs: number;
  executionMs: number;
  queueMs: number;
  responseMs: number;
  coldstartMs?: number;
  success: boolean;
}

export type SampleInput = ResourceSampleInput | RunSampleInput;

export type SampleRejectionCode =
  | "invalid_sample"
  | "unknown_type"
  | "unknown_field"
  | "missing_field"
  | "invalid_field"
  | "time_out_of_range"
  | "unknown_project"
  | "series_limit";

export interface SampleRejection {
  index: number;
  code: SampleRejectionCode;
  message: string;
}

export interface BatchEnvelope {
  hostId: string;
  batchId: string;
  samples: unknown[];
}

export type EnvelopeResult = { ok: true; value: BatchEnvelope } | { ok: false; status: 400 | 413; message: string };

/** The request-level shape; any failure here rejects the whole request. */
export function parseEnvelope(body: unknown): EnvelopeResult {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, status: 400, message: "The body must be a JSON object with host_id, batch_id and samples." };
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== "host_id" && key !== "batch_id" && key !== "samples") {
      return { ok: false, status: 400, message: `Unknown field "${key}" (expected host_id, batch_id, samples).` };
    }
  }
  if (typeof b.host_id !== "string" || !PRINTABLE_ID.test(b.host_id)) {
    return { ok: false, status: 400, message: "host_id: must be 1 to 128 printable ASCII characters without spaces." };
  }
  if (typeof b.batch_id !== "string" || !PRINTABLE_ID.test(b.batch_id)) {
    return { ok: false, status: 400, message: "batch_id: must be 1 to 128 printable ASCII characters without spaces." };
  }
  if (!Array.isArray(b.samples)) return { ok: false, status: 400, message: "samples: must be an array." };
  if (b.samples.length === 0) return { ok: false, status: 400, message: "samples: must not be empty." };
  if (b.samples.length > MAX_SAMPLES_PER_BATCH) {
    return { ok: false, status: 413, message: `samples: at most ${MAX_SAMPLES_PER_BATCH} samples per batch, got ${b.samples.length}.` };
  }
  return { ok: true, value: { hostId: b.host_id, batchId: b.batch_id, samples: b.samples } };
}

const COMMON_FIELDS = ["type", "project_id", "app_name", "region", "time"] as const;
const RESOURCE_FIELDS = new Set<string>([
  ...COMMON_FIELDS,
  "cpu_cores",
  "memory_bytes",
  "gpu_memory_bytes",
  "gpu_compute_percent",
  "gpu_count",
  "containers_running",
  "containers_ready",
]);
const RUN_FIELDS = new Set<string>([...COMMON_FIELDS, "execution_ms", "queue_ms", "response_ms", "coldstart_ms", "success"]);

class Rejection {
  constructor(
    readonly code: SampleRejectionCode,
    readonly message: string,
  ) {}
}

type Check = "bytes" | "cores" | "percent" | "duration" | "count";

function num(s: Record<string, unknown>, field: string, check: Check, optional = false): number | undefined {
  const v = s[field];
  if (v === undefined) {
    if (optional) return undefined;
    throw new Rejection("missing_field", `${field}: required.`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Rejection("invalid_field", `${field}: must be a finite number.`);
  if (v < 0) throw new Rejection("invalid_field", `${field}: must not be negative.`);
  switch (check) {
    case "percent":
      if (v > 100) throw new Rejection("invalid_field", `${field}: must be between 0 and 100.`);
      break;
    case "duration":
      if (v > MAX_DURATION_MS) throw new Rejection("invalid_field", `${field}: must be at most ${MAX_DURATION_MS} ms (24 hours).`);
      break;
    case "count":
      if (!Number.isSafeInteger(v)) throw new Rejection("invalid_field", `${field}: must be a whole number.`);
      if (v > MAX_COUNT) throw new Rejection("invalid_field", `${field}: must be at most ${MAX_COUNT}.`);
      break;
    case "bytes":
      if (v > MAX_BYTES) throw new Rejection("invalid_field", `${field}: must be at most ${MAX_BYTES}.`);
      break;
    case "cores":
      if (v > MAX_CORES) throw new Rejection("invalid_field", `${field}: must be at most ${MAX_CORES}.`);
      break;
  }
  return v;
}

function str(s: Record<string, unknown>, field: string, pattern: RegExp, rule: string): string {
  const v = s[field];
  if (v === undefined) throw new Rejection("missing_field", `${field}: required.`);
  if (typeof v !== "string" || !pattern.test(v)) throw new Rejection("invalid_field", `${field}: ${rule}.`);
  return v;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 §5.6 ranges (Date.parse would roll 2026-02-30 over into March). */
function validDateTime(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60 && offsetOk;
}

function time(s: Record<string, unknown>, nowMs: number): number {
  const v = s.time;
  let ms: number;
  if (v === undefined) throw new Rejection("missing_field", "time: required.");
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new Rejection("invalid_field", "time: must be Unix milliseconds (a whole number) or an RFC 3339 string.");
    ms = v;
  } else if (typeof v === "string" && RFC3339.test(v)) {
    const m = RFC3339.exec(v)!;
    ms = Date.parse(v.replace(/:60(?=[.Zz+-])/, ":59"));
    if (!validDateTime(m) || !Number.isFinite(ms)) throw new Rejection("invalid_field", "time: not a valid RFC 3339 date-time.");
  } else {
    throw new Rejection("invalid_field", "time: must be Unix milliseconds or an RFC 3339 string.");
  }
  if (ms < nowMs - MAX_SAMPLE_AGE_MS) throw new Rejection("time_out_of_range", "time: more than one hour in the past.");
  if (ms > nowMs + MAX_SAMPLE_FUTURE_MS) throw new Rejection("time_out_of_range", "time: more than five minutes in the future.");
  return ms;
}

function parseSample(raw: unknown, index: number, nowMs: number): SampleInput {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Rejection("invalid_sample", "A sample must be a JSON object.");
  const s = raw as Record<string, unknown>;
  const type = s.type;
  if (type !== "resource" && type !== "run") {
    throw new Rejection(type === undefined ? "missing_field" : "unknown_type", `type: must be "resource" or "run".`);
  }
  const allowed = type === "resource" ? RESOURCE_FIELDS : RUN_FIELDS;
  for (const key in s) {
    if (!allowed.has(key)) throw new Rejection("unknown_field", `Unknown field "${key}" for a ${type} sample.`);
  }
  const common = {
    index,
    projectId: str(s, "project_id", PROJECT_ID, "must match ^p-[a-z0-9]{4,32}$"),
    appName: str(s, "app_name", APP_NAME, "must match ^[a-z0-9][a-z0-9-]{0,62}$"),
    region: str(s, "region", REGION, "must match ^[a-z0-9][a-z0-9-]{0,31}$"),
    timeMs: time(s, nowMs),
  };
  if (type === "resource") {
    return {
      ...common,
      type,
      cpuCores: num(s, "cpu_cores", "cores")!,
      memoryBytes: num(s, "memory_bytes", "bytes")!,
      gpuMemoryBytes: num(s, "gpu_memory_bytes", "bytes")!,
      gpuComputePercent: num(s, "gpu_compute_percent", "percent")!,
      gpuCount: num(s, "gpu_count", "count", true) ?? 1,
      containersRunning: num(s, "containers_running", "count")!,
      containersReady: num(s, "containers_ready", "count")!,
    };
  }
  if (typeof s.success !== "boolean") {
    throw new Rejection(s.success === undefined ? "missing_field" : "invalid_field", "success: must be true or false.");
  }
  const run: RunSampleInput = {
    ...common,
    type,
    executionMs: num(s, "execution_ms", "duration")!,
    queueMs: num(s, "queue_ms", "duration")!,
    responseMs: num(s, "response_ms", "duration")!,
    success: s.success,
  };
  const coldstart = num(s, "coldstart_ms", "duration", true);
  if (coldstart !== undefined) run.coldstartMs = coldstart;
  return run;
}

/** Valid samples (with their index in the batch) and per-sample rejections. */
export function parseSamples(samples: unknown[], nowMs: number): { valid: SampleInput[]; rejected: SampleRejection[] } {
  const valid: SampleInput[] = [];
  const rejected: SampleRejection[] = [];
  for (let i = 0; i < samples.length; i++) {
    try {
      valid.push(parseSample(samples[i], i, nowMs));
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      rejected.push({ index: i, code: err.code, message: err.message });
    }
  }
  return { valid, rejected };
}
