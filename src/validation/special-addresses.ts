/**
 * Which IP addresses an export endpoint may not name: the IANA IPv4 and IPv6 Special-Purpose
 * Address Registries (RFC 6890; iana.org/assignments/iana-ipv4-special-registry and
 * iana-ipv6-special-registry, as of 2025), one row per entry, plus the few blocks the registries
 * leave to other documents (multicast, deprecated site-local and IPv4-compatible/translated forms).
 *
 * The most specific row containing an address decides. `reachable` is the registry's "Globally
 * Reachable" column: false blocks, true allows (e.g. the anycast /32s inside 192.0.0.0/24).
 * "embedded" rows carry an IPv4 address inside the IPv6 one (NAT64 64:ff9b::/96, 6to4
 * 2002::/16): the embedded address decides. Addresses in no row are ordinary global unicast.
 */

export interface SpecialBlock {
  cidr: string;
  name: string;
  source: string;
  reachable: boolean | "embedded";
}

export const IPV4_SPECIAL: readonly SpecialBlock[] = [
  { cidr: "0.0.0.0/8", name: '"This network"', source: "RFC 791", reachable: false },
  { cidr: "0.0.0.0/32", name: '"This host on this network"', source: "RFC 1122", reachable: false },
  { cidr: "10.0.0.0/8", name: "Private-Use", source: "RFC 1918", reachable: false },
  { cidr: "100.64.0.0/10", name: "Shared Address Space (carrier-grade NAT)", source: "RFC 6598", reachable: false },
  { cidr: "127.0.0.0/8", name: "Loopback", source: "RFC 1122", reachable: false },
  { cidr: "169.254.0.0/16", name: "Link Local (cloud metadata)", source: "RFC 3927", reachable: false },
  { cidr: "172.16.0.0/12", name: "Private-Use", source: "RFC 1918", reachable: false },
  { cidr: "192.0.0.0/24", name: "IETF Protocol Assignments", source: "RFC 6890", reachable: false },
  { cidr: "192.0.0.0/29", name: "IPv4 Service Continuity Prefix", source: "RFC 7335", reachable: false },
  { cidr: "192.0.0.8/32", name: "IPv4 dummy address", source: "RFC 7600", reachable: false },
  { cidr: "192.0.0.9/32", name: "Port Control Protocol Anycast", source: "RFC 7723", reachable: true },
  { cidr: "192.0.0.10/32", name: "Traversal Using Relays around NAT Anycast", source: "RFC 8155", reachable: true },
  { cidr: "192.0.0.170/32", name: "NAT64/DNS64 Discovery", source: "RFC 8880", reachable: false },
  { cidr: "192.0.0.171/32", name: "NAT64/DNS64 Discovery", source: "RFC 8880", reachable: false },
  { cidr: "192.0.2.0/24", name: "Documentation (TEST-NET-1)", source: "RFC 5737", reachable: false },
  { cidr: "192.31.196.0/24", name: "AS112-v4", source: "RFC 7535", reachable: true },
  { cidr: "192.52.193.0/24", name: "AMT", source: "RFC 7450", reachable: true },
  { cidr: "192.88.99.0/24", name: "Deprecated (6to4 Relay Anycast)", source: "RFC 7526", reachable: false },
  { cidr: "192.168.0.0/16", name: "Private-Use", source: "RFC 1918", reachable: false },
  { cidr: "192.175.48.0/24", name: "Direct Delegation AS112 Service", source: "RFC 7534", reachable: true },
  { cidr: "198.18.0.0/15", name: "Benchmarking", source: "RFC 2544", reachable: false },
  { cidr: "198.51.100.0/24", name: "Documentation (TEST-NET-2)", source: "RFC 5737", reachable: false },
  { cidr: "203.0.113.0/24", name: "Documentation (TEST-NET-3)", source: "RFC 5737", reachable: false },
  { cidr: "224.0.0.0/4", name: "Multicast (IPv4 Multicast Address Space Registry)", source: "RFC 5771", reachable: false },
  { cidr: "240.0.0.0/4", name: "Reserved", source: "RFC 1112", reachable: false },
  { cidr: "255.255.255.255/32", name: "Limited Broadcast", source: "RFC 8190", reachable: false },
];

export const IPV6_SPECIAL: readonly SpecialBlock[] = [
  { cidr: "::/96", name: "IPv4-Compatible (deprecated)", source: "RFC 4291 §2.5.5.1", reachable: false },
  { cidr: "::1/128", name: "Loopback Address", source: "RFC 4291", reachable: false },
  { cidr: "::/128", name: "Unspecified Address", source: "RFC 4291", reachable: false },
  { cidr: "::ffff:0:0/96", name: "IPv4-mapped Address", source: "RFC 4291", reachable: false },
  { cidr: "::ffff:0:0:0/96", name: "IPv4-translated Address (SIIT)", source: "RFC 2765", reachable: false },
  { cidr: "64:ff9b::/96", name: "IPv4-IPv6 Translat.", source: "RFC 6052", reachable: "embedded" },
  { cidr: "64:ff9b:1::/48", name: "IPv4-IPv6 Translat. (local use)", source: "RFC 8215", reachable: false },
  { cidr: "100::/64", name: "Discard-Only Address Block", source: "RFC 6666", reachable: false },
  { cidr: "100:0:0:1::/64", name: "Dummy IPv6 Prefix", source: "RFC 9780", reachable: false },
  { cidr: "2001::/23", name: "IETF Protocol Assignments", source: "RFC 2928", reachable: false },
  { cidr: "2001::/32", name: "TEREDO", source: "RFC 4380", reachable: false },
  { cidr: "2001:1::1/128", name: "Port Control Protocol Anycast", source: "RFC 7723", reachable: true },
  { cidr: "2001:1::2/128", name: "Traversal Using Relays around NAT Anycast", source: "RFC 8155", reachable: true },
  { cidr: "2001:1::3/128", name: "DNS-SD Service Registration Protocol Anycast", source: "RFC 9665", reachable: true },
  { cidr: "2001:2::/48", name: "Benchmarking", source: "RFC 5180", reachable: false },
  { cidr: "2001:3::/32", name: "AMT", source: "RFC 7450", reachable: true },
  { cidr: "2001:4:112::/48", name: "AS112-v6", source: "RFC 7535", reachable: true },
  { cidr: "2001:10::/28", name: "Deprecated (previously ORCHID)", source: "RFC 4843", reachable: false },
  { cidr: "2001:20::/28", name: "ORCHIDv2", source: "RFC 7343", reachable: true },
  { cidr: "2001:30::/28", name: "Drone Remote ID Protocol Entity Tags (DETs) Prefix", source: "RFC 9374", reachable: true },
  { cidr: "2001:db8::/32", name: "Documentation", source: "RFC 3849", reachable: false },
  { cidr: "2002::/16", name: "6to4", source: "RFC 3056", reachable: "embedded" },
  { cidr: "2620:4f:8000::/48", name: "Direct Delegation AS112 Service", source: "RFC 7534", reachable: true },
  { cidr: "3fff::/20", name: "Documentation", source: "RFC 9637", reachable: false },
  { cidr: "5f00::/16", name: "Segment Routing (SRv6) SIDs", source: "RFC 9602", reachable: false },
  { cidr: "fc00::/7", name: "Unique-Local", source: "RFC 4193", reachable: false },
  { cidr: "fe80::/10", name: "Link-Local Unicast", source: "RFC 4291", reachable: false },
  { cidr: "fec0::/10", name: "Site-Local (deprecated)", source: "RFC 3879", reachable: false },
  { cidr: "ff00::/8", name: "Multicast", source: "RFC 4291", reachable: false },
];

/** An IPv4 dotted quad as 4 bytes, or null. */
export function parseIPv4(text: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? Uint8Array.from(octets) : null;
}

/** An IPv6 literal (without brackets, optionally ending in a dotted quad) as 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  let rest = text.toLowerCase();
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (v4) {
    const octets = parseIPv4(v4[1]!);
    if (!octets) return null;
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
    rest = rest.slice(0, -v4[1]!.length) + "0:0";
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = groupsOf(halves[0]!);
  const back = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const fill = 8 - head.length - back.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...back];
  if (groups.some((g) => Number.isNaN(g))) return null;
  if (tail.length) groups.splice(6, 2, ...tail);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

interface ParsedBlock extends SpecialBlock {
  prefix: Uint8Array;
  bits: number;
}

function parseTable(table: readonly SpecialBlock[], parse: (text: string) => Uint8Array | null): ParsedBlock[] {
  return table.map((block) => {
    const [address, bits] = block.cidr.split("/") as [string, string];
    const prefix = parse(address);
    if (prefix === null) throw new Error(`bad CIDR in special-address table: ${block.cidr}`);
    return { ...block, prefix, bits: Number(bits) };
  });
}

const V4 = parseTable(IPV4_SPECIAL, parseIPv4);
const V6 = parseTable(IPV6_SPECIAL, parseIPv6);

function contains(block: ParsedBlock, address: Uint8Array): boolean {
  const whole = block.bits >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== block.prefix[i]) return false;
  const partial = block.bits & 7;
  if (partial === 0) return true;
  const mask = (0xff << (8 - partial)) & 0xff;
  return (address[whole]! & mask) === (block.prefix[whole]! & mask);
}

/** The most specific row containing the address, or null (ordinary global unicast). */
export function specialBlockOf(address: Uint8Array): SpecialBlock | null {
  let best: ParsedBlock | null = null;
  for (const block of address.length === 4 ? V4 : V6) {
    if (contains(block, address) && (best === null || block.bits > best.bits)) best = block;
  }
  return best;
}

/** The IPv4 address an "embedded" IPv6 block carries. */
function embeddedIPv4(block: SpecialBlock, address: Uint8Array): Uint8Array {
  // 6to4 (RFC 3056): bits 16–47; NAT64 well-known prefix (RFC 6052): the last 32 bits.
  return block.cidr === "2002::/16" ? address.subarray(2, 6) : address.subarray(12, 16);
}

/** Why the address may not be an endpoint (its registry entry), or null when it may. */
export function refusedBecause(address: Uint8Array): SpecialBlock | null {
  const block = specialBlockOf(address);
  if (block === null || block.reachable === true) return null;
  if (block.reachable === "embedded") return refusedBecause(embeddedIPv4(block, address));
  return block;
}
