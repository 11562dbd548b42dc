/**
 * Static assets (public/, served by Workers Static Assets) get their headers from public/_headers;
 * everything the worker answers gets src/page/security-headers.ts SECURITY_HEADERS. The two must be
 * the same set with the same values, so public/_headers is parsed here and compared exactly.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../src/page/security-headers";

const HEADERS_FILE = path.resolve(import.meta.dirname, "../../public/_headers");

interface Rule {
  pattern: string;
  headers: [name: string, value: string][];
}

/**
 * Cloudflare's `_headers` format: `#` comments, a URL pattern on an unindented line, then that
 * pattern's `Name: value` lines, indented. Anything else (a `! Name` detach, a header line without a
 * rule, a line without a colon) is reported as a problem: this test should not guess.
 */
function parseHeadersFile(text: string): { rules: Rule[]; problems: string[] } {
  const rules: Rule[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line.trim() === "" || line.trim().startsWith("#")) return;
    if (!/^\s/.test(line)) {
      rules.push({ pattern: line.trim(), headers: [] });
      return;
    }
    const rule = rules.at(-1);
    const colon = line.indexOf(":");
    if (rule === undefined || colon < 0 || line.trim().startsWith("!")) {
      problems.push(`line ${i + 1}: ${line.trim()}`);
      return;
    }
    rule.headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  });
  return { rules, problems };
}

describe("public/_headers", () => {
  const { rules, problems } = parseHeadersFile(readFileSync(HEADERS_FILE, "utf8"));

  it("is one rule for every path, nothing the parser does not understand", () => {
    expect(problems).toEqual([]);
    expect(rules.map((r) => r.pattern)).toEqual(["/*"]);
  });

  it("sets exactly SECURITY_HEADERS: the same names, the same values, each once", () => {
    const headers = rules[0]!.headers;
    const names = headers.map(([name]) => name.toLowerCase());
    expect(new Set(names).size, "a header set twice").toBe(names.length);
    expect(Object.fromEntries(headers)).toEqual({ ...SECURITY_HEADERS });
  });

  it("the parser sees a difference when there is one", () => {
    const parsed = parseHeadersFile("/*\n  Referrer-Policy: no-referrer\n  X-Frame-Options: SAMEORIGIN\n");
    expect(parsed.problems).toEqual([]);
    expect(Object.fromEntries(parsed.rules[0]!.headers)).not.toEqual({ ...SECURITY_HEADERS });
    expect(parseHeadersFile("  Orphan: 1\n/*\n  ! X-Frame-Options\n").problems).toEqual(["line 1: Orphan: 1", "line 3: ! X-Frame-Options"]);
    expect(parseHeadersFile("# c\n/*\n  A: b: c\n").rules).toEqual([{ pattern: "/*", headers: [["A", "b: c"]] }]);
  });
});
