/**
 * A real headless Chromium for the page's end-to-end tests: Debian's chromium-headless-shell from
 * scripts/chromium.sh ($CHROMIUM_BIN, the project cache, or fetched into it), driven by playwright-core.
 * Like VictoriaMetrics, a missing browser skips the suite locally (loudly) and fails it in CI.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const PROJECT_DIR = path.resolve(import.meta.dirname, "../..");
const AXE_SOURCE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let resolved: { bin?: string; problem?: string } | undefined;

export function chromiumBin(): string | undefined {
  if (resolved === undefined) {
    try {
      const out = execFileSync("bash", [path.join(PROJECT_DIR, "scripts/chromium.sh")], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 300_000,
      });
      const bin = out.trim().split("\n").pop();
      resolved = bin ? { bin } : { problem: "scripts/chromium.sh printed nothing" };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      resolved = { problem: stderr || (error instanceof Error ? error.message : String(error)) };
    }
  }
  return resolved.bin;
}

export function skipWithoutChromium(): boolean {
  const ci = process.env.CI?.toLowerCase();
  if (chromiumBin() !== undefined || (ci !== undefined && ci !== "" && ci !== "0" && ci !== "false")) return false;
  console.warn(`\n!!! SKIPPING browser tests: no Chromium (${resolved?.problem ?? ""}). Set CHROMIUM_BIN, or run on Debian. In CI they fail instead.\n`);
  return true;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumBin();
  if (executablePath === undefined) throw new Error(`Chromium is not available: ${resolved?.problem ?? "unknown reason"}`);
  return chromium.launch({ executablePath, args: ["--no-sandbox"] });
}

/**
 * Everything the pages of a browser context did that a test may need to check: uncaught errors,
 * console errors, dialogs (`alert` from an injected script would be one), and every response the
 * context received, with its headers and text.
 */
export interface PageWatch {
  errors: string[];
  dialogs: string[];
  responses: { url: string; status: number; headers: Record<string, string>; body: string }[];
  /** Resolves once the text of every response received so far has been read. */
  settled(): Promise<void>;
}

/** Watches every page of `context`, those open now and those opened later (call it before signIn). */
export function watchContext(context: BrowserContext): PageWatch {
  const reads: Promise<void>[] = [];
  const watch: PageWatch = { errors: [], dialogs: [], responses: [], settled: async () => void (await Promise.all(reads)) };
  const watchPage = (page: Page) => {
    page.on("pageerror", (error) => watch.errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // The API's 4xx answers (a refused save) are logged by the browser as failed loads: expected, not errors.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) watch.errors.push(`console: ${message.text()}`);
    });
    page.on("dialog", (dialog) => {
      watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
  };
  context.pages().forEach(watchPage);
  context.on("page", watchPage);
  context.on("response", (response) => {
    const entry = { url: response.url(), status: response.status(), headers: response.headers(), body: "" };
    watch.responses.push(entry);
    // Redirects and aborted loads have no body to read.
    reads.push(
      response
        .text()
        .then((body) => void (entry.body = body))
        .catch(() => {}),
    );
  });
  return watch;
}

/** The responses' text, headers included, for "this value never came back" checks. */
export async function everythingReceived(watch: PageWatch): Promise<string> {
  await watch.settled();
  return watch.responses.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join("\n");
}

/** axe-core run inside the page: the violations of impact serious or critical. */
export async function seriousA11yViolations(page: Page): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  // evaluate() runs through the DevTools protocol, which the page's CSP (no inline scripts) does not block.
  await page.evaluate(readFileSync(AXE_SOURCE_PATH, "utf8"));
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const axe = (window as any).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => String(n.target)) }));
  });
  // Every finding is printed (the closing notes report them); only serious and critical fail a test.
  const all = results as { id: string; impact: string }[];
  console.log(`axe ${new URL(page.url()).pathname}: ${all.length} violation(s)${all.map((v) => ` ${v.id} (${v.impact})`).join(",")}`);
  return results.filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical");
}

/** Signs in through the page's own form, as a user does. */
export async function signIn(context: BrowserContext, baseUrl: string, projectKey: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await page.getByLabel("Project key").fill(projectKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/integrations\/metrics-export$/);
  return page;
}
