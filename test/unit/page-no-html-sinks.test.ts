/**
 * The Metrics Export page shows untrusted text (destination answers, error messages, export names):
 * its scripts must only ever set textContent / attributes, never parse strings as HTML or code. And
 * the CSP (script-src 'self'; style-src 'self', no 'unsafe-inline') forbids inline scripts, inline
 * event handlers and style attributes in the server-rendered pages.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { htmlDocument } from "../../src/page/layout";
import { MetricsExportPage, STATUS_REFRESH_MS } from "../../src/page/metrics-export-page";
import { CONTENT_SECURITY_POLICY } from "../../src/page/security-headers";
import { SignInPage } from "../../src/page/sign-in";

const ROOT = path.resolve(import.meta.dirname, "../..");

function filesUnder(dir: string, ext: RegExp): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, entry);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel, ext));
    else if (ext.test(entry)) out.push({ name: rel, text: readFileSync(path.join(ROOT, rel), "utf8") });
  }
  return out;
}

/** Source text without comments, so prose such as "never use innerHTML" does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

const SINKS: [what: string, pattern: RegExp][] = [
  ["innerHTML", /\binnerHTML\b/],
  ["outerHTML", /\bouterHTML\b/],
  ["insertAdjacentHTML", /\binsertAdjacentHTML\b/],
  ["document.write", /\bdocument\s*\.\s*write(ln)?\b/],
  ["eval(", /(^|[^\w$.])eval\s*\(/],
  ["new Function", /\bnew\s+Function\b/],
  ["Function( called as a constructor", /(^|[^\w$.])Function\s*\(/],
  ['setAttribute("on…")', /setAttribute\s*\(\s*["'`]on/i],
  [".on…= handler property", /\.on[a-z]+\s*=(?!=)/],
  ["string timer (setTimeout/setInterval with a string)", /\bset(Timeout|Interval)\s*\(\s*["'`]/],
  ["createContextualFragment", /\bcreateContextualFragment\b/],
  ["DOMParser", /\bDOMParser\b/],
  ["srcdoc", /\bsrcdoc\b/],
  ["javascript: URL", /javascript:/i],
];

describe("the page's browser scripts (public/assets/page/)", () => {
  const scripts = filesUnder("public/assets/page", /\.(js|mjs)$/);

  it("are there to check", () => {
    const names = scripts.map((s) => path.basename(s.name));
    for (const expected of [
      "main.js",
      "page-state.js",
      "export-form.js",
      "status-card.js",
      "actions.js",
      "api.js",
      "headers-editor.js",
      "format.js",
      "basic-auth.js",
      "queries.js",
      "field-errors.js",
      "preview.js",
      "dom.js",
      "notifications.js",
      "history.js",
    ]) {
      expect(names).toContain(expected);
    }
  });

  it("stay small: each module under 400 lines, split by concern", () => {
    const long = scripts.map((s) => ({ name: s.name, lines: s.text.split("\n").length })).filter((s) => s.lines >= 400);
    expect(long).toEqual([]);
  });

  for (const [what, pattern] of SINKS) {
    it(`never use ${what}`, () => {
      const offenders = scripts.flatMap((s) =>
        code(s.text)
          .split("\n")
          .map((line, i) => ({ line, i }))
          .filter(({ line }) => pattern.test(line))
          .map(({ line, i }) => `${s.name}:${i + 1}: ${line.trim()}`),
      );
      expect(offenders).toEqual([]);
    });
  }

  it("set text with textContent (the status card and the actions' results)", () => {
    for (const file of ["status-card.js", "actions.js", "page-state.js"]) {
      const script = scripts.find((s) => path.basename(s.name) === file)!;
      expect(code(script.text), file).toMatch(/\.textContent\s*=/);
    }
  });

  it("the sink patterns do catch what they are meant to", () => {
    const caught = (src: string) => SINKS.filter(([, p]) => code(src).split("\n").some((l) => p.test(l))).map(([w]) => w);
    expect(caught("el.innerHTML = msg;")).toEqual(["innerHTML"]);
    expect(caught("el.insertAdjacentHTML('beforeend', msg);")).toEqual(["insertAdjacentHTML"]);
    expect(caught("document.write(x)")).toEqual(["document.write"]);
    expect(caught("const f = eval(s);")).toEqual(["eval("]);
    expect(caught("const f = new Function('a', s);")).toContain("new Function");
    expect(caught('b.setAttribute("onclick", s)')).toEqual(['setAttribute("on…")']);
    expect(caught("b.onclick = () => go();")).toEqual([".on…= handler property"]);
    expect(caught("// never use innerHTML here\nel.textContent = msg;")).toEqual([]);
    expect(caught("if (a.onLine === b) {}")).toEqual([]);
    expect(caught('b.setAttribute("aria-label", s); b.addEventListener("click", go);')).toEqual([]);
  });
});

describe("the server-rendered pages (src/page/)", () => {
  const tsx = filesUnder("src/page", /\.tsx$/);

  it("are there to check", () => {
    expect(tsx.map((f) => path.basename(f.name))).toEqual(expect.arrayContaining(["layout.tsx", "metrics-export-page.tsx", "sign-in.tsx"]));
  });

  it("never use dangerouslySetInnerHTML, style attributes, inline handlers or raw HTML", () => {
    const offenders: string[] = [];
    for (const f of tsx) {
      code(f.text)
        .split("\n")
        .forEach((line, i) => {
          for (const [what, p] of [
            ["dangerouslySetInnerHTML", /dangerouslySetInnerHTML/],
            ["style= attribute", /\sstyle\s*=/],
            ["<style> element", /<style[\s>]/],
            ["inline event handler", /\son[A-Za-z]+\s*=\s*[{"']/],
            ["raw()", /\braw\s*\(/],
            ["javascript: URL", /javascript:/i],
          ] as const) {
            if (p.test(line)) offenders.push(`${f.name}:${i + 1}: ${what}: ${line.trim()}`);
          }
        });
    }
    expect(offenders).toEqual([]);
  });

  it("have no <script> with content (only <script src=…></script>)", () => {
    const offenders: string[] = [];
    for (const f of tsx) {
      for (const m of code(f.text).matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>|<script\b([^>]*)\/>/g)) {
        const attrs = m[1] ?? m[3] ?? "";
        const body = m[2] ?? "";
        if (body.trim() !== "" || !/\ssrc\s*=/.test(attrs)) offenders.push(`${f.name}: ${m[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("render to HTML the CSP allows: external scripts and styles only, no inline code or style", () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("style-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
    const pages = {
      "metrics export": htmlDocument(MetricsExportPage({ projectId: "p-abc12345", projectName: "Acme <b>inference</b>", exportIntervalSeconds: 60 })),
      "sign in": htmlDocument(SignInPage({ error: "That key was not recognised <script>alert(1)</script>" })),
      "signed out": htmlDocument(SignInPage({ signedOut: true })),
    };
    for (const [name, html] of Object.entries(pages)) {
      expect(html.startsWith("<!doctype html>"), name).toBe(true);
      expect(html, name).not.toMatch(/\sstyle\s*=/i);
      expect(html, name).not.toMatch(/<style[\s>]/i);
      expect(html, name).not.toMatch(/\son[a-z]+\s*=/i);
      expect(html, name).not.toMatch(/javascript:/i);
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        expect(m[2], `${name}: ${m[0]}`).toBe("");
        expect(m[1], `${name}: ${m[0]}`).toMatch(/\ssrc="\/assets\/[^"]+"/);
      }
      // Text from the request is escaped, never markup.
      expect(html, name).not.toContain("<b>inference</b>");
      expect(html, name).not.toContain("<script>alert(1)</script>");
    }
    expect(pages["metrics export"]).toContain("Acme &lt;b&gt;inference&lt;/b&gt;");
    expect(pages["sign in"]).toContain("That key was not recognised &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(pages["metrics export"]).toContain('<script type="module" src="/assets/page/main.js"></script>');
    expect(pages["metrics export"]).toContain('data-project-id="p-abc12345"');
    // The script's settings: the deployment's export interval and the status refresh period.
    expect(pages["metrics export"]).toContain('data-export-interval-s="60"');
    expect(pages["metrics export"]).toContain(`data-status-refresh-ms="${STATUS_REFRESH_MS}"`);
    expect(pages["metrics export"]).toContain("pushed every 60 seconds");
  });
});
