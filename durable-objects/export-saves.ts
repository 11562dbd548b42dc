/**
 * What a save of one export's configuration checks and decides before anything is written: which
 * export a request names, its label, the project-wide bucket bounds, the collection's limit and the
 * headers a destination preset needs. Pure over the stored exports; the object writes the result.
 */
import type { ErrorBody } from "../src/errors";
import { missingPresetHeader } from "../src/export/presets";
import type { StoredConfig } from "../src/export/status";
import type { StoredExport } from "./store";

/** At most this many exports per project. */
export const MAX_EXPORTS_PER_PROJECT = 5;

const fail = (status: ErrorBody["status"], code: ErrorBody["code"], message: string): ErrorBody => ({ status, code, message });

export const exportNotFound = (exportId: string): ErrorBody =>
  fail(404, "export_not_found", `Export "${exportId}" does not exist in this project; GET …/metrics-exports lists them.`);

export const notConfigured = (): ErrorBody =>
  fail(409, "export_not_configured", "Metrics export is not configured for this project; configure it with PUT first.");

/** A label for a new export without one: the destination, then "-2", "-3", … while taken. */
export function defaultName(destination: string, exports: readonly StoredExport[]): string {
  const taken = new Set(exports.map((e) => e.config.name.toLowerCase()));
  if (!taken.has(destination)) return destination;
  for (let i = 2; ; i++) if (!taken.has(`${destination}-${i}`)) return `${destination}-${i}`;
}

/** Why `next` cannot be saved as export `exportId` among `exports`, or null. */
export function saveConflict(exportId: string, next: StoredConfig, exports: readonly StoredExport[]): ErrorBody | null {
  const others = exports.filter((e) => e.id !== exportId);
  if (others.length === exports.length && exports.length >= MAX_EXPORTS_PER_PROJECT) {
    return fail(409, "export_limit_reached", `A project can have at most ${MAX_EXPORTS_PER_PROJECT} exports; delete one first.`);
  }
  if (others.some((e) => e.config.name.toLowerCase() === next.name.toLowerCase())) {
    return fail(409, "export_name_taken", `name: another export of this project is already called "${next.name}"; choose another name.`);
  }
  return null;
}

/** A preset's missing header as the 400 it is (`names`: the header names the save or test would send). */
export function presetHeaderError(destination: StoredConfig["destination"], names: readonly string[]): ErrorBody | null {
  const missing = missingPresetHeader(destination, names);
  if (missing === null) return null;
  return fail(400, "header_required", `headers: the ${destination} destination needs the header "${missing.name}": ${missing.why}.`);
}

/**
 * Bucket bounds are the project's (one aggregation feeds every export): a save that does not give
 * them keeps the project's when other exports exist, and a save that gives them sets them for all.
 */
export function boundsForSave(givenBounds: boolean, next: StoredConfig, projectBounds: number[] | null, otherExports: number): StoredConfig {
  return givenBounds || otherExports === 0 ? next : { ...next, histogramBoundsMs: projectBounds };
}
