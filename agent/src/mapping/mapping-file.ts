/**
 * The mapping file an orchestrator writes: `{"<container cgroup>": {"project_id", "app_name", "ready"?}}`.
 *
 * Re-read whenever its (inode, size, mtime) changes, checked at every reading; write it to a temporary
 * name and rename it into place so the agent never reads half a file. A file that cannot be parsed
 * keeps the previous mapping (and is logged); a missing file is an empty mapping. Entries with bad
 * fields are skipped and logged; the rest still apply.
 */
import { readFile, stat } from "node:fs/promises";
import type { Logger } from "../log";

export interface MappingEntry {
  projectId: string;
  appName: string;
  /** Absent: readiness comes from a readiness file, or a running container counts as ready. */
  ready?: boolean;
}

export type MappingParse = { ok: true; entries: Map<string, MappingEntry>; problems: string[] } | { ok: false; error: string };

const ENTRY_FIELDS = new Set(["project_id", "app_name", "ready"]);

export function parseMappingFile(text: string): MappingParse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, error: "must be a JSON object keyed by container cgroup path" };
  }
  const entries = new Map<string, MappingEntry>();
  const problems: string[] = [];
  for (const [cgroup, value] of Object.entries(raw)) {
    const problem = entryProblem(cgroup, value);
    if (problem !== null) {
      problems.push(`${JSON.stringify(cgroup)}: ${problem}`);
      continue;
    }
    const v = value as { project_id: string; app_name: string; ready?: boolean };
    const cleaned = cgroup.length > 1 ? cgroup.replace(/\/+$/, "") : cgroup;
    entries.set(cleaned, { projectId: v.project_id, appName: v.app_name, ...(v.ready === undefined ? {} : { ready: v.ready }) });
  }
  return { ok: true, entries, problems };
}

function entryProblem(cgroup: string, value: unknown): string | null {
  if (!cgroup.startsWith("/")) return 'the key must be a cgroup path starting with "/"';
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "must be an object";
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((k) => !ENTRY_FIELDS.has(k));
  if (unknown !== undefined) return `unknown field "${unknown}"`;
  if (typeof v.project_id !== "string") return "project_id: required string";
  if (typeof v.app_name !== "string") return "app_name: required string";
  if (v.ready !== undefined && typeof v.ready !== "boolean") return "ready: must be true or false";
  return null;
}

export class MappingFile {
  readonly path: string;
  #log: Logger;
  #signature: string | undefined;
  #entries: ReadonlyMap<string, MappingEntry> = new Map();

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  /** The current mapping, re-read first if the file changed. */
  async entries(): Promise<ReadonlyMap<string, MappingEntry>> {
    let signature: string;
    try {
      const s = await stat(this.path);
      signature = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      if (this.#signature !== "absent") this.#log.warn("mapping_file_missing", { path: this.path });
      this.#signature = "absent";
      this.#entries = new Map();
      return this.#entries;
    }
    if (signature === this.#signature) return this.#entries;
    const parsed = parseMappingFile(await readFile(this.path, "utf8"));
    if (!parsed.ok) {
      // Not remembered as read: it is parsed again at the next reading (the writer may be mid-way).
      this.#log.everyMinute("error", "mapping_file_unreadable", "mapping_file_unreadable", { path: this.path, error: parsed.error });
      return this.#entries;
    }
    if (parsed.problems.length > 0) {
      this.#log.warn("mapping_file_entries_skipped", { path: this.path, skipped: parsed.problems.length, problems: parsed.problems.slice(0, 10) });
    }
    this.#signature = signature;
    this.#entries = parsed.entries;
    this.#log.info("mapping_file_loaded", { path: this.path, containers: parsed.entries.size });
    return this.#entries;
  }
}
