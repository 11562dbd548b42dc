/** checkEndpoint: the endpoint rules of issue 2 item 8, with private addresses refused (production). */
import { describe, expect, it } from "vitest";
import { checkEndpoint, isPrivateHost, MAX_ENDPOINT_LENGTH } from "../../src/validation/endpoint";

function refusal(url: string, allowPrivate = false): string {
  const r = checkEndpoint(url, allowPrivate);
  if (r.ok) throw new Error(`expected ${url} to be refused`);
  return r.message;
}

describe("checkEndpoint refuses malformed endpoints", () => {
  it.each([
    ["empty", "", /absolute http/],
    ["a relative path", "/v1/metrics", /absolute http/],
    ["no scheme", "otlp.example.com/otlp", /absolute http/],
    ["ftp:", "ftp://otlp.example.com/", /http or https, not ftp/],
    ["file:", "file:///etc/passwd", /http or https, not file/],
    ["javascript:", "javascript:alert(1)", /http or https, not javascript/],
    ["data:", "data:text/plain,x", /http or https, not data/],
    ["ws:", "ws://otlp.example.com/", /http or https, not ws/],
    ["user and password", "https://user:pass@otlp.example.com/", /user info/],
    ["user only", "https://user@otlp.example.com/", /user info/],
    ["empty user info", "https://@otlp.example.com/", /user info/],
    ["user info behind an upper-case scheme", "HTTPS://user@otlp.example.com/", /user info/],
    ["user info after a backslash (parsed as a path separator)", "https://evil.example\\@otlp.example.com/", /user info/],
    ["a fragment", "https://otlp.example.com/otlp#x", /fragment/],
    ["an empty fragment", "https://otlp.example.com/otlp#", /fragment/],
    ["a space", "https://otlp.example.com/a b", /spaces or control/],
    ["a leading space", " https://otlp.example.com/", /spaces or control/],
    ["a tab", "https://otlp.example.com/\t", /spaces or control/],
    ["a newline", "https://otlp.example.com/\n", /spaces or control/],
    ["an IPv6 zone id", "http://[fe80::1%25eth0]/", /absolute http/],
    ["over 2048 characters", `https://otlp.example.com/${"a".repeat(MAX_ENDPOINT_LENGTH)}`, /at most 2048/],
  ])("%s", (_label, url, message) => {
    expect(refusal(url, true)).toMatch(message);
  });

  it("accepts exactly 2048 characters", () => {
    const url = `https://otlp.example.com/${"a".repeat(MAX_ENDPOINT_LENGTH - 25)}`;
    expect(url).toHaveLength(MAX_ENDPOINT_LENGTH);
    expect(checkEndpoint(url, false).ok).toBe(true);
  });
});

describe("checkEndpoint refuses private addresses unless allowed", () => {
  it.each([
    // IPv4 loopback, private, link-local, CGNAT, "this network"
    "http://127.0.0.1/",
    "http://127.1.2.3:4318/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.20.10.5/",
    "http://172.31.255.255/",
    "http://192.168.0.1/",
    "http://192.168.255.254/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://0.0.0.0/",
    "http://0/",
    // Other spellings of 127.0.0.1 (the URL parser normalises them)
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.0.1./",
    // IPv6 loopback, unspecified, mapped, unique-local, link-local
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]:4318/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.1.2.3]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    "http://[fdff:ffff::1]/",
    "http://[fe80::1]/",
    "http://[::127.0.0.1]/",
    "http://[febf::1]/",
    // Names
    "http://localhost/",
    "http://localhost:4318/v1/metrics",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://foo.localhost/",
    "https://a.b.localhost/",
  ])("%s", (url) => {
    expect(refusal(url)).toMatch(/loopback, private or other special-purpose address/);
    expect(checkEndpoint(url, true).ok).toBe(true);
  });
});

describe("checkEndpoint accepts public endpoints", () => {
  it.each([
    "https://otlp-gateway-prod-us-east-0.grafana.net/otlp",
    "https://api.datadoghq.com",
    "https://otlp.example.com:4318/v1/metrics?tenant=a",
    "https://otlp.example.com?tenant=ops@example.com",
    "https://otlp.example.com/v1/metrics?owner=a@b",
    "https://otlp.example.com/tenants/a@b/otlp",
    "https://8.8.8.8/",
    "https://1.1.1.1:4318/",
    "https://172.15.255.255/",
    "https://172.32.0.1/",
    "https://100.63.255.255/",
    "https://100.128.0.1/",
    "https://169.253.1.1/",
    "https://192.167.1.1/",
    "https://11.0.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[2a00:1450:4001:80b::200e]/",
    "https://192.0.1.1/", // only 192.0.0.0/24 of 192.0.0.0/16 is special
    "https://192.0.78.24/",
    "https://192.0.0.9/", // PCP anycast: globally reachable inside 192.0.0.0/24
    "https://[2002:808:808::1]/", // 6to4 of 8.8.8.8
    "https://[64:ff9b::808:808]/", // NAT64 of 8.8.8.8
    "https://localhost.example.com/",
    "https://mylocalhost/",
  ])("%s, with no warning over https", (url) => {
    const r = checkEndpoint(url, false);
    expect(r).toMatchObject({ ok: true, warnings: [] });
  });

  it("accepts plain http with a warning", () => {
    const r = checkEndpoint("http://prometheus.example.com:9090/api/v1/otlp", false);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/plain http/);
    expect(r.url.hostname).toBe("prometheus.example.com");
  });

  it("warns for plain http to a private address when private addresses are allowed", () => {
    const r = checkEndpoint("http://127.0.0.1:4318", true);
    expect(r).toMatchObject({ ok: true, warnings: [expect.stringMatching(/plain http/)] });
  });
});

describe("isPrivateHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["[::1]", true],
    ["[fc00::]", true],
    ["[fbff::1]", false],
    ["[fec0::1]", true], // deprecated site-local (RFC 3879)
    ["[2001:db8::1]", true], // documentation (RFC 3849)
    ["224.0.0.1", true],
    ["255.255.255.255", true],
    ["[ff02::1]", true],
    ["[64:ff9b::a00:1]", true],
    ["[64:ff9b::808:808]", false],
    ["example.com", false],
  ])("%s → %s", (host, expected) => {
    expect(isPrivateHost(host)).toBe(expected);
  });
});
