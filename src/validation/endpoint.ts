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

export const MAX_ENDPOINT_LENGTH = 2048;

export type EndpointCheck = { ok: true; url: URL; warnings: string[] } | { ok: false; message: string };

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isPrivateIPv4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return false;
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

/** Expands an IPv6 literal (without brackets) to 8 groups, or null. */
function ipv6Groups(host: string): number[] | null {
  let text = host.toLowerCase();
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const octets = ipv4Octets(v4[1]!);
    if (!octets) return null;
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
    text = text.slice(0, -v4[1]!.length) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  if (groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

function isPrivateIPv6(groups: number[]): boolean {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const allZeroUpTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (allZeroUpTo(7) && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  if (allZeroUpTo(5) && g5 === 0xffff) return isPrivateIPv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]); // v4-mapped
  if (allZeroUpTo(6)) return isPrivateIPv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]); // v4-compatible
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x64 && groups[1] === 0xff9b) return isPrivateIPv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]); // NAT64
  if (g0 === 0x2002) {
    const [, g1 = 0, g2 = 0] = groups; // 6to4 embeds an IPv4 address in the next 32 bits
    return isPrivateIPv4([g1 >> 8, g1 & 0xff, g2 >> 8, g2 & 0xff]);
  }
  return false;
}

/** True when the URL's host is loopback, private, link-local, unique-local or `localhost`. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = ipv6Groups(host.slice(1, -1));
    return groups === null ? true : isPrivateIPv6(groups);
  }
  const octets = ipv4Octets(host);
  return octets !== null && isPrivateIPv4(octets);
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
  if (!allowPrivate && isPrivateHost(url.hostname)) {
    return { ok: false, message: `must not point to a loopback, private or link-local address (${url.hostname})` };
  }
  const warnings =
    url.protocol === "http:"
      ? ["endpoint uses plain http: metrics and credentials travel unencrypted; prefer https unless the network is trusted"]
      : [];
  return { ok: true, url, warnings };
}
