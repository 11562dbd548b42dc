// @ts-check
/**
 * The Metrics Export page: reads and changes the project's exports through the JSON API (api.js)
 * and keeps the status badge fresh while the page is open. Everything from the API, and above all
 * from destinations (error messages, response excerpts), is set as text, never as HTML.
 */
import { api } from "./api.js";
import { $, show } from "./dom.js";
import { grafanaBasicAuth } from "./basic-auth.js";
import { fieldOf } from "./field-errors.js";
import { errorTitle, formatBytes, formatCount, statusModel } from "./format.js";
import { HeadersEditor } from "./headers-editor.js";
import { initNotifications, renderHistory } from "./notifications.js";
import { loadPreview, renderQueries } from "./preview.js";

const REFRESH_MS = 5000;
const MAX_EXPORTS = 5;
const projectId = /** @type {string} */ (document.body.dataset.projectId);
const base = `/v1/projects/${encodeURIComponent(projectId)}`;

const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id));

const form = /** @type {HTMLFormElement} */ ($("export-form"));
const headers = new HeadersEditor($("header-rows"), $("headers-error"));
/** @type {NodeListOf<HTMLInputElement>} */
const destinationRadios = form.querySelectorAll('input[name="destination"]');

/** @type {{ exports: any[], current: any | null, savedOrigin: string | null, busy: boolean }} */
const state = { exports: [], current: null, savedOrigin: null, busy: false };

// --- helpers ------------------------------------------------------------------------------------

/** @param {string} url */
function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function exportPath() {
  return `${base}/metrics-exports/${encodeURIComponent(state.current.export_id)}`;
}

/** @param {string} text @param {"ok" | "error" | ""} [tone] */
function say(text, tone = "") {
  const node = $("action-result");
  node.textContent = text;
  node.dataset.tone = tone;
}

function selectedDestination() {
  return [...destinationRadios].find((r) => r.checked)?.value ?? "custom";
}

// --- status ---------------------------------------------------------------------------------------

let lastAnnounced = "";

function renderStatus() {
  const view = state.current;
  const model = statusModel(view ? view.status : null, Date.now());
  const badge = $("status-badge");
  badge.textContent = model.badge;
  badge.dataset.state = model.state;
  $("status-detail").textContent = model.detail;
  show($("status-error"), model.error !== null);
  $("error-title").textContent = model.error?.title ?? "";
  $("error-message").textContent = model.error?.message ?? "";
  $("error-hint").textContent = model.error?.hint ?? "";
  const totals = view?.status.totals;
  $("total-pushes").textContent = totals ? `${formatCount(totals.pushes_succeeded)} sent, ${formatCount(totals.pushes_failed)} failed` : "–";
  $("total-points").textContent = totals ? formatCount(totals.data_points_sent) : "–";
  $("total-bytes").textContent = totals ? formatBytes(totals.bytes_sent) : "–";
  show($("enabled-control"), view !== null);
  const enabled = input("export-enabled");
  enabled.checked = view?.enabled ?? false;
  show($("send-now"), view !== null && model.state !== "paused" && view.enabled);
  show($("re-enable"), model.state === "paused");
  if (lastAnnounced !== model.state) {
    // A state change is announced once (the live region), not every refresh.
    if (lastAnnounced !== "") $("status-announce").textContent = `Export status: ${model.badge}.`;
    lastAnnounced = model.state;
  }
  renderTabs();
}

function renderTabs() {
  const nav = $("export-tabs");
  show(nav, state.exports.length > 0);
  const list = $("export-list");
  list.replaceChildren(
    ...state.exports.map((e) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tab";
      const current = state.current !== null && state.current.export_id === e.export_id;
      if (current) button.setAttribute("aria-current", "true");
      const name = document.createElement("span");
      name.textContent = e.name;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.dataset.state = e.status.state;
      dot.textContent = statusModel(e.status, Date.now()).badge;
      button.append(name, dot);
      button.addEventListener("click", () => select(e.export_id));
      li.append(button);
      return li;
    }),
  );
  const add = /** @type {HTMLButtonElement} */ ($("add-export"));
  add.disabled = state.exports.length >= MAX_EXPORTS;
  add.title = add.disabled ? `A project has at most ${MAX_EXPORTS} exports.` : "";
  if (state.current === null && state.exports.length > 0) add.setAttribute("aria-current", "true");
  else add.removeAttribute("aria-current");
}

async function refresh() {
  if (state.current === null || document.visibilityState !== "visible" || state.busy) return;
  const before = state.current.status.last_attempt_at;
  const r = await api("GET", exportPath());
  if (!r.ok) return;
  replaceExport(r.body);
  renderStatus();
  // A push happened: what the next one carries may have changed too, and a notification may have gone out.
  if (state.current !== null && state.current.status.last_attempt_at !== before) {
    await loadPreview(projectId, exportPath());
    await renderNotifications();
  }
}

/** @param {any} view */
function replaceExport(view) {
  const i = state.exports.findIndex((e) => e.export_id === view.export_id);
  if (i >= 0) state.exports[i] = view;
  if (state.current !== null && state.current.export_id === view.export_id) state.current = view;
}

// --- the form -------------------------------------------------------------------------------------

function clearErrors() {
  for (const id of ["form-error", "endpoint-error", "export-name-error"]) {
    const node = $(id);
    node.textContent = "";
    node.hidden = true;
  }
  for (const id of ["endpoint", "export-name"]) input(id).removeAttribute("aria-invalid");
  headers.clearErrors();
}

/** @param {{ code: string, message: string }} error @returns {HTMLElement} */
function showError(error) {
  const where = fieldOf(error);
  if (where.field === "endpoint" || where.field === "name") {
    const id = where.field === "endpoint" ? "endpoint" : "export-name";
    const node = $(`${id}-error`);
    node.textContent = where.message;
    node.hidden = false;
    input(id).setAttribute("aria-invalid", "true");
    return input(id);
  }
  if (where.field === "headers") {
    const row = where.header === null ? null : headers.rows[where.header] ?? null;
    return headers.showError(row, where.message);
  }
  const node = $("form-error");
  node.textContent = error.message;
  node.hidden = false;
  return node;
}

function updateDestinationHelp() {
  const destination = selectedDestination();
  for (const section of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-help-for]"))) {
    section.hidden = section.dataset.helpFor !== destination;
  }
  const radio = [...destinationRadios].find((r) => r.checked);
  $("endpoint-example").textContent = radio?.dataset.endpointExample ?? "https://otlp.example.com";
  input("endpoint").placeholder = radio?.dataset.endpointExample ?? "";
  show($("datadog-site-field"), destination === "datadog");
  show($("grafana-helper"), destination === "grafana_cloud");
}

function onDestinationChange() {
  updateDestinationHelp();
  const radio = [...destinationRadios].find((r) => r.checked);
  const names = (radio?.dataset.headerNames ?? "").split(",").filter(Boolean);
  if (headers.untouched()) headers.suggest(names);
  const site = /** @type {HTMLSelectElement} */ ($("datadog-site"));
  site.value = [...site.options].some((o) => o.value === input("endpoint").value) ? input("endpoint").value : "";
}

/** The form shows `view` (null: a new export). */
function fillForm() {
  const view = state.current;
  clearErrors();
  const destination = view?.destination ?? "grafana_cloud";
  for (const r of destinationRadios) r.checked = r.value === destination;
  input("endpoint").value = view?.endpoint ?? "";
  input("export-name").value = view?.name ?? "";
  state.savedOrigin = view ? originOf(view.endpoint) : null;
  show($("origin-notice"), false);
  if (view) headers.load(view.headers.map((/** @type {{ name: string }} */ h) => h.name));
  else headers.suggest(([...destinationRadios].find((r) => r.checked)?.dataset.headerNames ?? "").split(",").filter(Boolean));
  updateDestinationHelp();
  const site = /** @type {HTMLSelectElement} */ ($("datadog-site"));
  site.value = [...site.options].some((o) => o.value === input("endpoint").value) ? input("endpoint").value : "";
  $("save").textContent = view ? "Save Changes" : "Save & Enable";
  show($("delete"), view !== null);
  show($("test-result"), false);
}

/** Stored values go only to the origin they were saved for: another origin needs them typed again. */
function checkOrigin() {
  const next = originOf(input("endpoint").value.trim());
  const moved = state.savedOrigin !== null && next !== null && next !== state.savedOrigin && headers.rows.some((r) => r.stored);
  const notice = $("origin-notice");
  if (moved) {
    headers.requireAll();
    notice.textContent =
      `The endpoint now points to ${next} instead of ${state.savedOrigin}. Stored header values are only ever sent to the origin ` +
      "they were saved for, so enter each header's value again.";
  }
  show(notice, moved);
}

/** @returns {{ body: Record<string, unknown>, error: HTMLElement | null }} */
function formInput() {
  clearErrors();
  const endpoint = input("endpoint").value.trim();
  const collected = headers.collect();
  /** @type {HTMLElement | null} */
  let first = null;
  if (endpoint === "") {
    first = showError({ code: "invalid_request", message: "endpoint: is required: paste the OTLP endpoint of your platform (Step 1)." });
  }
  for (const p of collected.problems) {
    const at = headers.showError(p.row, p.message);
    first ??= at;
  }
  /** @type {Record<string, unknown>} */
  const body = { destination: selectedDestination(), endpoint, headers: collected.headers };
  const name = input("export-name").value.trim();
  if (name !== "") body.name = name;
  return { body, error: first };
}

/**
 * Runs one action at a time. The button is marked busy, not disabled: a disabled button would drop
 * the keyboard focus to the page, and buttons stay where they are (no layout jump).
 * @param {HTMLButtonElement} button @param {() => Promise<void>} action
 */
async function busy(button, action) {
  if (state.busy) return;
  state.busy = true;
  say(""); // the previous action's result goes as this one starts
  button.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  try {
    await action();
  } finally {
    state.busy = false;
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  }
}

async function save() {
  const { body, error } = formInput();
  if (error) return void error.focus();
  const creating = state.current === null;
  if (creating) body.enabled = true;
  const r = creating ? await api("POST", `${base}/metrics-exports`, body) : await api("PATCH", exportPath(), body);
  if (!r.ok) return void showError(r.error).focus();
  const warnings = Array.isArray(r.body.warnings) && r.body.warnings.length > 0 ? ` Note: ${r.body.warnings.join(" ")}` : "";
  await load(r.body.export_id);
  void renderHistory(base);
  say(creating ? `Saved and enabled "${r.body.name}". Metrics start flowing within ${60} seconds.${warnings}` : `Changes saved.${warnings}`, "ok");
}

async function testConnection() {
  const { body, error } = formInput();
  if (error) return void error.focus();
  delete body.name;
  const path = state.current === null ? `${base}/metrics-export/test` : `${exportPath()}/test`;
  const r = await api("POST", path, body);
  if (!r.ok) {
    showError(r.error).focus();
    return;
  }
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
  await refresh();
}

async function reEnable() {
  const r = await api("POST", `${exportPath()}/resume`);
  if (!r.ok) return void say(r.error.message, "error");
  replaceExport(r.body);
  renderStatus();
  say("Export re-enabled: the next push is due shortly.", "ok");
  void renderHistory(base);
  input("export-enabled").focus();
}

async function toggleEnabled() {
  const enabled = input("export-enabled").checked;
  const r = await api("PATCH", exportPath(), { enabled });
  if (!r.ok) {
    input("export-enabled").checked = !enabled;
    return void say(r.error.message, "error");
  }
  replaceExport(r.body);
  renderStatus();
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

// --- loading and wiring ---------------------------------------------------------------------------

/** @param {string | null} select_ the export to show (null: the first, or a new one when there is none) */
async function load(select_) {
  const r = await api("GET", `${base}/metrics-exports`);
  if (!r.ok) return void say(r.error.message, "error");
  state.exports = r.body.exports;
  await select(select_ ?? state.exports[0]?.export_id ?? null);
}

/** @param {string | null} id */
async function select(id) {
  state.current = state.exports.find((e) => e.export_id === id) ?? null;
  fillForm();
  renderStatus();
  say("");
  await loadPreview(projectId, state.current === null ? null : exportPath());
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void busy(/** @type {HTMLButtonElement} */ ($("save")), save);
});
$("test-connection").addEventListener("click", () => void busy(/** @type {HTMLButtonElement} */ ($("test-connection")), testConnection));
$("send-now").addEventListener("click", () => void busy(/** @type {HTMLButtonElement} */ ($("send-now")), sendNow));
$("re-enable").addEventListener("click", () => void busy(/** @type {HTMLButtonElement} */ ($("re-enable")), reEnable));
input("export-enabled").addEventListener("change", () => void toggleEnabled());
$("add-header").addEventListener("click", () => headers.add().nameInput.focus());
$("add-export").addEventListener("click", () => void select(null).then(() => [...destinationRadios].find((r) => r.checked)?.focus()));
for (const r of destinationRadios) r.addEventListener("change", onDestinationChange);
input("endpoint").addEventListener("change", checkOrigin);
$("datadog-site").addEventListener("change", () => {
  const value = /** @type {HTMLSelectElement} */ ($("datadog-site")).value;
  if (value !== "") {
    input("endpoint").value = value;
    checkOrigin();
  }
});
$("grafana-build").addEventListener("click", () => {
  const built = grafanaBasicAuth(input("grafana-instance").value, input("grafana-token").value);
  const error = $("grafana-error");
  if (!built.ok) {
    error.textContent = built.message;
    error.hidden = false;
    input(built.field === "instance" ? "grafana-instance" : "grafana-token").focus();
    return;
  }
  error.hidden = true;
  headers.setValue("Authorization", built.value);
  input("grafana-token").value = "";
  say("The Authorization header is filled in: click Save to store it.", "ok");
});
$("delete").addEventListener("click", () => {
  $("delete-name").textContent = state.current?.name ?? "";
  /** @type {HTMLDialogElement} */ ($("delete-dialog")).showModal();
});
$("delete-cancel").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("delete-dialog")).close());
$("delete-confirm").addEventListener("click", () => void busy(/** @type {HTMLButtonElement} */ ($("delete-confirm")), deleteExport));
$("query-app").addEventListener("change", () => renderQueries(projectId));
document.addEventListener("visibilitychange", () => void refresh());
setInterval(() => void refresh(), REFRESH_MS);

renderQueries(projectId);
const renderNotifications = initNotifications(base);
void load(null);
void renderNotifications();
void renderHistory(base);
