/**
 * One row per entry of the special-purpose address table: an address inside the block, spelled as
 * a user might type it in a URL, and whether an endpoint there is refused in production. The
 * expectations come from the IANA registries' "Globally Reachable" column, written out here by hand.
 */
import { describe, expect, it } from "vitest";
import { checkEndpoint } from "../../src/validation/endpoint";
import { IPV4_SPECIAL, IPV6_SPECIAL } from "../../src/validation/special-addresses";

const REFUSED = true;
const ALLOWED = false;

// [block, host inside it (as typed in a URL), refused?]
const ROWS: [string, string, boolean][] = [
  ["0.0.0.0/8", "0.1.2.3", REFUSED],
  ["0.0.0.0/32", "0.0.0.0", REFUSED],
  ["10.0.0.0/8", "10.200.3.4", REFUSED],
  ["100.64.0.0/10", "100.127.255.254", REFUSED],
  ["127.0.0.0/8", "127.255.0.1", REFUSED],
  ["169.254.0.0/16", "169.254.169.254", REFUSED],
  ["172.16.0.0/12", "172.31.0.1", REFUSED],
  ["192.0.0.0/24", "192.0.0.200", REFUSED],
  ["192.0.0.0/29", "192.0.0.7", REFUSED],
  ["192.0.0.8/32", "192.0.0.8", REFUSED],
  ["192.0.0.9/32", "192.0.0.9", ALLOWED],
  ["192.0.0.10/32", "192.0.0.10", ALLOWED],
  ["192.0.0.170/32", "192.0.0.170", REFUSED],
  ["192.0.0.171/32", "192.0.0.171", REFUSED],
  ["192.0.2.0/24", "192.0.2.55", REFUSED],
  ["192.31.196.0/24", "192.31.196.1", ALLOWED],
  ["192.52.193.0/24", "192.52.193.1", ALLOWED],
  ["192.88.99.0/24", "192.88.99.1", REFUSED],
  ["192.168.0.0/16", "192.168.1.1", REFUSED],
  ["192.175.48.0/24", "192.175.48.6", ALLOWED],
  ["198.18.0.0/15", "198.19.255.1", REFUSED],
  ["198.51.100.0/24", "198.51.100.7", REFUSED],
  ["203.0.113.0/24", "203.0.113.9", REFUSED],
  ["224.0.0.0/4", "239.255.255.250", REFUSED],
  ["240.0.0.0/4", "250.1.2.3", REFUSED],
  ["255.255.255.255/32", "255.255.255.255", REFUSED],
  ["::/96", "[::808:808]", REFUSED],
  ["::1/128", "[::1]", REFUSED],
  ["::/128", "[::]", REFUSED],
  ["::ffff:0:0/96", "[::ffff:8.8.8.8]", REFUSED],
  ["::ffff:0:0:0/96", "[::ffff:0:7f00:1]", REFUSED],
  ["64:ff9b::/96", "[64:ff9b::10.0.0.1]", REFUSED],
  ["64:ff9b:1::/48", "[64:ff9b:1::1]", REFUSED],
  ["100::/64", "[100::1]", REFUSED],
  ["100:0:0:1::/64", "[100:0:0:1::1]", REFUSED],
  ["2001::/23", "[2001:100::1]", REFUSED],
  ["2001::/32", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", REFUSED],
  ["2001:1::1/128", "[2001:1::1]", ALLOWED],
  ["2001:1::2/128", "[2001:1::2]", ALLOWED],
  ["2001:1::3/128", "[2001:1::3]", ALLOWED],
  ["2001:2::/48", "[2001:2::1]", REFUSED],
  ["2001:3::/32", "[2001:3::1]", ALLOWED],
  ["2001:4:112::/48", "[2001:4:112::1]", ALLOWED],
  ["2001:10::/28", "[2001:10::1]", REFUSED],
  ["2001:20::/28", "[2001:20::1]", ALLOWED],
  ["2001:30::/28", "[2001:30::1]", ALLOWED],
  ["2001:db8::/32", "[2001:db8:85a3::8a2e:370:7334]", REFUSED],
  ["2002::/16", "[2002:c0a8:101::1]", REFUSED],
  ["2620:4f:8000::/48", "[2620:4f:8000::42]", ALLOWED],
  ["3fff::/20", "[3fff:fff::1]", REFUSED],
  ["5f00::/16", "[5f00:1::1]", REFUSED],
  ["fc00::/7", "[fdff:ffff::1]", REFUSED],
  ["fe80::/10", "[febf::1]", REFUSED],
  ["fec0::/10", "[fec0::1]", REFUSED],
  ["ff00::/8", "[ff02::1]", REFUSED],
];

describe("the special-purpose address table", () => {
  it("has exactly one test row per entry", () => {
    const entries = [...IPV4_SPECIAL, ...IPV6_SPECIAL].map((b) => b.cidr).sort();
    expect(ROWS.map((r) => r[0]).sort()).toEqual(entries);
  });

  it.each(ROWS)("%s: an endpoint on %s is refused: %s", (_block, host, refused) => {
    const check = checkEndpoint(`https://${host}/otlp`, false);
    expect(check.ok).toBe(!refused);
    if (!check.ok) expect(check.message).toMatch(/special-purpose address/);
    // Local development allows all of them.
    expect(checkEndpoint(`https://${host}/otlp`, true).ok).toBe(true);
  });
});

describe("addresses next to special blocks, and embedded forms", () => {
  it.each([
    ["192.0.1.1", ALLOWED], // 192.0.0.0/16 is not special, only 192.0.0.0/24 and 192.0.2.0/24
    ["192.0.78.24", ALLOWED],
    ["192.0.3.1", ALLOWED],
    ["198.17.255.255", ALLOWED],
    ["198.20.0.1", ALLOWED],
    ["203.0.112.255", ALLOWED],
    ["172.32.0.1", ALLOWED],
    ["[2606:4700:4700::1111]", ALLOWED],
    ["[2002:808:808::1]", ALLOWED], // 6to4 of 8.8.8.8
    ["[2002:7f00:1::1]", REFUSED], // 6to4 of 127.0.0.1
    ["[64:ff9b::808:808]", ALLOWED], // NAT64 of 8.8.8.8
    ["[64:ff9b::7f00:1]", REFUSED], // NAT64 of 127.0.0.1
    ["[2001:db9::1]", ALLOWED],
    ["[fbff::1]", ALLOWED],
    ["[2001:4::1]", REFUSED], // inside 2001::/23, outside AS112-v6's /48
  ])("%s refused: %s", (host, refused) => {
    expect(checkEndpoint(`https://${host}/`, false).ok).toBe(!refused);
  });

  it.each(["http://localhost../", "http://localhost.../v1/metrics", "http://app.localhost../", "http://LocalHost./"])(
    "%s is localhost",
    (url) => {
      const check = checkEndpoint(url, false);
      expect(check).toMatchObject({ ok: false });
      if (!check.ok) expect(check.message).toMatch(/localhost/);
    },
  );
});
