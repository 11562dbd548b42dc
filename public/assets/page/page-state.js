// @ts-check
/**
 * What the Metrics Export page's modules share: the project, the settings the server rendered into
 * the body's data attributes, the exports as last read from the API, and the one-action-at-a-time
 * flag. Text for the user goes through say(), as text.
 */
import { $ } from "./dom.js";

const data = document.body.dataset;
export const projectId = /** @type {string} */ (data.projectId);
export const base = `/v1/projects/${encodeURIComponent(projectId)}`;
/** How often the status is read again while the page is open (src/page/metrics-export-page.tsx STATUS_REFRESH_MS). */
export const REFRESH_MS = Number(data.statusRefreshMs) || 5000;
/** The deployment's EXPORT_INTERVAL_SECONDS: metrics flow within one interval of a save. */
export const EXPORT_INTERVAL_S = Number(data.exportIntervalS) || 60;
export const MAX_EXPORTS = 5;

/**
 * @type {{
 *   exports: any[],
 *   current: any | null,
 *   savedOrigin: string | null,
 *   busy: boolean,
 *   generation: number,
 *   baseline: string,
 * }}
 * - current: the export shown (null: a new one being set up);
 * - savedOrigin: the origin its stored header values may be sent to;
 * - busy: an action (save, test, send, re-enable, the switch, delete) is running;
 * - generation: bumped when an action starts, so a status read that was already on its way (and
 *   answers for the state before the action) is dropped instead of undoing what the action shows;
 * - baseline: the form as last filled from the API (formChanged() compares against it).
 */
export const state = { exports: [], current: null, savedOrigin: null, busy: false, generation: 0, baseline: "" };

export function exportPath() {
  return `${base}/metrics-exports/${encodeURIComponent(state.current.export_id)}`;
}

/** The result of the last action, under the status card's controls. @param {string} text @param {"ok" | "error" | ""} [tone] */
export function say(text, tone = "") {
  const node = $("action-result");
  node.textContent = text;
  node.dataset.tone = tone;
}

/** Puts a fresh view of one export in place (the list and, when it is the one shown, current). @param {any} view */
export function replaceExport(view) {
  const i = state.exports.findIndex((e) => e.export_id === view.export_id);
  if (i >= 0) state.exports[i] = view;
  if (state.current !== null && state.current.export_id === view.export_id) state.current = view;
}
