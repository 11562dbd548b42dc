// @ts-check
/**
 * The configuration form: destination (its steps, endpoint format, header names, the Datadog site
 * picker and the Grafana Cloud helper), endpoint, headers, name; filling it from an export, reading
 * it back for the API, errors next to the field that caused them, and whether it was changed.
 */
import { grafanaBasicAuth } from "./basic-auth.js";
import { $, button, input, show } from "./dom.js";
import { fieldOf } from "./field-errors.js";
import { HeadersEditor } from "./headers-editor.js";
import { say, state } from "./page-state.js";

export const headers = new HeadersEditor($("header-rows"), $("headers-error"));
/** @type {NodeListOf<HTMLInputElement>} */
const destinationRadios = /** @type {HTMLFormElement} */ ($("export-form")).querySelectorAll('input[name="destination"]');
const datadogSite = /** @type {HTMLSelectElement} */ ($("datadog-site"));

/** @param {string} url */
function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function selectedRadio() {
  return [...destinationRadios].find((r) => r.checked) ?? null;
}

function selectedDestination() {
  return selectedRadio()?.value ?? "custom";
}

/** The header names the chosen destination needs (its data-header-names, comma-separated). */
function destinationHeaderNames() {
  return (selectedRadio()?.dataset.headerNames ?? "").split(",").filter(Boolean);
}

/** The Datadog site picker shows the site whose endpoint is in the endpoint field, else "Choose…". */
function syncDatadogSite() {
  const endpoint = input("endpoint").value;
  datadogSite.value = [...datadogSite.options].some((o) => o.value === endpoint) ? endpoint : "";
}

function updateDestinationHelp() {
  const destination = selectedDestination();
  for (const section of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-help-for]"))) {
    section.hidden = section.dataset.helpFor !== destination;
  }
  const example = selectedRadio()?.dataset.endpointExample;
  $("endpoint-example").textContent = example ?? "https://otlp.example.com";
  input("endpoint").placeholder = example ?? "";
  show($("datadog-site-field"), destination === "datadog");
  show($("grafana-helper"), destination === "grafana_cloud");
  syncDatadogSite();
}

export function focusDestination() {
  selectedRadio()?.focus();
}

/** What the form holds now, as the API would get it (values typed but not saved included). */
function snapshot() {
  const collected = headers.collect();
  return JSON.stringify({
    destination: selectedDestination(),
    endpoint: input("endpoint").value.trim(),
    name: input("export-name").value.trim(),
    headers: collected.headers,
    incomplete: collected.problems.length,
  });
}

/** Whether the form differs from what was last loaded from the API. */
export function formChanged() {
  return snapshot() !== state.baseline;
}

/** The form shows the current export (null: a new one). */
export function fillForm() {
  const view = state.current;
  clearErrors();
  const destination = view?.destination ?? "grafana_cloud";
  for (const r of destinationRadios) r.checked = r.value === destination;
  input("endpoint").value = view?.endpoint ?? "";
  input("export-name").value = view?.name ?? "";
  state.savedOrigin = view ? originOf(view.endpoint) : null;
  show($("origin-notice"), false);
  if (view) headers.load(view.headers.map((/** @type {{ name: string }} */ h) => h.name));
  else headers.suggest(destinationHeaderNames());
  updateDestinationHelp();
  $("save").textContent = view ? "Save Changes" : "Save & Enable";
  show($("delete"), view !== null);
  show($("test-result"), false);
  state.baseline = snapshot();
}

function clearErrors() {
  for (const id of ["form-error", "endpoint-error", "export-name-error"]) {
    const node = $(id);
    node.textContent = "";
    node.hidden = true;
  }
  for (const id of ["endpoint", "export-name"]) input(id).removeAttribute("aria-invalid");
  headers.clearErrors();
}

/** Shows an API error next to the field it names (or above the form); returns what to focus. @param {{ code: string, message: string }} error @returns {HTMLElement} */
export function showError(error) {
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

/**
 * The request body, with the form's own errors shown next to their fields (error: the first, to focus).
 * @returns {{ body: Record<string, unknown>, error: HTMLElement | null }}
 */
export function formInput() {
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

function buildGrafanaHeader() {
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
}

/** Wires the form's own controls (saving and testing are actions: actions.js). */
export function initForm() {
  for (const r of destinationRadios) {
    r.addEventListener("change", () => {
      updateDestinationHelp();
      if (headers.untouched()) headers.suggest(destinationHeaderNames());
    });
  }
  input("endpoint").addEventListener("change", () => {
    checkOrigin();
    syncDatadogSite();
  });
  datadogSite.addEventListener("change", () => {
    if (datadogSite.value === "") return;
    input("endpoint").value = datadogSite.value;
    checkOrigin();
  });
  button("add-header").addEventListener("click", () => headers.add().nameInput.focus());
  button("grafana-build").addEventListener("click", buildGrafanaHeader);
}
