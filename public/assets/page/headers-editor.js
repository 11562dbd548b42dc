// @ts-check
/**
 * The header rows of the form. A stored header shows its name and "configured" with a Replace
 * action: its value is never in the page (the API does not return it). New values live only in
 * password inputs until saved; after a save the rows are rebuilt from the API's answer.
 */

/** @typedef {{ id: number, el: HTMLElement, stored: boolean, replacing: boolean, nameInput: HTMLInputElement, valueInput: HTMLInputElement | null, error: HTMLElement }} Row */

let nextId = 1;

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export class HeadersEditor {
  /** @param {HTMLElement} container @param {HTMLElement} errorEl */
  constructor(container, errorEl) {
    this.container = container;
    this.errorEl = errorEl;
    /** @type {Row[]} */
    this.rows = [];
  }

  /** Rows for the stored header names (values stay on the server). @param {string[]} names */
  load(names) {
    this.rows = [];
    this.container.replaceChildren();
    for (const name of names) this.add(name, true);
    this.clearErrors();
  }

  /** @param {string} [name] @param {boolean} [stored] @returns {Row} */
  add(name = "", stored = false) {
    const id = nextId++;
    const rowEl = el("div", { class: "header-row", role: "group", "aria-label": `Header ${this.rows.length + 1}` });
    const nameField = el("div", { class: "field" });
    nameField.append(el("label", { for: `header-${id}-name` }, "Header name"));
    const nameInput = /** @type {HTMLInputElement} */ (el("input", { id: `header-${id}-name`, autocomplete: "off", spellcheck: "false", maxlength: "128" }));
    nameInput.value = name;
    if (stored) {
      nameInput.readOnly = true;
      nameInput.setAttribute("aria-describedby", `header-${id}-state`);
    }
    nameField.append(nameInput);
    const valueField = el("div", { class: "field value-field" });
    const error = el("p", { class: "field-error", id: `header-${id}-error` });
    error.hidden = true;
    const remove = el("button", { type: "button", class: "quiet remove" }, "Remove");
    remove.setAttribute("aria-label", `Remove header ${name || this.rows.length + 1}`);
    rowEl.append(nameField, valueField, remove, error);
    /** @type {Row} */
    const row = { id, el: rowEl, stored, replacing: false, nameInput, valueInput: null, error };
    remove.addEventListener("click", () => this.remove(row));
    nameInput.addEventListener("input", () => remove.setAttribute("aria-label", `Remove header ${nameInput.value || "without a name"}`));
    this.rows.push(row);
    this.container.append(rowEl);
    this.#renderValue(row);
    return row;
  }

  /** @param {Row} row */
  remove(row) {
    const index = this.rows.indexOf(row);
    this.rows.splice(index, 1);
    row.el.remove();
    this.rows.forEach((r, i) => r.el.setAttribute("aria-label", `Header ${i + 1}`));
    const next = this.rows[index] ?? this.rows[index - 1];
    (next ? next.nameInput : document.getElementById("add-header"))?.focus();
  }

  /** @param {Row} row */
  #renderValue(row) {
    const field = /** @type {HTMLElement} */ (row.el.querySelector(".value-field"));
    field.replaceChildren();
    if (row.stored && !row.replacing) {
      field.append(el("span", { class: "label", id: `header-${row.id}-label` }, "Header value"));
      const line = el("div", { class: "configured-line" });
      line.append(el("span", { class: "configured", id: `header-${row.id}-state` }, "configured"));
      const replace = el("button", { type: "button", class: "quiet" }, "Replace");
      replace.setAttribute("aria-label", `Replace value of ${row.nameInput.value}`);
      replace.addEventListener("click", () => {
        this.replace(row);
        row.valueInput?.focus();
      });
      line.append(replace);
      field.append(line);
      row.valueInput = null;
      return;
    }
    field.append(el("label", { for: `header-${row.id}-value` }, "Header value"));
    const input = /** @type {HTMLInputElement} */ (el("input", { id: `header-${row.id}-value`, type: "password", autocomplete: "off", spellcheck: "false", "aria-describedby": `header-${row.id}-error` }));
    field.append(input);
    row.valueInput = input;
    if (row.stored) {
      const keep = el("button", { type: "button", class: "quiet" }, "Keep stored value");
      keep.addEventListener("click", () => {
        row.replacing = false;
        this.#renderValue(row);
        /** @type {HTMLElement | null} */ (row.el.querySelector(".configured-line button"))?.focus();
      });
      field.append(keep);
    }
  }

  /** A stored header's value is typed again. @param {Row} row */
  replace(row) {
    if (!row.stored || row.replacing) return;
    row.replacing = true;
    this.#renderValue(row);
  }

  /** The row for `name` (case-insensitive), or null. @param {string} name */
  find(name) {
    return this.rows.find((r) => r.nameInput.value.trim().toLowerCase() === name.toLowerCase()) ?? null;
  }

  /** Sets a header's value (the Grafana Cloud helper): replaces a stored one, fills or adds a row. @param {string} name @param {string} value */
  setValue(name, value) {
    const row = this.find(name) ?? this.rows.find((r) => !r.stored && r.nameInput.value.trim() === "" && (r.valueInput?.value ?? "") === "") ?? this.add(name);
    row.nameInput.value = row.stored ? row.nameInput.value : name;
    this.replace(row);
    /** @type {HTMLInputElement} */ (row.valueInput).value = value;
    return row;
  }

  /** Every stored header must be typed again (the endpoint moves to another origin). */
  requireAll() {
    for (const row of this.rows) this.replace(row);
  }

  /** Rows not typed by the user yet (new, no value): the destination's header names may replace them. */
  untouched() {
    return this.rows.every((r) => !r.stored && (r.valueInput?.value ?? "") === "");
  }

  /** New rows named after a destination's needs. @param {string[]} names */
  suggest(names) {
    this.load([]);
    for (const name of names) this.add(name);
  }

  /**
   * What to send: stored, not replaced → `{name}` (the server keeps the value); otherwise `{name, value}`.
   * A row with neither name nor value is left out.
   * @returns {{ headers: { name: string, value?: string }[], problems: { row: Row, message: string }[] }}
   */
  collect() {
    /** @type {{ name: string, value?: string }[]} */
    const headers = [];
    /** @type {{ row: Row, message: string }[]} */
    const problems = [];
    this.rows.forEach((row, i) => {
      const name = row.nameInput.value.trim();
      const value = row.valueInput?.value.trim() ?? "";
      if (row.stored && !row.replacing) return void headers.push({ name });
      if (name === "" && value === "") return;
      if (name === "") problems.push({ row, message: `Header ${i + 1}: enter the header name (for example Authorization).` });
      else if (value === "") problems.push({ row, message: row.stored ? `Header ${i + 1}: enter the new value of ${name}, or click Keep stored value.` : `Header ${i + 1}: enter the value of ${name}.` });
      else headers.push({ name, value });
    });
    return { headers, problems };
  }

  clearErrors() {
    this.errorEl.hidden = true;
    this.errorEl.textContent = "";
    for (const row of this.rows) {
      row.error.hidden = true;
      row.error.textContent = "";
      row.nameInput.removeAttribute("aria-invalid");
      row.valueInput?.removeAttribute("aria-invalid");
    }
  }

  /** An error next to a row (or under the list with row null); focuses the field at fault. @param {Row | null} row @param {string} message */
  showError(row, message) {
    if (row === null) {
      this.errorEl.textContent = message;
      this.errorEl.hidden = false;
      return this.errorEl;
    }
    row.error.textContent = message;
    row.error.hidden = false;
    const target = row.nameInput.value.trim() === "" || /name/.test(message) ? row.nameInput : row.valueInput ?? row.nameInput;
    target.setAttribute("aria-invalid", "true");
    return target;
  }
}
