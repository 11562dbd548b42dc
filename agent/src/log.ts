/**
 * Structured logs: one JSON object per line on stdout (`{"time","level","event",…}`), which journald
 * and log shippers parse as they are.
 *
 * Errors that repeat every reading (no nvidia-smi, edge unreachable) go through `everyMinute`, so a
 * broken dependency writes one line a minute carrying how many were suppressed, not one per reading.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(LEVEL_RANK) as LogLevel[];
export const REPEAT_LOG_INTERVAL_MS = 60_000;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** At most one line per REPEAT_LOG_INTERVAL_MS for `key`; that line says how many were left out since. */
  everyMinute(level: LogLevel, key: string, event: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level: LogLevel;
  write?: (line: string) => void;
  nowMs?: () => number;
}

export function createLogger({ level, write = (line) => process.stdout.write(line), nowMs = Date.now }: LoggerOptions): Logger {
  const threshold = LEVEL_RANK[level];
  const lastByKey = new Map<string, { atMs: number; suppressed: number }>();
  const log = (lvl: LogLevel, event: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[lvl] < threshold) return;
    write(`${JSON.stringify({ time: new Date(nowMs()).toISOString(), level: lvl, event, ...fields })}\n`);
  };
  return {
    log,
    debug: (event, fields) => log("debug", event, fields),
    info: (event, fields) => log("info", event, fields),
    warn: (event, fields) => log("warn", event, fields),
    error: (event, fields) => log("error", event, fields),
    everyMinute(lvl, key, event, fields = {}) {
      const now = nowMs();
      const last = lastByKey.get(key);
      if (last !== undefined && now - last.atMs < REPEAT_LOG_INTERVAL_MS) {
        last.suppressed += 1;
        return;
      }
      lastByKey.set(key, { atMs: now, suppressed: 0 });
      log(lvl, event, last && last.suppressed > 0 ? { ...fields, suppressed_since_last: last.suppressed } : fields);
    },
  };
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
