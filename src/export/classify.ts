/**
 * Turning a failed request into words a user can act on: a stable classification, a message and a
 * destination-specific hint following the product guide's troubleshooting section.
 */
import type { Destination } from "../validation/export-config";
import type { SendFailure } from "./send-outcome";

export type Classification =
  | "unauthorized"
  | "not_found"
  | "timeout"
  | "network"
  | "rate_limited"
  | "payload_too_large"
  | "bad_request"
  | "server_error"
  | "credentials_unreadable"
  | "endpoint_not_allowed";

export interface ClassifiedError {
  httpStatus: number | null;
  classification: Classification;
  message: string;
  hint: string;
}

export function classify(failure: SendFailure): Classification {
  switch (failure.kind) {
    case "timeout":
      return "timeout";
    case "network":
      return "network";
    case "credentials_unreadable":
      return "credentials_unreadable";
    case "endpoint_not_allowed":
      return "endpoint_not_allowed";
    case "http": {
      const s = failure.status;
      if (s === 401 || s === 403) return "unauthorized";
      if (s === 404 || (s >= 300 && s < 400)) return "not_found";
      if (s === 429) return "rate_limited";
      if (s === 413) return "payload_too_large";
      if (s >= 500) return "server_error";
      return "bad_request";
    }
  }
}

const TEMPORALITY_WORDS = /temporality|cumulative|delta|monotonic/i;

function hintFor(classification: Classification, destination: Destination, failure: SendFailure): string {
  switch (classification) {
    case "unauthorized":
      switch (destination) {
        case "grafana_cloud":
          return "Grafana Cloud rejected the credentials. Use a token with the MetricsPublisher role, generated on the stack's OpenTelemetry configuration page (a Prometheus Remote Write token will not work), and send it as the header Authorization: Basic <base64 of INSTANCE_ID:TOKEN>.";
        case "datadog":
          return "Datadog rejected the API key. Check that the DD-API-KEY header holds an active API key (Organization Settings → API Keys) and that the endpoint is for your Datadog site (for example api.us3.datadoghq.com for US3).";
        case "prometheus":
          return "Your Prometheus (or the proxy in front of it) rejected the credentials. Check the Authorization header (for example Bearer <token>), or remove it if authentication is not enabled.";
        case "new_relic":
          return "New Relic rejected the license key. Send an INGEST - LICENSE key (API keys → your account) in the api-key header, and use the endpoint of the key's region (https://otlp.nr-data.net, or https://otlp.eu01.nr-data.net for EU accounts).";
        case "honeycomb":
          return "Honeycomb rejected the API key. Send an ingest key of the environment you want the metrics in, in the x-honeycomb-team header (Environment settings → API Keys).";
        case "custom":
          return "The platform rejected the authentication headers. Check the header names and values your platform requires (New Relic: api-key; Honeycomb: x-honeycomb-team; Lightstep: lightstep-access-token).";
      }
      break;
    case "not_found": {
      const redirect = failure.kind === "http" && failure.status >= 300 && failure.status < 400;
      const lead = redirect
        ? "The endpoint answered with a redirect; configure the final URL (credentials are never sent through redirects)."
        : "The OTLP endpoint URL is incorrect. Double-check that the URL matches your platform and region.";
      switch (destination) {
        case "grafana_cloud":
          return `${lead} Grafana Cloud's looks like https://otlp-gateway-prod-<region>.grafana.net/otlp (/v1/metrics is appended for you).`;
        case "datadog":
          return `${lead} Datadog's is https://api.<your site>/api/v2/otlp (or https://otlp.<your site>), for example https://api.datadoghq.eu/api/v2/otlp.`;
        case "new_relic":
          return `${lead} New Relic's is https://otlp.nr-data.net (EU: https://otlp.eu01.nr-data.net; /v1/metrics is appended for you).`;
        case "honeycomb":
          return `${lead} Honeycomb's is https://api.honeycomb.io (EU: https://api.eu1.honeycomb.io; /v1/metrics is appended for you).`;
        case "prometheus":
          return `${lead} Use the OTLP HTTP port, http://YOUR_PROMETHEUS_HOST:4318 for an OpenTelemetry Collector, or /api/v1/otlp on Prometheus' own port.`;
        case "custom":
          return `${lead} Use the OTLP/HTTP base URL from your provider's documentation (/v1/metrics is appended for you).`;
      }
      break;
    }
    case "timeout":
      return destination === "prometheus"
        ? "The endpoint did not answer in time. Confirm the host is publicly reachable and port 4318 (OTLP HTTP, not 4317 gRPC) is open to the internet."
        : `The endpoint did not answer within ${failure.kind === "timeout" ? failure.timeoutMs / 1000 : 10} seconds. Check the URL and your platform's status page.`;
    case "network":
      return destination === "prometheus"
        ? "Could not connect. Confirm the host name resolves publicly, the host is reachable and port 4318 (OTLP HTTP, not 4317 gRPC) is open, and that its TLS certificate is valid when using https."
        : "Could not connect to the endpoint. Check the host name, that the port is open, and that the TLS certificate is valid.";
    case "rate_limited":
      return "The platform is rate limiting this account. Pushes are retried automatically; if this persists, check your plan's ingestion limits.";
    case "payload_too_large":
      return destination === "datadog"
        ? "Datadog refused the request size. Pushes are split at 512,000 bytes uncompressed; if this persists, contact support with the project ID."
        : "The platform refused the request size even for a single app's series (larger requests are split in halves automatically after a 413). Raise the platform's request-size limit, or use filters to send fewer metrics.";
    case "bad_request":
      if (failure.kind === "http" && TEMPORALITY_WORDS.test(failure.bodyExcerpt)) {
        return "The platform rejected the aggregation temporality. Switch temporality: Grafana Cloud and Prometheus accept only cumulative; Datadog accepts only delta.";
      }
      return "The platform rejected the request. Check that the endpoint is an OTLP/HTTP metrics endpoint and the protocol (protobuf or JSON) is one it accepts.";
    case "server_error":
      return "The platform had an internal error. Pushes are retried automatically; if this persists, check the platform's status page.";
    case "credentials_unreadable":
      return "The stored header values can no longer be decrypted (for example after an encryption key change). Enter the headers again and click Save Changes.";
    case "endpoint_not_allowed":
      return "This deployment does not send to loopback, private or link-local addresses. Change the endpoint to your platform's public OTLP address and click Save Changes.";
  }
  return "";
}

function messageFor(failure: SendFailure): string {
  switch (failure.kind) {
    case "http":
      return `The endpoint answered HTTP ${failure.status}${failure.bodyExcerpt ? `: ${failure.bodyExcerpt}` : "."}`;
    case "timeout":
      return `No answer within ${failure.timeoutMs / 1000} seconds.`;
    case "network":
      return `Could not connect: ${failure.message}`;
    case "credentials_unreadable":
      return `Stored credentials could not be decrypted: ${failure.message}. Nothing was sent.`;
    case "endpoint_not_allowed":
      return `The endpoint ${failure.message}. Nothing was sent.`;
  }
}

export function describeFailure(failure: SendFailure, destination: Destination): ClassifiedError {
  const classification = classify(failure);
  return {
    httpStatus: failure.kind === "http" ? failure.status : null,
    classification,
    message: messageFor(failure),
    hint: hintFor(classification, destination, failure),
  };
}
