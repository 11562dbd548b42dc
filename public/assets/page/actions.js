// @ts-check
/**
 * Reading the exports (load, select, the status refresh) and what the user does to one: Save, Test
 * Connection, Send now, Re-enable, the Export enabled switch, Delete. One action at a time (busy).
 */
import { api } from "./api.js";
import { $, button, input, show } from "./dom.js";
import { focusDestination, fillForm, formChanged, formInput, showError } from "./export-form.js";
import { errorTitle, formatBytes, formatCount } from "./format.js";
import { renderHistory } from "./notifications.js";
import { EXPORT_INTERVAL_S, REFRESH_MS, base, exportPath, projectId, replaceExport, say, state } from "./page-state.js";
import { loadPreview } from "./preview.js";
import { renderStatus } from "./status-card.js";

/** @type {() => Promise<void>} */
let renderNotifications = async () => {};

const render = () => renderStatus((id) => void select(id));

// --- reading --------------------------------------------------------------------------------------

/** @param {string | null} exportId the export to show (null: the first, or a new one when there is none) */
async function load(exportId) {
  const r = await api("GET", `${base}/metrics-exports`);
  if (!r.ok) return void say(r.error.message, "error");
  state.exports = r.body.exports;
  await select(exportId ?? state.exports[0]?.export_id ?? null);
}

/** @param {string | null} exportId */
async function select(exportId) {
  state.generation += 1;
  state.current = state.exports.find((e) => e.export_id === exportId) ?? null;
  fillForm();
  render();
  say("");
  await loadPreview(projectId, state.current === null ? null : exportPath());
}

/** The status again, every REFRESH_MS while the page is visible; never while an action runs. */
async function refresh() {
  if (state.current === null || document.visibilityState !== "visible" || state.busy) return;
  const generation = state.generation;
  const before = state.current.status;
  const r = await api("GET", exportPath());
  // An action started meanwhile (or another export was chosen): this answer is older than what it shows.
  if (!r.ok || state.busy || generation !== state.generation) return;
  replaceExport(r.body);
  render();
  const after = state.current?.status;
  // The last action's result described the state before this change: it goes with it.
  if (after !== undefined && after.state !== before.state) say("");
  // A push happened: what the next one carries may have changed too, and a notification may have gone out.
  if (after !== undefined && after.last_attempt_at !== before.last_attempt_at) {
    await loadPreview(projectId, exportPath());
    await renderNotifications();
  }
}

// --- actions --------------------------------------------------------------------------------------

/**
 * Runs one action at a time; resolves false when another one is running (nothing done). The control
 * is marked busy, not disabled: a disabled control would drop the keyboard focus to the page, and
 * controls stay where they are (no layout jump).
 * @param {HTMLElement} control @param {() => Promise<void>} action @returns {Promise<boolean>}
 */
async function busy(control, action) {
  if (state.busy) return false;
  state.busy = true;
  state.generation += 1;
  say(""); // the previous action's result goes as this one starts
  control.setAttribute("aria-busy", "true");
  control.setAttribute("aria-disabled", "true");
  try {
    await action();
  } finally {
    state.busy = false;
    control.removeAttribute("aria-disabled");
    control.removeAttribute("aria-busy");
  }
  return true;
}

/** Saves the form (a new export is created enabled). @returns {Promise<any | null>} the API's answer, or null (errors shown at their fields) */
async function saveForm() {
  const { body, error } = formInput();
  if (error) {
    error.focus();
    return null;
  }
  const creating = state.current === null;
  if (creating) body.enabled = true;
  const r = creating ? await api("POST", `${base}/metrics-exports`, body) : await api("PATCH", exportPath(), body);
  if (!r.ok) {
    showError(r.error).focus();
    return null;
  }
  await load(r.body.export_id);
  void renderHistory(base);
  return r.body;
}

/** @param {any} saved the API's answer to a save */
function warningsOf(saved) {
  return Array.isArray(saved.warnings) && saved.warnings.length > 0 ? ` Note: ${saved.warnings.join(" ")}` : "";
}

async function save() {
  const creating = state.current === null;
  const wasPaused = state.current?.status.state === "paused";
  const saved = await saveForm();
  if (saved === null) return;
  const within = EXPORT_INTERVAL_S === 1 ? "a second" : `${EXPORT_INTERVAL_S} seconds`;
  if (creating) say(`Saved and enabled "${saved.name}". Metrics start flowing within ${within}.${warningsOf(saved)}`, "ok");
  // Saving a changed endpoint or credentials is the fix the pause waited for: it clears the pause.
  else if (wasPaused && state.current?.status.state !== "paused") say(`Changes saved and export re-enabled with them: the next push is due shortly.${warningsOf(saved)}`, "ok");
  else say(`Changes saved.${warningsOf(saved)}`, "ok");
}

/**
 * The guide: "click Re-enable after fixing the issue". A fix typed into the form (a corrected endpoint,
 * a new token) is saved first, so Re-enable never resumes with the settings that failed; a save that
 * changes the endpoint or credentials clears the pause by itself, anything else is resumed after it.
 */
async function reEnable() {
  let savedNote = "";
  if (formChanged()) {
    const saved = await saveForm();
    if (saved === null) return;
    savedNote = `Saved your changes and re-enabled export.${warningsOf(saved)}`;
  }
  if (state.current?.status.state === "paused") {
    const r = await api("POST", `${exportPath()}/resume`);
    if (!r.ok) return void say(r.error.message, "error");
    replaceExport(r.body);
    render();
    void renderHistory(base);
  }
  say(savedNote || "Export re-enabled: the next push is due shortly.", "ok");
  input("export-enabled").focus();
}

async function testConnection() {
  const { body, error } = formInput();
  if (error) return void error.focus();
  delete body.name;
  const path = state.current === null ? `${base}/metrics-export/test` : `${exportPath()}/test`;
  const r = await api("POST", path, body);
  if (!r.ok) return void showError(r.error).focus();
  const t = r.body;
  $("test-outcome").textContent = t.ok
    ? `Connection OK: HTTP ${t.http_status} in ${t.latency_ms} ms.`
    : `${errorTitle(t.classification, t.http_status)}${t.latency_ms > 0 ? ` after ${t.latency_ms} ms` : ""}.`;
  $("test-outcome").dataset.tone = t.ok ? "ok" : "error";
  $("test-url").textContent = `POST ${t.url}`;
  $("test-message").textContent = t.message;
  $("test-hint").textContent = t.hint ?? "";
  show($("test-hint-row"), Boolean(t.hint));
  $("test-excerpt").textContent = t.response_excerpt;
  show($("test-excerpt-details"), t.response_excerpt !== "");
  show($("test-result"), true);
}

async function sendNow() {
  const r = await api("POST", `${exportPath()}/flush`);
  if (!r.ok) return void say(r.error.message, "error");
  const f = r.body;
  if (f.abandoned) say("The configuration changed while pushing; nothing was recorded. Try again.", "error");
  else if (f.ok) say(`Sent ${formatCount(f.data_points)} data points (${formatBytes(f.bytes)}) in ${f.requests} ${f.requests === 1 ? "request" : "requests"}.`, "ok");
  else say(`The push failed: ${errorTitle(f.error.classification, f.error.http_status)}. ${f.error.hint}`, "error");
  // The push changed the status: read it now (busy() is still set, so refresh() would not).
  const s = await api("GET", exportPath());
  if (s.ok) {
    replaceExport(s.body);
    render();
    await loadPreview(projectId, exportPath());
  }
}

/** @param {boolean} enabled what the switch was set to */
async function toggleEnabled(enabled) {
  const r = await api("PATCH", exportPath(), { enabled });
  if (!r.ok) {
    input("export-enabled").checked = !enabled;
    return void say(r.error.message, "error");
  }
  replaceExport(r.body);
  render();
  say(enabled ? "Export enabled." : "Export disabled: nothing is sent; the configuration and headers are kept.", "ok");
  void renderHistory(base);
}

async function deleteExport() {
  const name = state.current.name;
  const r = await api("DELETE", exportPath());
  /** @type {HTMLDialogElement} */ ($("delete-dialog")).close();
  if (!r.ok) return void say(r.error.message, "error");
  await load(null);
  say(`Deleted "${name}".`, "ok");
  void renderHistory(base);
  $("status-heading").focus();
}

// --- wiring ---------------------------------------------------------------------------------------

/** @param {HTMLButtonElement} control @param {() => Promise<void>} action */
const onClick = (control, action) => control.addEventListener("click", () => void busy(control, action));

/**
 * Wires the actions and the status refresh; returns load() to start the page.
 * @param {{ renderNotifications: () => Promise<void> }} hooks
 */
export function initActions(hooks) {
  renderNotifications = hooks.renderNotifications;
  /** @type {HTMLFormElement} */ ($("export-form")).addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(button("save"), save);
  });
  onClick(button("test-connection"), testConnection);
  onClick(button("send-now"), sendNow);
  onClick(button("re-enable"), reEnable);
  onClick(button("delete-confirm"), deleteExport);
  const enabled = input("export-enabled");
  enabled.addEventListener("change", () => {
    const wanted = enabled.checked;
    // Another action is running: the switch goes back to what is saved.
    void busy(enabled, () => toggleEnabled(wanted)).then((ran) => {
      if (!ran) enabled.checked = !wanted;
    });
  });
  button("add-export").addEventListener("click", () => void select(null).then(focusDestination));
  button("delete").addEventListener("click", () => {
    $("delete-name").textContent = state.current?.name ?? "";
    /** @type {HTMLDialogElement} */ ($("delete-dialog")).showModal();
  });
  button("delete-cancel").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("delete-dialog")).close());
  document.addEventListener("visibilitychange", () => void refresh());
  setInterval(() => void refresh(), REFRESH_MS);
  return { load };
}
