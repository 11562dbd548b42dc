/**
 * Validation of export endpoints. Customers' endpoints are fetched from our network with their
 * credentials, so an endpoint must not point into private address space (SSRF) unless
 * ALLOW_PRIVATE_ENDPOINTS is "true" (local development).
 *
 * The WHATWG URL parser already normalises decimal, octal and hex IPv4 forms
 * (`http://2130706433/` → `127.0.0.1`), so checks run on the parsed hostname. Hostnames that
 * resolve to private addresses cannot be checked here (Workers have no DNS API); on Cloudflare's
 * network, Workers' fetch cannot reach private networks in any case.
 */

import { parseIPv4, parseIPv6, refusedBecause } from "./special-addresses";

export const MAX_ENDPOINT_LENGTH = 2048;

export type EndpointCheck = { ok: true; url: URL; warnings: string[] } | { ok: false; message: string };

/**
 * Why a URL host may not be an export endpoint in production, or null when it may: `localhost`
 * names (RFC 6761: "localhost" and every name under it, with any trailing dots), and IP literals in
 * special-purpose address space (./special-addresses.ts).
 */
export function privateHostReason(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "localhost";
  let address: Uint8Array | null;
  if (host.startsWith("[") && host.endsWith("]")) {
    address = parseIPv6(host.slice(1, -1));
    if (address === null) return "an IPv6 literal that cannot be read";
  } else address = parseIPv4(host);
  if (address === null) return null;
  const block = refusedBecause(address);
  return block === null ? null : `${block.name}, ${block.source}`;
}

/** True when the URL's host is loopback, private, link-local, another special-purpose address or `localhost`. */
export function isPrivateHost(hostname: string): boolean {
  return privateHostReason(hostname) !== null;
}

export function checkEndpoint(raw: string, allowPrivate: boolean): EndpointCheck {
  if (raw.length > MAX_ENDPOINT_LENGTH) return { ok: false, message: `must be at most ${MAX_ENDPOINT_LENGTH} characters` };
  if (raw.trim() !== raw || /[\s\x00-\x1f\x7f]/.test(raw)) return { ok: false, message: "must not contain spaces or control characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: "must be an absolute http:// or https:// URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, message: `must use http or https, not ${url.protocol.replace(/:$/, "")}` };
  }
  // The raw test catches an empty user info ("https://@host"), which the parser drops silently; the
  // authority ends at the first "/", "?" or "#", so an "@" in a query ("?tenant=a@b") is not user info.
  if (url.username !== "" || url.password !== "" || /^[a-z]+:\/\/[^/?#]*@/i.test(raw)) {
    return { ok: false, message: "must not contain user info (user:password@); put credentials in headers instead" };
  }
  if (url.hash !== "" || raw.includes("#")) return { ok: false, message: "must not contain a fragment (#…)" };
  if (url.hostname === "") return { ok: false, message: "must name a host" };
  const reason = allowPrivate ? null : privateHostReason(url.hostname);
  if (reason !== null) {
    return { ok: false, message: `must not point to a loopback, private or other special-purpose address (${url.hostname}: ${reason})` };
  }
  const warnings =
    url.protocol === "http:"
      ? ["endpoint uses plain http: metrics and credentials travel unencrypted; prefer https unless the network is trusted"]
      : [];
  return { ok: true, url, warnings };
}
