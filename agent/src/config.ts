/**
 * The agent's configuration file (JSON; agent/README.md "Configuration"), parsed from `unknown`.
 *
 * Every problem names its field; unknown fields are refused so that a typo is an error rather than a
 * silently used default. Relative paths are relative to the configuration file's folder. Hand-written
 * rather than zod because the agent has no runtime dependencies beyond Node.
 */
import path from "node:path";
import { hostIdProblem, identityProblem, MAX_SAMPLES_PER_BATCH } from "./edge-rules";
import { LOG_LEVELS, type LogLevel } from "./log";
import { compileRule, type MappingRule } from "./mapping/rules";

export const DEFAULT_INTERVAL_SECONDS = 15;
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;
export const MIN_SPOOL_MAX_BYTES = 4096;
export const DEFAULT_BATCH_MAX_SAMPLES = 500;
export const DEFAULT_LISTEN = "127.0.0.1:9465";
export const DEFAULT_INGEST_KEY_ENV = "METRICS_EXPORT_INGEST_KEY";
export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 60_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_IN_FLIGHT = 2;
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10;
// Lower bound for tests (a 200 ms interval); a real host uses seconds.
const MIN_INTERVAL_SECONDS = 0.05;
const MAX_INTERVAL_SECONDS = 3600;

export type Listen = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };
export type IngestKeySource = { kind: "file"; path: string } | { kind: "env"; name: string };

export interface AgentConfig {
  edgeUrl: string;
  ingestKey: IngestKeySource;
  hostId: string;
  region: string;
  intervalMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  listen: Listen;
  cgroupRoot: string;
  containersUnder: string;
  procRoot: string;
  nvidiaSmi: string;
  mapping: { rules: MappingRule[]; file?: string; readinessFile?: string };
  batchMaxSamples: number;
  retryBaseMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export class ConfigError extends Error {}

const TOP_LEVEL = new Set([
  "edge_url", "ingest_key_file", "ingest_key_env", "host_id", "region", "interval_seconds", "spool_dir", "spool_max_bytes",
  "listen", "cgroup_root", "containers_under", "proc_root", "nvidia_smi", "mapping", "batch_max_samples", "retry_base_ms",
  "retry_max_ms", "request_timeout_ms", "max_in_flight", "shutdown_timeout_seconds", "log_level",
]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

type Obj = Record<string, unknown>;

function object(value: unknown, where: string, allowed: ReadonlySet<string>): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(`${where}: must be a JSON object.`);
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) throw new ConfigError(`${where}: unknown field "${key}".`);
  }
  return value as Obj;
}

function optionalString(o: Obj, key: string, where = key): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0) throw new ConfigError(`${where}: must be a non-empty string.`);
  return v;
}

function requiredString(o: Obj, key: string): string {
  const v = optionalString(o, key);
  if (v === undefined) throw new ConfigError(`${key}: required.`);
  return v;
}

function number(o: Obj, key: string, fallback: number, min: number, max: number, whole = false): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v))) {
    throw new ConfigError(`${key}: must be a ${whole ? "whole " : ""}number from ${min} to ${max}.`);
  }
  return v;
}

function cgroupPath(o: Obj, key: string, fallback: string): string {
  const v = optionalString(o, key) ?? fallback;
  if (!v.startsWith("/")) throw new ConfigError(`${key}: must start with "/" (a path as /proc/<pid>/cgroup shows it).`);
  return v === "/" ? v : v.replace(/\/+$/, "");
}

export function parseListen(value: string): Listen {
  if (value.startsWith("/")) return { kind: "unix", path: value };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) {
    throw new ConfigError('listen: must be "127.0.0.1:<port>" or the absolute path of a Unix socket.');
  }
  // Runs are reported by the platform's router on the same host; nothing else may post them.
  if (!LOOPBACK_HOSTS.has(host)) throw new ConfigError(`listen: "${host}" is not a loopback address (use 127.0.0.1, ::1 or a Unix socket).`);
  return { kind: "tcp", host, port };
}

function parseEdgeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("edge_url: not a URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("edge_url: must be http or https.");
  if (url.username || url.password || url.search || url.hash) throw new ConfigError("edge_url: no credentials, query or fragment.");
  return url.href.replace(/\/+$/, "");
}

function parseMapping(value: unknown, resolve: (p: string) => string): AgentConfig["mapping"] {
  const o = object(value, "mapping", new Set(["rules", "file", "readiness_file"]));
  const rulesValue = o.rules ?? [];
  if (!Array.isArray(rulesValue)) throw new ConfigError("mapping.rules: must be an array.");
  const rules = rulesValue.map((raw, i) => {
    const where = `mapping.rules[${i}]`;
    const r = object(raw, where, new Set(["pattern", "readiness_file"]));
    const pattern = optionalString(r, "pattern", `${where}.pattern`);
    if (pattern === undefined) throw new ConfigError(`${where}.pattern: required.`);
    const readiness = optionalString(r, "readiness_file", `${where}.readiness_file`);
    const compiled = compileRule(pattern, readiness === undefined ? undefined : resolve(readiness));
    if (typeof compiled === "string") throw new ConfigError(`${where}.pattern: ${compiled}`);
    return compiled;
  });
  const file = optionalString(o, "file", "mapping.file");
  const readinessFile = optionalString(o, "readiness_file", "mapping.readiness_file");
  if (rules.length === 0 && file === undefined) throw new ConfigError("mapping: needs rules, a file, or both.");
  return {
    rules,
    ...(file === undefined ? {} : { file: resolve(file) }),
    ...(readinessFile === undefined ? {} : { readinessFile: resolve(readinessFile) }),
  };
}

/** A bare name is looked up on PATH when run (as a shell would); anything with a slash is a path. */
function nvidiaSmiCommand(value: string, resolve: (p: string) => string): string {
  return value.includes("/") ? resolve(value) : value;
}

/** `raw`: the parsed JSON; `configPath`: where it was read from (relative paths are resolved against its folder). */
export function parseConfig(raw: unknown, configPath: string, nowMs = Date.now()): AgentConfig {
  const o = object(raw, "configuration", TOP_LEVEL);
  const baseDir = path.dirname(path.resolve(configPath));
  const resolve = (p: string) => path.resolve(baseDir, p);

  const keyFile = optionalString(o, "ingest_key_file");
  const keyEnv = optionalString(o, "ingest_key_env");
  if (keyFile !== undefined && keyEnv !== undefined) throw new ConfigError("ingest_key_file, ingest_key_env: give one of them, not both.");
  const ingestKey: IngestKeySource =
    keyFile !== undefined ? { kind: "file", path: resolve(keyFile) } : { kind: "env", name: keyEnv ?? DEFAULT_INGEST_KEY_ENV };

  const hostId = requiredString(o, "host_id");
  const hostProblem = hostIdProblem(hostId);
  if (hostProblem !== null) throw new ConfigError(hostProblem);
  const region = requiredString(o, "region");
  // The edge's rule for region, checked with placeholder project and app names that are valid.
  const regionProblem = identityProblem("p-0000", "probe", region, nowMs);
  if (regionProblem !== null) throw new ConfigError(regionProblem);

  const retryBaseMs = number(o, "retry_base_ms", DEFAULT_RETRY_BASE_MS, 1, 600_000, true);
  const retryMaxMs = number(o, "retry_max_ms", Math.max(DEFAULT_RETRY_MAX_MS, retryBaseMs), retryBaseMs, 3_600_000, true);
  const logLevel = o.log_level ?? "info";
  if (typeof logLevel !== "string" || !(LOG_LEVELS as string[]).includes(logLevel)) {
    throw new ConfigError(`log_level: one of ${LOG_LEVELS.join(", ")}.`);
  }
  if (o.mapping === undefined) throw new ConfigError("mapping: required (rules, a file, or both).");

  return {
    edgeUrl: parseEdgeUrl(requiredString(o, "edge_url")),
    ingestKey,
    hostId,
    region,
    intervalMs: Math.round(number(o, "interval_seconds", DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS) * 1000),
    spoolDir: resolve(requiredString(o, "spool_dir")),
    spoolMaxBytes: number(o, "spool_max_bytes", DEFAULT_SPOOL_MAX_BYTES, MIN_SPOOL_MAX_BYTES, Number.MAX_SAFE_INTEGER, true),
    listen: parseListen(optionalString(o, "listen") ?? DEFAULT_LISTEN),
    cgroupRoot: resolve(optionalString(o, "cgroup_root") ?? "/sys/fs/cgroup"),
    containersUnder: cgroupPath(o, "containers_under", "/"),
    procRoot: resolve(optionalString(o, "proc_root") ?? "/proc"),
    nvidiaSmi: nvidiaSmiCommand(optionalString(o, "nvidia_smi") ?? "nvidia-smi", resolve),
    mapping: parseMapping(o.mapping, resolve),
    batchMaxSamples: number(o, "batch_max_samples", DEFAULT_BATCH_MAX_SAMPLES, 1, MAX_SAMPLES_PER_BATCH, true),
    retryBaseMs,
    retryMaxMs,
    requestTimeoutMs: number(o, "request_timeout_ms", DEFAULT_REQUEST_TIMEOUT_MS, 100, 300_000, true),
    maxInFlight: number(o, "max_in_flight", DEFAULT_MAX_IN_FLIGHT, 1, 16, true),
    shutdownTimeoutMs: number(o, "shutdown_timeout_seconds", DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, 0, 600) * 1000,
    logLevel: logLevel as LogLevel,
  };
}
