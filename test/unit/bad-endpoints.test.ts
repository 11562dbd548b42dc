/**
 * Private destinations in spellings test/unit/endpoint.test.ts does not try: other addresses than
 * 127.0.0.1 in decimal, hex and octal, percent-encoded and full-width hosts, the cloud metadata
 * address in IPv6 forms (mapped, compatible, NAT64, 6to4), and user info in front of a host. Each
 * must be refused in production (`checkEndpoint(url, false)`) and accepted when
 * ALLOW_PRIVATE_ENDPOINTS is "true", whatever the URL parser normalises it to.
 */
import { describe, expect, it } from "vitest";
import { checkEndpoint } from "../../src/validation/endpoint";

describe("checkEndpoint refuses private addresses in every spelling the URL parser normalises", () => {
  it.each([
    // 169.254.169.254 (cloud metadata)
    ["decimal metadata", "http://2852039166/latest/meta-data/", "169.254.169.254"],
    ["hex metadata", "http://0xa9fea9fe/", "169.254.169.254"],
    ["upper-case hex metadata", "http://0XA9FEA9FE/", "169.254.169.254"],
    ["dotted hex metadata", "http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"],
    ["mixed-radix metadata", "http://0xA9.254.0251.254/", "169.254.169.254"],
    ["octal metadata", "http://0251.0376.0251.0376/", "169.254.169.254"],
    ["two-part metadata", "http://169.16689662/", "169.254.169.254"],
    ["metadata with a trailing dot and port", "http://169.254.169.254.:80/", "169.254.169.254"],
    // RFC 1918, CGNAT and loopback in other encodings
    ["decimal 10.0.0.1", "http://167772161/", "10.0.0.1"],
    ["hex 192.168.1.1", "http://0xc0a80101/", "192.168.1.1"],
    ["decimal 192.168.1.1", "http://3232235777/", "192.168.1.1"],
    ["octal 192.168.0.1", "http://0300.0250.0.1/", "192.168.0.1"],
    ["hex 172.16.0.1", "http://0xac100001/", "172.16.0.1"],
    ["decimal 100.64.0.1", "http://1681915905/", "100.64.0.1"],
    ["whole-number octal loopback", "http://017700000001/", "127.0.0.1"],
    ["zero-padded loopback", "http://127.000.000.001/", "127.0.0.1"],
    ["two-part loopback", "http://127.1/", "127.0.0.1"],
    ["decimal 0.0.0.0", "http://0/", "0.0.0.0"],
    // Hosts the parser decodes before anything else sees them
    ["percent-encoded loopback", "http://%31%32%37.0.0.1/", "127.0.0.1"],
    ["percent-encoded trailing dot", "http://127.0.0.1%2e/", "127.0.0.1"],
    ["percent-encoded localhost", "http://%6c%6f%63%61%6c%68%6f%73%74/", "localhost"],
    ["full-width loopback", "http://１２７.０.０.１/", "127.0.0.1"],
    ["full-width metadata", "http://１６９.２５４.１６９.２５４/", "169.254.169.254"],
    ["ideographic full stops", "http://127。0。0。1/", "127.0.0.1"],
    ["upper-case full-width localhost", "http://ＬＯＣＡＬＨＯＳＴ/", "localhost"],
    // IPv6 forms of the same places
    ["hex-mapped metadata", "http://[::ffff:a9fe:a9fe]/", "[::ffff:a9fe:a9fe]"],
    ["long-form mapped metadata", "http://[0:0:0:0:0:ffff:169.254.169.254]/", "[::ffff:a9fe:a9fe]"],
    ["v4-compatible metadata", "http://[::169.254.169.254]/", "[::a9fe:a9fe]"],
    ["mapped 192.168", "http://[::ffff:192.168.0.1]/", "[::ffff:c0a8:1]"],
    ["NAT64 metadata", "http://[64:ff9b::169.254.169.254]/", "[64:ff9b::a9fe:a9fe]"],
    ["AWS IPv6 metadata (unique-local)", "http://[fd00:ec2::254]/", "[fd00:ec2::254]"],
    ["upper-case unique-local", "http://[FD12:3456::1]/", "[fd12:3456::1]"],
    ["upper-case link-local", "http://[FE80::ABCD]/", "[fe80::abcd]"],
    ["zero-padded loopback", "http://[0000:0000:0000:0000:0000:0000:0000:0001]/", "[::1]"],
    ["compressed loopback with leading zeros", "http://[::0:0:1]/", "[::1]"],
    ["IPv6 loopback with a port", "https://[::1]:4318/v1/metrics", "[::1]"],
    ["multicast", "http://[ff02::1]/", "[ff02::1]"],
    ["6to4 of loopback", "http://[2002:7f00:1::]/", "[2002:7f00:1::]"],
    ["6to4 of metadata", "http://[2002:a9fe:a9fe::1]/", "[2002:a9fe:a9fe::1]"],
    ["6to4 of 192.168.1.1", "http://[2002:c0a8:101::]/", "[2002:c0a8:101::]"],
  ])("%s: %s", (_label, url, hostname) => {
    const allowed = checkEndpoint(url, true);
    expect(allowed.ok, url).toBe(true);
    if (!allowed.ok) return;
    // The normalised host shows the spelling above is the private address it claims to be.
    expect(allowed.url.hostname).toBe(hostname);
    const refused = checkEndpoint(url, false);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.message).toMatch(/loopback, private or other special-purpose address/);
  });

  it.each([
    ["a public host name as user info", "http://otlp.example.com@127.0.0.1/"],
    ["a public host and port as user info", "http://otlp.example.com:443@169.254.169.254/"],
    // Special schemes read a backslash as "/": the host is 127.0.0.1, and the "@" still reads as user info.
    ["a backslash before an @", "http://127.0.0.1:80\\@otlp.example.com/"],
    ["encoded user info", "http://%40@127.0.0.1/"],
  ])("refuses %s before looking at the host: %s", (_label, url) => {
    for (const allowPrivate of [false, true]) {
      const r = checkEndpoint(url, allowPrivate);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/user info/);
    }
  });

  it("accepts 6to4 addresses of public hosts", () => {
    expect(checkEndpoint("https://[2002:808:808::1]/", false)).toMatchObject({ ok: true, warnings: [] });
  });
});
