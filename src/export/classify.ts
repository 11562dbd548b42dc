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
  | "credentials_unreadable";

export interface ClassifiedError {
  httpStatus: number | null;
  classification: Classification;
  message: string;
  hint: string;
}

export const MAX_EXCERPT_CHARS = 512;

export function classify(failure: SendFailure): Classification {
  switch (failure.kind) {
    case "timeout":
      return "timeout";
    case "network":
      return "network";
    case "credentials_unreadable":
      return "credentials_unreadable";
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
          return `${lead} Datadog's is https://api.<your site>/api/v2/otlp, for example https://api.datadoghq.eu/api/v2/otlp.`;
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
        : "The endpoint did not answer within 10 seconds. Check the URL and your platform's status page.";
    case "network":
      return destination === "prometheus"
        ? "Could not connect. Confirm the host name resolves publicly, the host is reachable and port 4318 (OTLP HTTP, not 4317 gRPC) is open, and that its TLS certificate is valid when using https."
        : "Could not connect to the endpoint. Check the host name, that the port is open, and that the TLS certificate is valid.";
    case "rate_limited":
      return "The platform is rate limiting this account. Pushes are retried automatically; if this persists, check your plan's ingestion limits.";
    case "payload_too_large":
      return destination === "datadog"
        ? "Datadog refused the request size. Pushes are split at 512,000 bytes uncompressed; if this persists, contact support with the project ID."
        : "The platform refused the request size. Check its request-size limit; choose the datadog destination for a 512,000-byte limit or contact support.";
    case "bad_request":
      if (failure.kind === "http" && TEMPORALITY_WORDS.test(failure.bodyExcerpt)) {
        return "The platform rejected the aggregation temporality. Switch temporality: Grafana Cloud and Prometheus accept only cumulative; Datadog accepts only delta.";
      }
      return "The platform rejected the request. Check that the endpoint is an OTLP/HTTP metrics endpoint and the protocol (protobuf or JSON) is one it accepts.";
    case "server_error":
      return "The platform had an internal error. Pushes are retried automatically; if this persists, check the platform's status page.";
    case "credentials_unreadable":
      return "The stored header values can no longer be decrypted (for example after an encryption key change). Enter the headers again and click Save Changes.";
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

/** Printable text of a base64 word, or null. */
function decodeBase64Word(word: string): string | null {
  if (!/^[A-Za-z0-9+/_-]{8,}={0,2}$/.test(word)) return null;
  try {
    const text = atob(word.replace(/-/g, "+").replace(/_/g, "/"));
    return /^[\x20-\x7e]+$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

/**
 * Everything in a header value that must never be shown: the value itself, each long word of it
 * (such as the token in "Bearer <token>"), those as a JSON string or URL component would spell
 * them, and for a base64 word (Basic credentials) its decoded text and the password after ":".
 */
function needlesOf(secret: string): string[] {
  const out = new Set<string>();
  const add = (text: string) => {
    if (text.length < 4) return;
    out.add(text);
    out.add(JSON.stringify(text).slice(1, -1));
    out.add(JSON.stringify(text).slice(1, -1).replace(/\//g, "\\/"));
    out.add(encodeURIComponent(text));
  };
  add(secret);
  for (const word of secret.split(/[\s,;=]+/)) {
    if (word.length >= 8) add(word);
    const decoded = decodeBase64Word(word);
    if (decoded !== null) {
      add(decoded);
      const colon = decoded.indexOf(":");
      if (colon >= 0) add(decoded.slice(colon + 1));
    }
  }
  return [...out];
}

/**
 * A response body excerpt safe to show: at most MAX_EXCERPT_CHARS, with every configured header
 * value (see needlesOf) replaced, because some servers echo request headers back in error bodies.
 */
export function safeExcerpt(body: string, secrets: readonly string[]): string {
  let text = body;
  const needles = new Set<string>();
  for (const secret of secrets) for (const n of needlesOf(secret)) needles.add(n);
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) text = text.split(needle).join("[redacted]");
  text = text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, " ").trim();
  return text.length > MAX_EXCERPT_CHARS ? text.slice(0, MAX_EXCERPT_CHARS - 1) + "…" : text;
}
