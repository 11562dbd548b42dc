/**
 * Settings from the environment, validated once per isolate. A missing or malformed secret makes
 * every request fail with a 500 naming the setting (never a silent fallback).
 */
import { ApiError } from "./errors";

export interface RawEnv {
  ADMIN_TOKEN?: string;
  HEADER_ENCRYPTION_KEY?: string;
  HEADER_ENCRYPTION_KEY_PREVIOUS?: string;
  ALLOW_PRIVATE_ENDPOINTS?: string;
  EXPORT_INTERVAL_SECONDS?: string;
  EXPORT_RETRY_BASE_MS?: string;
  EXPORT_REQUEST_TIMEOUT_MS?: string;
  EXPORT_RETRY_AFTER_MAX_MS?: string;
  EXPORT_FLUSHES_PER_MINUTE?: string;
  SERIES_RETENTION_HOURS?: string;
  NOTIFICATION_RETRY_BASE_MS?: string;
  BENCH_ROUTES?: string;
}

export interface Settings {
  adminToken: string;
  /** Raw 32-byte keys; `previous` only during a rotation. */
  encryptionKey: Uint8Array;
  previousEncryptionKey: Uint8Array | null;
  allowPrivateEndpoints: boolean;
  exportIntervalMs: number;
  retryBaseMs: number;
  /** Per-attempt timeout of export requests, until the status line (10 s; lowered only by tests). */
  requestTimeoutMs: number;
  /** The longest Retry-After honoured (30 s; lowered only by tests). */
  retryAfterMaxMs: number;
  /** "Send now" calls a minute per project before 429 (6). */
  flushesPerMinute: number;
  /** A series without samples for this long is ended (a last point flagged NoRecordedValue) and deleted. */
  seriesRetentionMs: number;
  /** Base delay of notification delivery retries (x1, x2, x4 … up to 10 min each, for an hour). */
  notificationRetryBaseMs: number;
  /** Exposes POST /_bench/parse (the ingest benchmark's baseline); never in production. */
  benchRoutes: boolean;
}

export const MIN_ADMIN_TOKEN_LENGTH = 16;
const cache = new WeakMap<object, Settings | ApiError>();

function misconfigured(message: string): ApiError {
  return new ApiError(500, "misconfigured", `Server misconfigured: ${message}`);
}

function decodeKey(name: string, value: string | undefined, required: boolean): Uint8Array | null {
  if (value === undefined || value === "") {
    if (required) throw misconfigured(`${name} is not set (base64 of 32 random bytes; see README "Configuration").`);
    return null;
  }
  let bytes: Uint8Array;
  try {
    const binary = atob(value.trim());
    bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    throw misconfigured(`${name} is not valid base64 (expected base64 of 32 random bytes).`);
  }
  if (bytes.length !== 32) throw misconfigured(`${name} must decode to exactly 32 bytes, got ${bytes.length}.`);
  return bytes;
}

function integerSetting(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value.trim())) throw misconfigured(`${name} must be a whole number, got "${value}".`);
  const n = Number(value);
  if (n < min || n > max) throw misconfigured(`${name} must be between ${min} and ${max}, got ${n}.`);
  return n;
}

function parse(env: RawEnv): Settings {
  const adminToken = env.ADMIN_TOKEN;
  if (adminToken === undefined || adminToken === "") throw misconfigured("ADMIN_TOKEN is not set.");
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(adminToken)) {
    throw misconfigured(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} printable characters without spaces.`);
  }
  const encryptionKey = decodeKey("HEADER_ENCRYPTION_KEY", env.HEADER_ENCRYPTION_KEY, true)!;
  const previousEncryptionKey = decodeKey("HEADER_ENCRYPTION_KEY_PREVIOUS", env.HEADER_ENCRYPTION_KEY_PREVIOUS, false);
  const allow = env.ALLOW_PRIVATE_ENDPOINTS ?? "false";
  if (allow !== "true" && allow !== "false" && allow !== "") {
    throw misconfigured(`ALLOW_PRIVATE_ENDPOINTS must be "true" or "false", got "${allow}".`);
  }
  return {
    adminToken,
    encryptionKey,
    previousEncryptionKey,
    allowPrivateEndpoints: allow === "true",
    exportIntervalMs: integerSetting("EXPORT_INTERVAL_SECONDS", env.EXPORT_INTERVAL_SECONDS, 60, 1, 3600) * 1000,
    retryBaseMs: integerSetting("EXPORT_RETRY_BASE_MS", env.EXPORT_RETRY_BASE_MS, 1000, 0, 60_000),
    benchRoutes: env.BENCH_ROUTES === "true",
    requestTimeoutMs: integerSetting("EXPORT_REQUEST_TIMEOUT_MS", env.EXPORT_REQUEST_TIMEOUT_MS, 10_000, 100, 10_000),
    retryAfterMaxMs: integerSetting("EXPORT_RETRY_AFTER_MAX_MS", env.EXPORT_RETRY_AFTER_MAX_MS, 30_000, 0, 30_000),
    flushesPerMinute: integerSetting("EXPORT_FLUSHES_PER_MINUTE", env.EXPORT_FLUSHES_PER_MINUTE, 6, 1, 1000),
    notificationRetryBaseMs: integerSetting("NOTIFICATION_RETRY_BASE_MS", env.NOTIFICATION_RETRY_BASE_MS, 30_000, 0, 600_000),
    seriesRetentionMs: integerSetting("SERIES_RETENTION_HOURS", env.SERIES_RETENTION_HOURS, 24, 1, 24 * 365) * 3_600_000,
  };
}

/** Parsed settings for this env object (cached: the env object is stable for an isolate's lifetime). */
export function settingsOf(env: RawEnv): Settings {
  let entry = cache.get(env);
  if (entry === undefined) {
    try {
      entry = parse(env);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      entry = err;
    }
    cache.set(env, entry);
  }
  if (entry instanceof ApiError) throw entry;
  return entry;
}
