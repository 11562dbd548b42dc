// @ts-check
/**
 * The page's "What will be sent" section: the preview of each push (series and data points after the
 * export's filters, the OTLP/JSON of a few series) and the guide's example queries for one of the
 * project's apps, each with a copy button. Text only.
 */
import { api } from "./api.js";
import { $, show } from "./dom.js";
import { formatCount } from "./format.js";
import { appNamesOf, guideQueries } from "./queries.js";

/**
 * The preview of what each push carries, and the app picker of the queries.
 * @param {string} projectId
 * @param {string | null} path the export's API path (null: not saved yet)
 */
export async function loadPreview(projectId, path) {
  const summary = $("preview-summary");
  const details = $("preview-details");
  if (path === null) {
    summary.textContent = "Save the export to see what each push carries.";
    show(details, false);
    return;
  }
  const r = await api("GET", `${path}/preview?limit=5`);
  if (!r.ok) {
    summary.textContent = r.error.message;
    show(details, false);
    return;
  }
  const p = r.body;
  if (p.series === 0) {
    summary.textContent = "No samples received yet: once your apps run, each push carries their series.";
    show(details, false);
    return;
  }
  summary.textContent = `Each push carries ${formatCount(p.series)} series and ${formatCount(p.data_points)} data points (after this export's filters).`;
  $("preview-toggle").textContent = `OTLP/JSON of ${p.truncated ? `the first ${p.shown_series} of ${p.series}` : `all ${p.series}`} series`;
  $("preview-json").textContent = JSON.stringify(p.request, null, 2);
  show(details, true);
  const apps = appNamesOf(p.request);
  if (apps.length > 0) {
    const select = /** @type {HTMLSelectElement} */ ($("query-app"));
    const chosen = select.value;
    select.replaceChildren(
      ...apps.map((app) => {
        const option = document.createElement("option");
        option.value = option.textContent = app;
        return option;
      }),
    );
    if (apps.includes(chosen)) select.value = chosen;
    renderQueries(projectId);
  }
}

/**
 * The guide's queries for the app the picker names, each with a copy button.
 * @param {string} projectId
 */
export function renderQueries(projectId) {
  const app = /** @type {HTMLSelectElement} */ ($("query-app")).value || "my-model";
  $("query-list").replaceChildren(
    ...guideQueries(projectId, app).map((q) => {
      const li = document.createElement("li");
      const title = document.createElement("p");
      title.className = "query-title";
      title.textContent = q.title;
      const pre = document.createElement("pre");
      pre.tabIndex = 0;
      const code = document.createElement("code");
      code.textContent = q.query;
      pre.append(code);
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "quiet copy";
      // The visible word changes ("Copied"); the hidden rest names the query for screen readers.
      const word = document.createElement("span");
      word.textContent = "Copy";
      const which = document.createElement("span");
      which.className = "visually-hidden";
      which.textContent = ` query: ${q.title}`;
      copy.append(word, which);
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(q.query);
          word.textContent = "Copied";
        } catch {
          getSelection()?.selectAllChildren(code);
          word.textContent = "Selected: press Ctrl+C";
        }
        setTimeout(() => (word.textContent = "Copy"), 2000);
      });
      li.append(title, pre, copy);
      return li;
    }),
  );
}
