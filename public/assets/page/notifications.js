// @ts-check
/**
 * The page's Notifications section (list, add, send a test, delete) and its Recent changes (the
 * audit log's newest entries). Text only, like the rest of the page.
 */
import { api } from "./api.js";
import { $ } from "./dom.js";
import { fieldOf } from "./field-errors.js";
import { auditSentence, deliveryText } from "./history.js";

/** @param {string} base the project's API path */
export function initNotifications(base) {
  const list = $("notification-list");
  const result = $("notification-result");
  const urlInput = /** @type {HTMLInputElement} */ ($("webhook-url"));
  const urlError = $("webhook-url-error");

  async function render() {
    const r = await api("GET", `${base}/notifications`);
    if (!r.ok) return;
    const now = Date.now();
    const items = r.body.notifications.map((/** @type {any} */ n) => {
      const li = document.createElement("li");
      const title = document.createElement("p");
      title.className = "notification-title";
      const name = document.createElement("strong");
      name.textContent = n.name;
      title.append(name, ` · ${n.format === "slack" ? "Slack" : "JSON"} · ${n.url}`);
      const delivery = document.createElement("p");
      delivery.className = "hint";
      delivery.textContent = `${deliveryText(n.last_delivery, now)}${n.pending_deliveries > 0 ? ` ${n.pending_deliveries} waiting.` : ""}`;
      const test = document.createElement("button");
      test.type = "button";
      test.className = "quiet";
      test.textContent = "Send test";
      test.setAttribute("aria-label", `Send test to ${n.name}`);
      test.addEventListener("click", async () => {
        result.textContent = "";
        const t = await api("POST", `${base}/notifications/${n.notification_id}/test`);
        result.textContent = !t.ok ? t.error.message : t.body.ok ? `Test delivered to ${n.name} (HTTP ${t.body.http_status}).` : `Test to ${n.name} failed: ${t.body.message}.`;
        await render();
      });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "quiet danger";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove webhook ${n.name}`);
      remove.addEventListener("click", async () => {
        const d = await api("DELETE", `${base}/notifications/${n.notification_id}`);
        result.textContent = d.ok ? `Removed ${n.name}.` : d.error.message;
        await render();
        await renderHistory(base);
      });
      li.append(title, delivery, test, remove);
      return li;
    });
    list.replaceChildren(...items);
    if (items.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "No webhooks yet.";
      list.append(li);
    }
  }

  $("notification-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    urlError.hidden = true;
    urlInput.removeAttribute("aria-invalid");
    result.textContent = "";
    const format = /** @type {HTMLSelectElement} */ ($("webhook-format")).value;
    const r = await api("POST", `${base}/notifications`, { url: urlInput.value.trim(), format });
    if (!r.ok) {
      const where = fieldOf(r.error);
      const message = r.error.message.startsWith("url: ") ? `The webhook URL ${r.error.message.slice(5)}` : where.message;
      urlError.textContent = message;
      urlError.hidden = false;
      urlInput.setAttribute("aria-invalid", "true");
      urlInput.focus();
      return;
    }
    urlInput.value = "";
    $("webhook-secret-value").textContent = r.body.secret;
    $("webhook-secret").hidden = format !== "json";
    result.textContent = `Added ${r.body.name}.`;
    await render();
    await renderHistory(base);
  });

  return render;
}

/** The audit log's 10 newest entries. @param {string} base */
export async function renderHistory(base) {
  const r = await api("GET", `${base}/audit?limit=10`);
  const list = $("audit-list");
  if (!r.ok) return;
  const now = Date.now();
  const items = r.body.entries.map((/** @type {any} */ e) => {
    const li = document.createElement("li");
    li.textContent = auditSentence(e, now);
    return li;
  });
  list.replaceChildren(...items);
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = "No configuration changes yet.";
    list.append(li);
  }
}
