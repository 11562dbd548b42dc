// @ts-check
/**
 * The status card (badge, controls, sentence, totals, last error) and the exports' tabs, drawn from
 * the page state. Only text and attributes are set; what a destination wrote stays text.
 */
import { $, button, input, show } from "./dom.js";
import { formatBytes, formatCount, statusModel } from "./format.js";
import { MAX_EXPORTS, state } from "./page-state.js";

let lastAnnounced = "";

/** @param {(exportId: string) => void} onSelect what a tab click does */
export function renderStatus(onSelect) {
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
  input("export-enabled").checked = view?.enabled ?? false;
  // One slot: Re-enable while paused, Send now while enabled, so the row keeps its place and height.
  show($("send-now"), view !== null && model.state !== "paused" && view.enabled);
  show($("re-enable"), model.state === "paused");
  if (lastAnnounced !== model.state) {
    // A state change is announced once (the live region), not every refresh.
    if (lastAnnounced !== "") $("status-announce").textContent = `Export status: ${model.badge}.`;
    lastAnnounced = model.state;
  }
  renderTabs(onSelect);
}

/** @param {(exportId: string) => void} onSelect */
function renderTabs(onSelect) {
  show($("export-tabs"), state.exports.length > 0);
  $("export-list").replaceChildren(
    ...state.exports.map((e) => {
      const li = document.createElement("li");
      const tab = document.createElement("button");
      tab.type = "button";
      tab.className = "tab";
      if (state.current !== null && state.current.export_id === e.export_id) tab.setAttribute("aria-current", "true");
      const name = document.createElement("span");
      name.textContent = e.name;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.dataset.state = e.status.state;
      dot.textContent = statusModel(e.status, Date.now()).badge;
      tab.append(name, dot);
      tab.addEventListener("click", () => onSelect(e.export_id));
      li.append(tab);
      return li;
    }),
  );
  const add = button("add-export");
  add.disabled = state.exports.length >= MAX_EXPORTS;
  add.title = add.disabled ? `A project has at most ${MAX_EXPORTS} exports.` : "";
  if (state.current === null && state.exports.length > 0) add.setAttribute("aria-current", "true");
  else add.removeAttribute("aria-current");
}
