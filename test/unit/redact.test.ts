import { describe, expect, it } from "vitest";
import { MAX_EXCERPT_CHARS, safeExcerpt, WITHHELD } from "../../src/export/redact";

const TOKEN = "glc_eyJrIjoiN2M0ZWQ1YjI5ZiJ9Zx0Q";
const PASSWORD = "Sup3r-Secret_pa55word";
const SECRETS = {
  bearer: `Bearer ${TOKEN}`,
  basic: `Basic ${btoa(`123456:${PASSWORD}`)}`,
  apiKey: "dd0123456789abcdef0123456789abcd",
};

const bytes = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Array.from(b, (x) => String.fromCharCode(x)).join("");
const toHex = (s: string) => Array.from(bytes(s), (b) => b.toString(16).padStart(2, "0")).join("");
const everyChar = (s: string, f: (code: number) => string) => Array.from(s, (c) => f(c.charCodeAt(0))).join("");

/** How a destination might echo a header value back (independent of the code under test). */
const ENCODINGS: [string, (v: string) => string][] = [
  ["as sent", (v) => v],
  ["lower-cased", (v) => v.toLowerCase()],
  ["upper-cased", (v) => v.toUpperCase()],
  ["percent-encoded (upper-case hex)", (v) => encodeURIComponent(v)],
  ["percent-encoded (lower-case hex)", (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
  ["every character percent-encoded, lower-case", (v) => everyChar(v, (c) => `%${c.toString(16).padStart(2, "0")}`)],
  ["percent-encoded twice", (v) => encodeURIComponent(everyChar(v, (c) => `%${c.toString(16).padStart(2, "0")}`))],
  ["HTML entities, decimal", (v) => everyChar(v, (c) => `&#${c};`)],
  ["HTML entities, hex", (v) => everyChar(v, (c) => `&#x${c.toString(16)};`)],
  ["HTML named entities for the specials", (v) => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;")],
  ["JSON \\u escapes", (v) => everyChar(v, (c) => `\\u${c.toString(16).padStart(4, "0")}`)],
  ["JSON with escaped slashes", (v) => JSON.stringify(v).slice(1, -1).replace(/\//g, "\\/")],
  ["base64", (v) => btoa(v)],
  ["base64 after one byte", (v) => btoa(`x${v}`)],
  ["base64 after two bytes", (v) => btoa(`xy${v}`)],
  ["base64url", (v) => btoa(v).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")],
  ["hex", (v) => toHex(v)],
  ["HEX", (v) => toHex(v).toUpperCase()],
  ["split by newlines", (v) => v.replace(/(.{5})/g, "$1\n")],
  ["split by CR LF and tabs", (v) => v.replace(/(.{4})/g, "$1\r\n\t")],
  ["split by control characters", (v) => v.replace(/(.{3})/g, "$1\u0001")],
  ["split by escaped newlines in JSON", (v) => v.replace(/(.{6})/g, "$1\\n")],
  ["split by zero-width spaces", (v) => v.replace(/(.{2})/g, "$1\u200b")],
  ["truncated after 12 characters", (v) => `${v.slice(0, 12)}…`],
  ["truncated, lower-cased", (v) => `${v.slice(0, 14).toLowerCase()}...`],
];

/** The part of each secret that must never be readable: the token, the key, the password. */
const CORES: Record<keyof typeof SECRETS, string[]> = {
  bearer: [TOKEN],
  basic: [PASSWORD, btoa(`123456:${PASSWORD}`)],
  apiKey: [SECRETS.apiKey],
};

/** Any 8-character run of a core, in any case, after undoing the encoding the test applied. */
function leaks(out: string, cores: string[], encode: (v: string) => string): string | null {
  const lowered = out.toLowerCase();
  for (const core of cores) {
    for (let i = 0; i + 8 <= core.length; i++) {
      const run = core.slice(i, i + 8);
      for (const candidate of [run, encode(run)]) {
        const c = candidate.toLowerCase();
        if (c.length >= 8 && lowered.includes(c)) return candidate;
      }
    }
  }
  return null;
}

describe("safeExcerpt", () => {
  for (const [name, secret] of Object.entries(SECRETS) as [keyof typeof SECRETS, string][]) {
    const parts = name === "basic" ? [secret, PASSWORD, `123456:${PASSWORD}`] : [secret];
    describe(`a ${name} header value`, () => {
      it.each(ENCODINGS.flatMap(([label, encode]) => parts.map((part) => [label, part, encode] as const)))(
        "echoed %s (%s) is masked or the excerpt withheld",
        (_label, part, encode) => {
          const echoed = encode(part);
          const out = safeExcerpt(`{"error":"invalid credentials","got":"${echoed}","hint":"check the key"}`, [secret]);
          expect(out === WITHHELD || out.includes("[redacted]")).toBe(true);
          expect(out).not.toContain(echoed.slice(0, 16));
          expect(leaks(out, CORES[name], encode)).toBeNull();
        },
      );
    });
  }

  it("keeps the readable rest of a plainly echoed body", () => {
    const out = safeExcerpt(`401: invalid api key ${SECRETS.apiKey} for org 42`, [SECRETS.apiKey]);
    expect(out).toBe("401: invalid api key [redacted] for org 42");
  });

  it("masks the token of a Bearer value echoed without its scheme, and a lower-cased copy", () => {
    const out = safeExcerpt(`token ${TOKEN} rejected; also ${TOKEN.toLowerCase()}`, [SECRETS.bearer]);
    expect(out).toBe("token [redacted] rejected; also [redacted]");
  });

  it("leaves text without any secret as it was, apart from control characters and the length cap", () => {
    const body = '{"error":"invalid temporality and type combination","code":3}';
    expect(safeExcerpt(body, Object.values(SECRETS))).toBe(body);
    expect(safeExcerpt("line one\u0000line two", [])).toBe("line one line two");
    const long = safeExcerpt(`${"y".repeat(2000)}`, Object.values(SECRETS));
    expect(long.length).toBe(MAX_EXCERPT_CHARS);
    expect(long.endsWith("…")).toBe(true);
  });

  it("masks before cutting to length, so a secret across the cut is not half-shown", () => {
    const body = `${"x".repeat(MAX_EXCERPT_CHARS - 10)} ${SECRETS.apiKey}`;
    const out = safeExcerpt(body, [SECRETS.apiKey]);
    expect(leaks(out, [SECRETS.apiKey], (v) => v)).toBeNull();
  });

  it("ignores values too short to tell apart from ordinary text", () => {
    expect(safeExcerpt("abc is fine", ["abc"])).toBe("abc is fine");
  });

  it("handles base64 of binary-looking text without throwing", () => {
    const raw = latin1(new Uint8Array([0xff, 0x00, 0x10, 0x80, 0x41, 0x42, 0x43, 0x44, 0x45]));
    expect(() => safeExcerpt(`x ${btoa(raw)} y`, ["Basic " + btoa(raw)])).not.toThrow();
  });
});
