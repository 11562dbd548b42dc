/**
 * /projects/{project_id}/integrations/metrics-export: the page of the product guide's "Step 2",
 * "Managing Metrics Export" and "Troubleshooting". The server renders its structure and every label;
 * /assets/page/main.js fills it from the JSON API (the only backend) with the session cookie.
 */
import { DATADOG_SITES, DESTINATIONS } from "./destinations";
import { Layout } from "./layout";

const GRAFANA_WARNING = (
  <p class="warning" role="note">
    The API token <strong>must</strong> have the <strong>MetricsPublisher</strong> role. The default Prometheus Remote Write
    token will not work with the OTLP endpoint. If you're unsure, generate a new token from the OpenTelemetry configuration
    page — it will have the correct role by default.
  </p>
);

/**
 * How often the open page reads its export's status again (milliseconds). The script reads it from
 * the body's data-status-refresh-ms; the browser tests derive their time bounds from it.
 */
export const STATUS_REFRESH_MS = 5000;

export function MetricsExportPage(props: { projectId: string; projectName: string; exportIntervalSeconds: number }) {
  const body = {
    "project-id": props.projectId,
    "export-interval-s": String(props.exportIntervalSeconds),
    "status-refresh-ms": String(STATUS_REFRESH_MS),
  };
  return (
    <Layout title="Metrics Export · Integrations" script="/assets/page/main.js" bodyData={body}>
      <header class="topbar">
        <nav aria-label="Breadcrumb" class="breadcrumb">
          <ol>
            <li>
              Project <code>{props.projectId}</code>
              {props.projectName ? <span class="project-name"> ({props.projectName})</span> : null}
            </li>
            <li>Integrations</li>
            <li aria-current="page">Metrics Export</li>
          </ol>
        </nav>
        <form method="post" action="/session/sign-out">
          <button type="submit" class="quiet">
            Sign out
          </button>
        </form>
      </header>
      <main id="main" class="wide">
        <h1>Metrics Export</h1>
        <p class="lede">
          This project's resource and execution metrics are pushed{" "}
          {props.exportIntervalSeconds === 1 ? "every second" : `every ${props.exportIntervalSeconds} seconds`} as OTLP/HTTP to the
          monitoring platform you configure here. Failed pushes are retried 3 times; after 10 consecutive failures export pauses
          until you re-enable it.
        </p>
        <noscript>
          <p class="notice">This page needs JavaScript to read and change the export configuration.</p>
        </noscript>

        <nav id="export-tabs" class="export-tabs" aria-label="Exports" hidden>
          <ul id="export-list"></ul>
          <button type="button" id="add-export" class="quiet">
            Add export
          </button>
        </nav>

        {/*
          Layout stability (issue 13: "no layout jump when status refreshes"). The status refreshes every
          STATUS_REFRESH_MS and may change state on its own (Connected → Failing → Paused) while the user
          is editing the configuration. Decision: on screens at least 64rem wide the status card is a
          column of its own beside the configuration (.workspace in style.css), so nothing the card
          shows can move the form; inside the card the controls come first (the action row keeps its
          height in every state: the switch is always there once configured, and Re-enable takes Send
          now's place) and what varies in length (the sentence, the last error) comes last. Below
          64rem the card stacks above the form and a new error lengthens it; browsers with scroll
          anchoring keep the part of the form in view where it is. The e2e suite checks the form's box
          across a Connected → Failing change (test/e2e/page.test.ts).
        */}
        <div class="workspace">
          <section id="status-card" class="card status-card" aria-labelledby="status-heading">
            <div class="status-head">
              <h2 id="status-heading" tabindex={-1}>
                Status
              </h2>
              <span id="status-badge" class="badge" data-state="loading">
                Loading…
              </span>
            </div>
            <p id="status-announce" class="visually-hidden" aria-live="polite"></p>
            <div class="status-actions">
              <label class="switch" id="enabled-control" hidden>
                <input type="checkbox" role="switch" id="export-enabled" />
                <span>Export enabled</span>
              </label>
              <button type="button" id="send-now" hidden>
                Send now
              </button>
              <button type="button" id="re-enable" class="primary" hidden>
                Re-enable
              </button>
            </div>
            <p id="action-result" class="action-result" role="status"></p>
            <p id="status-detail" class="status-detail"></p>
            <dl class="totals">
              <div>
                <dt>Pushes</dt>
                <dd id="total-pushes">–</dd>
              </div>
              <div>
                <dt>Data points sent</dt>
                <dd id="total-points">–</dd>
              </div>
              <div>
                <dt>Bytes sent</dt>
                <dd id="total-bytes">–</dd>
              </div>
            </dl>
            <div id="status-error" class="status-error" hidden>
              <p>
                <strong id="error-title"></strong>
              </p>
              <p id="error-message" class="untrusted"></p>
              <p id="error-hint"></p>
            </div>
          </section>

          <div class="workspace-main">
            <form id="export-form" class="card" novalidate aria-labelledby="config-heading">
              <h2 id="config-heading">Configuration</h2>
              <p id="form-error" class="form-error" role="alert" hidden></p>

              <fieldset class="destinations">
                <legend>Destination</legend>
                <div class="choices">
                  {DESTINATIONS.map((d) => (
                    <label class="choice">
                      <input
                        type="radio"
                        name="destination"
                        value={d.id}
                        data-header-names={d.headerNames.join(",")}
                        data-endpoint-example={d.endpointExample}
                      />
                      <span>{d.label}</span>
                    </label>
                  ))}
                </div>
              </fieldset>

              <div class="destination-help">
                {DESTINATIONS.map((d) => (
                  <section data-help-for={d.id} aria-label={`Setting up ${d.label}`} hidden>
                    <h3>Setting up {d.label}</h3>
                    {d.steps}
                  </section>
                ))}
              </div>

              <div class="field" id="datadog-site-field" hidden>
                <label for="datadog-site">Datadog site</label>
                <select id="datadog-site">
                  <option value="">Choose your site…</option>
                  {DATADOG_SITES.map((s) => (
                    <option value={s.endpoint}>{s.label}</option>
                  ))}
                </select>
              </div>

              <div class="field">
                <label for="endpoint">OTLP endpoint</label>
                <input
                  id="endpoint"
                  name="endpoint"
                  type="url"
                  inputmode="url"
                  autocomplete="off"
                  spellcheck={false}
                  aria-describedby="endpoint-hint endpoint-error"
                />
                <p id="endpoint-hint" class="hint">
                  Format: <code id="endpoint-example">https://otlp.example.com</code>. <code>/v1/metrics</code> is added unless the
                  URL already ends with it.
                </p>
                <p id="endpoint-error" class="field-error" hidden></p>
              </div>

              <div id="grafana-helper" class="helper" hidden>
                <h3>Grafana Cloud credentials</h3>
                <p class="hint">
                  Instead of running <code>echo -n "INSTANCE_ID:TOKEN" | base64</code> in a terminal: the header is built here, in
                  your browser, and the token goes nowhere else.
                </p>
                <div class="field-row">
                  <div class="field">
                    <label for="grafana-instance">Instance ID</label>
                    <input id="grafana-instance" inputmode="numeric" autocomplete="off" spellcheck={false} />
                  </div>
                  <div class="field">
                    <label for="grafana-token">Token</label>
                    <input id="grafana-token" type="password" autocomplete="off" spellcheck={false} />
                  </div>
                </div>
                {GRAFANA_WARNING}
                <button type="button" id="grafana-build">
                  Use as Authorization header
                </button>
                <p id="grafana-error" class="field-error" role="alert" hidden></p>
              </div>

              <fieldset class="headers">
                <legend>Authentication headers</legend>
                <p class="hint">
                  Values are stored encrypted, sent only to the endpoint's origin, and never shown again: a stored value reads
                  “configured”.
                </p>
                <div id="header-rows"></div>
                <button type="button" id="add-header">
                  Add Header
                </button>
                <p id="headers-error" class="field-error" hidden></p>
              </fieldset>
              <p id="origin-notice" class="notice" hidden></p>

              <div class="field">
                <label for="export-name">Export name</label>
                <input id="export-name" name="name" autocomplete="off" maxlength={64} aria-describedby="export-name-hint export-name-error" />
                <p id="export-name-hint" class="hint">
                  Optional: tells this export from the project's others (default: the destination).
                </p>
                <p id="export-name-error" class="field-error" hidden></p>
              </div>

              <div class="form-actions">
                <button type="submit" id="save" class="primary">
                  Save &amp; Enable
                </button>
                <button type="button" id="test-connection">
                  Test Connection
                </button>
                <button type="button" id="delete" class="danger" hidden>
                  Delete
                </button>
              </div>
            </form>

            <section id="test-result" class="card" aria-labelledby="test-heading" hidden>
              <h2 id="test-heading" tabindex={-1}>
                Test Connection result
              </h2>
              <p id="test-outcome" class="outcome"></p>
              <dl class="facts">
                <div>
                  <dt>Request</dt>
                  <dd id="test-url" class="untrusted"></dd>
                </div>
                <div>
                  <dt>Message</dt>
                  <dd id="test-message" class="untrusted"></dd>
                </div>
                <div id="test-hint-row">
                  <dt>Hint</dt>
                  <dd id="test-hint"></dd>
                </div>
              </dl>
              <details id="test-excerpt-details">
                <summary>Response from the destination</summary>
                <pre id="test-excerpt" class="untrusted" tabindex={0}></pre>
              </details>
            </section>

            <section class="card" aria-labelledby="preview-heading">
              <h2 id="preview-heading">What will be sent</h2>
              <p id="preview-summary">No samples received yet: once your apps run, each push carries their series.</p>
              <details id="preview-details" hidden>
                <summary id="preview-toggle">OTLP/JSON of the first series</summary>
                <pre id="preview-json" tabindex={0}></pre>
              </details>
            </section>

            <section class="card" aria-labelledby="queries-heading">
              <h2 id="queries-heading">Example queries</h2>
              <p class="hint">
                PromQL for Grafana Cloud or Prometheus, with this project's id filled in. Histogram names carry{" "}
                <code>_milliseconds</code>: Prometheus appends the unit of OTLP metrics.
              </p>
              <div class="field">
                <label for="query-app">App name</label>
                <select id="query-app">
                  <option value="my-model">my-model</option>
                </select>
              </div>
              <ul id="query-list" class="queries"></ul>
              <p>
                <a href="/dashboards/grafana-metrics-export.json" download="grafana-metrics-export.json">
                  Download the Grafana dashboard
                </a>{" "}
                (JSON for Grafana 10 or newer: Dashboards → New → Import; choose your Prometheus data source).
              </p>
            </section>

            <section class="card" aria-labelledby="notifications-heading">
              <h2 id="notifications-heading">Notifications</h2>
              <p class="hint">
                Webhooks told when an export starts failing, pauses, recovers, or its credentials cannot be read — on a channel
                that does not depend on the export (at most 3; Slack-compatible, or JSON signed with <code>X-Signature</code>).
              </p>
              <ul id="notification-list" class="notifications"></ul>
              <form id="notification-form" class="inline-form" novalidate>
                <div class="field">
                  <label for="webhook-url">Webhook URL</label>
                  <input id="webhook-url" type="url" inputmode="url" autocomplete="off" spellcheck={false} aria-describedby="webhook-url-error" />
                  <p id="webhook-url-error" class="field-error" hidden></p>
                </div>
                <div class="field">
                  <label for="webhook-format">Format</label>
                  <select id="webhook-format">
                    <option value="slack">Slack (incoming webhook)</option>
                    <option value="json">JSON (signed)</option>
                  </select>
                </div>
                <button type="submit" id="add-webhook">
                  Add webhook
                </button>
              </form>
              <div id="webhook-secret" class="notice" hidden>
                <p>
                  <strong>Signing secret, shown this once:</strong> <code id="webhook-secret-value"></code>
                </p>
                <p class="hint">Verify each delivery's X-Signature with it (README “Notifications”).</p>
              </div>
              <p id="notification-result" class="action-result" role="status"></p>
            </section>

            <section class="card" aria-labelledby="history-heading">
              <h2 id="history-heading">Recent changes</h2>
              <ol id="audit-list" class="history"></ol>
            </section>

          </div>
        </div>

        <dialog id="delete-dialog" aria-labelledby="delete-title" aria-describedby="delete-text">
          <h2 id="delete-title">Delete this export?</h2>
          <p id="delete-text">
            The configuration, the stored credentials and the status of <strong id="delete-name"></strong> are removed and
            nothing more is sent to it. This cannot be undone.
          </p>
          <div class="form-actions">
            <button type="button" id="delete-confirm" class="danger">
              Delete
            </button>
            <button type="button" id="delete-cancel" autofocus>
              Cancel
            </button>
          </div>
        </dialog>
      </main>
    </Layout>
  );
}
