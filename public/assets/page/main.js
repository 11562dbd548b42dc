// @ts-check
/**
 * The Metrics Export page: reads and changes the project's exports through the JSON API (api.js)
 * and keeps the status fresh while the page is open. Everything from the API, and above all from
 * destinations (error messages, response excerpts), is set as text, never as HTML.
 *
 * Modules by concern: page-state.js (what they share), export-form.js (the configuration form),
 * status-card.js (status and tabs), actions.js (loading, refreshing and the user's actions),
 * preview.js (what will be sent, the guide's queries), notifications.js (webhooks, recent changes).
 */
import { initActions } from "./actions.js";
import { $ } from "./dom.js";
import { initForm } from "./export-form.js";
import { initNotifications, renderHistory } from "./notifications.js";
import { base, projectId } from "./page-state.js";
import { renderQueries } from "./preview.js";

initForm();
const renderNotifications = initNotifications(base);
const { load } = initActions({ renderNotifications });
$("query-app").addEventListener("change", () => renderQueries(projectId));
renderQueries(projectId);
void load(null);
void renderNotifications();
void renderHistory(base);
