/**
 * The Destination choice: each platform's steps from the product guide ("Step 1" and "Step 2"), the
 * endpoint format and the header names it needs. Rendered on the server; the page's script shows
 * the chosen one and pre-fills header names from `data-header-names`.
 */
import type { Child } from "hono/jsx";

export interface DestinationInfo {
  id: "grafana_cloud" | "datadog" | "prometheus" | "new_relic" | "honeycomb" | "custom";
  label: string;
  /** Header names the platform needs, pre-filled for a new export. */
  headerNames: string[];
  endpointExample: string;
  steps: Child;
}

export const DATADOG_SITES: { label: string; endpoint: string }[] = [
  { label: "US1 (datadoghq.com)", endpoint: "https://api.datadoghq.com/api/v2/otlp" },
  { label: "US3 (us3.datadoghq.com)", endpoint: "https://api.us3.datadoghq.com/api/v2/otlp" },
  { label: "US5 (us5.datadoghq.com)", endpoint: "https://api.us5.datadoghq.com/api/v2/otlp" },
  { label: "EU (datadoghq.eu)", endpoint: "https://api.datadoghq.eu/api/v2/otlp" },
  { label: "AP1 (ap1.datadoghq.com)", endpoint: "https://api.ap1.datadoghq.com/api/v2/otlp" },
];

export const DESTINATIONS: DestinationInfo[] = [
  {
    id: "grafana_cloud",
    label: "Grafana Cloud",
    headerNames: ["Authorization"],
    endpointExample: "https://otlp-gateway-prod-us-east-0.grafana.net/otlp",
    steps: (
      <ol>
        <li>
          In Grafana Cloud, go to your stack → <strong>Connections</strong> → <strong>Add new connection</strong>, search for
          <strong> OpenTelemetry</strong> and click <strong>Configure</strong>.
        </li>
        <li>
          Copy the <strong>OTLP endpoint</strong>; it matches your stack's region, for example{" "}
          <code>https://otlp-gateway-prod-us-east-0.grafana.net/otlp</code> (US) or{" "}
          <code>https://otlp-gateway-prod-eu-west-0.grafana.net/otlp</code> (EU).
        </li>
        <li>
          On the same page click <strong>Generate now</strong> for an API token with the <strong>MetricsPublisher</strong> role,
          then enter the <strong>Instance ID</strong> and the token below: the page builds the header{" "}
          <code>Authorization: Basic …</code> for you.
        </li>
      </ol>
    ),
  },
  {
    id: "datadog",
    label: "Datadog",
    headerNames: ["DD-API-KEY"],
    endpointExample: "https://api.datadoghq.com/api/v2/otlp",
    steps: (
      <ol>
        <li>
          In Datadog, go to <strong>Organization Settings</strong> → <strong>API Keys</strong> and create or copy an API key.
        </li>
        <li>
          Choose your <strong>Datadog site</strong> below (it is in the address you sign in at: <code>app.us3.datadoghq.com</code>{" "}
          is US3); it fills in the endpoint.
        </li>
        <li>
          Header name <code>DD-API-KEY</code>, header value: your API key.
        </li>
      </ol>
    ),
  },
  {
    id: "prometheus",
    label: "Prometheus",
    headerNames: [],
    endpointExample: "http://YOUR_PROMETHEUS_HOST:4318",
    steps: (
      <ol>
        <li>
          Enable the OTLP receiver of your Prometheus (<code>--enable-feature=otlp-write-receiver</code>), or run an
          OpenTelemetry Collector beside it.
        </li>
        <li>
          The endpoint is <code>http://YOUR_PROMETHEUS_HOST:4318</code>: the OTLP HTTP port, not <code>4317</code> (gRPC).
        </li>
        <li>
          If your Prometheus requires authentication, add the header <code>Authorization</code> with the value{" "}
          <code>Bearer your-token</code>; otherwise leave the headers empty.
        </li>
      </ol>
    ),
  },
  {
    id: "new_relic",
    label: "New Relic",
    headerNames: ["api-key"],
    endpointExample: "https://otlp.nr-data.net",
    steps: (
      <ol>
        <li>
          Use New Relic's OTLP endpoint for your region, for example <code>https://otlp.nr-data.net</code> (US) or{" "}
          <code>https://otlp.eu01.nr-data.net</code> (EU).
        </li>
        <li>
          Header name <code>api-key</code>, header value: your New Relic license key (INGEST - LICENSE).
        </li>
      </ol>
    ),
  },
  {
    id: "honeycomb",
    label: "Honeycomb",
    headerNames: ["x-honeycomb-team", "x-honeycomb-dataset"],
    endpointExample: "https://api.honeycomb.io",
    steps: (
      <ol>
        <li>
          The endpoint is <code>https://api.honeycomb.io</code> (<code>https://api.eu1.honeycomb.io</code> in the EU).
        </li>
        <li>
          Header <code>x-honeycomb-team</code>: your Honeycomb API key; header <code>x-honeycomb-dataset</code>: the dataset
          the metrics go to.
        </li>
      </ol>
    ),
  },
  {
    id: "custom",
    label: "Custom",
    headerNames: [],
    endpointExample: "https://otlp.example.com",
    steps: (
      <ol>
        <li>
          Any platform that accepts OpenTelemetry OTLP over HTTP works (Lightstep and others): take the OTLP HTTP endpoint
          from its documentation.
        </li>
        <li>
          Add the authentication headers it requires with <strong>Add Header</strong>, for example{" "}
          <code>lightstep-access-token</code>.
        </li>
      </ol>
    ),
  },
];
