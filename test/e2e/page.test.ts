/**
 * The Metrics Export page in a real Chromium (issue 13), against the real worker under `wrangler dev`
 * and a real VictoriaMetrics, driven as the product guide's user drives it: sign in, choose the
 * destination, paste the endpoint, Save & Enable, watch Connected, copy the guide's queries, Test
 * Connection against wrong paths and refused credentials, a destination that goes down until export
 * pauses, the fix typed into the page and Re-enable, the Export enabled switch, Save Changes with a
 * replaced header, Delete.
 *
 * A small Node server stands in for destinations that misbehave (404, 401, 503, an HTML error body).
 * With SCREENSHOTS=1 (`npm run screenshots`) the main states are written to docs/images/.
 */
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HISTOGRAM_BOUNDS_MS, METRICS } from "../../src/export/metric-definitions";
import { STATUS_REFRESH_MS } from "../../src/page/metrics-export-page";
import { SECURITY_HEADERS } from "../../src/page/security-headers";
import { everythingReceived, launchChromium, seriousA11yViolations, signIn, skipWithoutChromium, watchContext, type PageWatch } from "./browser";
import { api as harnessApi, skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

const INTERVAL_S = 2;
/**
 * How soon after Save (& Enable) the badge must read Connected: the first push that carries data is at
 * the project's slot in the interval after the samples arrive, so at most two intervals after the
 * click, and the page shows it at its next status read, at most one refresh period later.
 */
const CONNECTED_WITHIN_MS = 2 * INTERVAL_S * 1000 + STATUS_REFRESH_MS;
const SCREENSHOTS = process.env.SCREENSHOTS === "1";
const IMAGES = path.resolve(import.meta.dirname, "../../docs/images");
const XSS = `<img src=x onerror="window.__xss=1;alert('xss')"><script>window.__xss=2</script>`;
/** Every header value typed into the page: none may come back in a page or any response. */
const SECRETS = ["Bearer first-secret-0f9c2b", "Bearer second-secret-77ad41", "glc_token_secret_5e1d", "Bearer keyboard-secret-a41c"];

/**
 * A destination whose answer each test chooses by path: /ok, /unauthorized (401), /flaky (200 until
 * `down`, then 503), /xss (400 with HTML), anything else 404.
 */
interface Destination {
  url: string;
  requests: { path: string; status: number; authorization: string | undefined }[];
  /** POSTs to /hook (notification webhooks): raw body and the signature and idempotency headers. */
  hooks: { body: string; signature: string | undefined; idempotencyKey: string | undefined }[];
  /** /flaky answers 503 from now on (the platform goes down; nothing the page did). */
  down: boolean;
  close(): Promise<void>;
}

async function startDestination(): Promise<Destination> {
  const d: Destination = { url: "", requests: [], hooks: [], down: false, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const p = new URL(req.url ?? "/", "http://x").pathname;
      if (p === "/hook") {
        d.hooks.push({ body: Buffer.concat(chunks).toString("utf8"), signature: req.headers["x-signature"] as string | undefined, idempotencyKey: req.headers["idempotency-key"] as string | undefined });
        res.writeHead(204).end();
        return;
      }
      const answer = (status: number, type: string, body: string) => {
        d.requests.push({ path: p, status, authorization: req.headers.authorization });
        res.writeHead(status, { "content-type": type }).end(body);
      };
      if (p === "/ok/v1/metrics" || (p === "/flaky/v1/metrics" && !d.down)) answer(200, "application/x-protobuf", "");
      else if (p === "/unauthorized/v1/metrics") answer(401, "text/plain", "invalid credentials");
      else if (p === "/flaky/v1/metrics") answer(503, "text/plain", "upstream overloaded");
      else if (p === "/xss/v1/metrics") answer(400, "text/html", XSS);
      else answer(404, "text/plain", "no such path");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  d.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  d.close = () => new Promise((resolve) => server.close(() => resolve()));
  return d;
}

/** The README's verification: X-Signature = t=<unix s>,v1=<hex HMAC-SHA-256 of "<t>.<body>">. */
function signatureValid(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  return m !== null && Math.abs(Date.now() / 1000 - Number(m[1])) < 300 && createHmac("sha256", secret).update(`${m[1]}.${body}`).digest("hex") === m[2];
}

/** Presses Tab until the focused element matches `selector` (at most 80 presses), as a keyboard user does. */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** With SCREENSHOTS=1: the viewport, or one element (`selector`), as docs/images/<name>.png. */
async function shot(page: Page, name: string, selector?: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(IMAGES, { recursive: true });
  const file = path.join(IMAGES, `${name}.png`);
  if (selector === undefined) await page.screenshot({ path: file, fullPage: false });
  else await page.locator(selector).screenshot({ path: file });
}

/** What the test's host reports for my-model in us-east-1 (resource gauges). */
const RESOURCE = {
  cpu_cores: 3.25,
  memory_bytes: 17179869184,
  gpu_memory_bytes: 42949672960,
  gpu_compute_percent: 87.5,
  gpu_count: 1,
  containers_running: 3,
  containers_ready: 2,
};
/** One batch of runs (posted twice): the guide's queries must return what these determine. */
const RUNS = Array.from({ length: 8 }, (_, i) => ({ execution_ms: 100 + i, queue_ms: 3, response_ms: 110 + i, coldstart_ms: 2400, success: i % 4 !== 0 }));

/** Prometheus' histogram_quantile of `values` in cumulative `le` buckets (linear interpolation in the bucket). */
function histogramQuantile(q: number, values: number[], bounds: readonly number[] = DEFAULT_HISTOGRAM_BOUNDS_MS): number {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v <= b);
    counts[i === -1 ? bounds.length : i]! += 1;
  }
  const rank = q * values.length;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative + counts[i]! >= rank) return (i === 0 ? 0 : bounds[i - 1]!) + ((bounds[i]! - (i === 0 ? 0 : bounds[i - 1]!)) * (rank - cumulative)) / counts[i]!;
    cumulative += counts[i]!;
  }
  return bounds[bounds.length - 1]!;
}

/** The metric names VictoriaMetrics (Prometheus naming) holds once every metric was pushed. */
const EXPORTED_NAMES = METRICS.flatMap((m) => (m.kind === "histogram" ? ["bucket", "count", "sum"].map((s) => `${m.name}_milliseconds_${s}`) : [m.name])).sort();

/** Every security header of src/page/security-headers.ts, exactly (Playwright gives header names in lower case). */
function expectSecurityHeaders(headers: Record<string, string>, label: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(headers[name.toLowerCase()], `${label}: ${name}`).toBe(value);
}

describe.skipIf(skipWithoutVictoriaMetrics() || skipWithoutChromium())("the Metrics Export page in Chromium", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  let browser: Browser;
  let destination: Destination;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let projectId: string;
  let projectKey: string;
  let host: { hostId: string; key: string };
  const api = (method: string, route: string, token: string, body?: unknown) => harnessApi(worker, method, route, token, body);
  const badge = () => page.locator("#status-badge");

  /** Reloads and waits until the script has filled the page in. */
  async function reload(p: Page = page): Promise<void> {
    await p.reload();
    await p.locator('#status-badge:not([data-state="loading"])').waitFor();
  }

  /** The host reports its resources (RESOURCE) and, with `batches`, that many batches of RUNS. */
  async function postSamples(batches: number): Promise<void> {
    const now = Date.now();
    const where = { project_id: projectId, app_name: "my-model", region: "us-east-1", time: now };
    const samples: Record<string, unknown>[] = [{ type: "resource", ...where, ...RESOURCE }];
    for (let b = 0; b < batches; b++) for (const run of RUNS) samples.push({ type: "run", ...where, ...run });
    const r = await api("POST", "/v1/samples", host.key, { host_id: host.hostId, batch_id: crypto.randomUUID(), samples });
    expect(r.status).toBe(202);
  }

  async function exportsOf(): Promise<any[]> {
    const r = await api("GET", `/v1/projects/${projectId}/metrics-exports`, projectKey);
    expect(r.status).toBe(200);
    return r.body.exports;
  }

  /** Points the export at `endpoint` through the form and saves it. */
  async function saveEndpoint(endpoint: string): Promise<void> {
    await page.getByLabel("OTLP endpoint").fill(endpoint);
    await page.getByLabel("OTLP endpoint").blur();
    await page.getByRole("button", { name: "Save Changes" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Changes saved");
  }

  /**
   * Where the configuration form is in the document (not the viewport: scroll anchoring may hide a
   * jump in view while the page scrolled): any change in the status card above or beside it that
   * pushed it would show here.
   */
  const formPlace = () =>
    page.locator("#export-form").evaluate((form) => {
      const r = form.getBoundingClientRect();
      return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
    });

  /** Waits for the badge to read Connected within CONNECTED_WITHIN_MS of `since` (a click on Save or Re-enable). */
  async function connectedWithinBound(since: number): Promise<void> {
    const left = CONNECTED_WITHIN_MS - (Date.now() - since);
    await expect.poll(() => badge().textContent(), { timeout: Math.max(left, 1), message: `Connected within ${CONNECTED_WITHIN_MS} ms` }).toBe("Connected");
  }

  /** Every stored sample of a series, as VictoriaMetrics holds it (`/api/v1/export`). */
  async function storedSamples(selector: string): Promise<{ t: number; v: number }[]> {
    await vm.forceFlush();
    const response = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ "match[]": selector })}`);
    const lines = (await response.text()).trim().split("\n").filter(Boolean);
    expect(lines, selector).toHaveLength(1);
    const series = JSON.parse(lines[0]!) as { values: number[]; timestamps: number[] };
    return series.timestamps.map((t, i) => ({ t, v: series.values[i]! }));
  }

  const values = async (query: string) => (await vm.query(query)).map((s) => Number(s.value[1]));

  /** An instant query evaluated at `atMs` (not now: pushes keep adding samples every interval). */
  async function valuesAt(query: string, atMs: number): Promise<number[]> {
    await vm.forceFlush();
    const response = await fetch(`${vm.url}/api/v1/query?${new URLSearchParams({ query, time: String(atMs / 1000) })}`);
    const body = (await response.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    expect(body.status, query).toBe("success");
    return body.data.result.map((s) => Number(s.value[1]));
  }

  /**
   * A resource gauge's query, polled until it returns `expected`: gauges follow the hosts' latest
   * reports and are pushed while those are fresh (two intervals), so the host reports again and a
   * push follows before each try.
   */
  async function expectGauge(query: string, expected: number): Promise<void> {
    await expect
      .poll(
        async () => {
          await postSamples(0);
          expect((await api("POST", `/v1/projects/${projectId}/metrics-export/flush`, projectKey)).status).toBe(200);
          return values(query);
        },
        { timeout: 20_000, message: query },
      )
      .toEqual([expected]);
  }

  beforeAll(async () => {
    [vm, worker, browser, destination] = await Promise.all([
      startVictoriaMetrics(),
      // Send now is limited to 6 a minute per project; the gauge checks below flush more often.
      startWorker({ vars: { EXPORT_INTERVAL_SECONDS: String(INTERVAL_S), EXPORT_REQUEST_TIMEOUT_MS: "300", EXPORT_RETRY_BASE_MS: "20", EXPORT_FLUSHES_PER_MINUTE: "100" } }),
      launchChromium(),
      startDestination(),
    ]);
    const admin = worker.adminToken;
    projectId = (await api("POST", "/v1/projects", admin, { name: "browser" })).body.project_id;
    projectKey = (await api("POST", `/v1/projects/${projectId}/keys`, admin, { name: "browser test" })).body.key;
    host = { hostId: "gpu-host-browser", key: (await api("POST", "/v1/ingest-keys", admin, { host_id: "gpu-host-browser" })).body.key };
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    watch = watchContext(context);
    page = await signIn(context, worker.url, projectKey);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([worker?.stop(), vm?.stop(), destination?.close()]);
  });

  it("signs in with an HttpOnly, SameSite=Strict session cookie; the page and its static assets carry every security header", async () => {
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "cmx_session", httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookies[0]!.value).not.toContain(projectKey.slice(7));
    expect(await page.evaluate(() => document.cookie)).toBe("");
    await page.locator('#status-badge:not([data-state="loading"])').waitFor();
    await watch.settled();
    // What the browser received when it opened the page: the page itself (from the worker) and its
    // script modules and style sheet (static assets: public/_headers).
    const received = (pathname: string) => watch.responses.find((r) => new URL(r.url).pathname === pathname && r.status === 200);
    const pageResponse = received(`/projects/${projectId}/integrations/metrics-export`);
    expect(pageResponse, "the page").toBeDefined();
    expectSecurityHeaders(pageResponse!.headers, "the page");
    const csp = pageResponse!.headers["content-security-policy"];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    for (const asset of ["/assets/page/main.js", "/assets/page/actions.js", "/assets/style.css"]) {
      const response = received(asset);
      expect(response, asset).toBeDefined();
      expectSecurityHeaders(response!.headers, asset);
    }
    expect(received("/assets/page/main.js")!.headers["content-type"]).toMatch(/javascript/);
    await expect.poll(() => badge().textContent()).toBe("Not configured");
    expect(await page.getByRole("button", { name: "Save & Enable" }).isVisible()).toBe(true);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("Prometheus → VictoriaMetrics: Save & Enable, samples arrive, Connected with the last export time; the page's queries return the posted values", async () => {
    // The page refreshes at the period the bound above assumes.
    expect(await page.evaluate(() => document.body.dataset.statusRefreshMs)).toBe(String(STATUS_REFRESH_MS));
    await page.getByRole("radio", { name: "Prometheus" }).check();
    await expect.poll(() => page.getByRole("region", { name: "Setting up Prometheus" }).isVisible()).toBe(true);
    expect(await page.locator("#endpoint-example").textContent()).toBe("http://YOUR_PROMETHEUS_HOST:4318");
    await page.getByLabel("OTLP endpoint").fill(`${vm.url}/opentelemetry`);
    const savedAt = Date.now();
    await page.getByRole("button", { name: "Save & Enable" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain(`Saved and enabled "prometheus". Metrics start flowing within ${INTERVAL_S} seconds.`);
    expect(await page.getByRole("button", { name: "Save Changes" }).isVisible()).toBe(true);
    await postSamples(1);
    await connectedWithinBound(savedAt);
    await expect.poll(() => page.locator("#status-detail").textContent()).toMatch(/^Last successful export (just now|\d+ s ago)/);
    await expect.poll(() => page.locator("#total-points").textContent(), { timeout: STATUS_REFRESH_MS * 2 }).not.toBe("0");
    // A second batch of runs, pushed with Send now: rate() over the window sees two points per series.
    await postSamples(1);
    await page.getByRole("button", { name: "Send now" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toMatch(/^Sent [\d,]+ data points/);
    await expect.poll(() => page.locator("#preview-summary").textContent(), { timeout: STATUS_REFRESH_MS * 2 }).toMatch(/^Each push carries 1 series/);
    await shot(page, "page-connected");

    // The layout does not move while the status refreshes (same state, new "… s ago").
    const before = await formPlace();
    await page.waitForTimeout(STATUS_REFRESH_MS + 500);
    expect(await formPlace()).toEqual(before);

    // The guide's queries as the user gets them: each one's Copy button puts it on the clipboard.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
    const titles = await page.locator("#query-list .query-title").allTextContents();
    const shown = await page.locator("#query-list code").allTextContents();
    const copied: string[] = [];
    for (const title of titles) {
      await page.getByRole("button", { name: `Copy query: ${title}` }).click();
      copied.push(await page.evaluate(() => navigator.clipboard.readText()));
    }
    expect(copied).toEqual(shown);
    expect(copied).toContain(`cerebrium_cpu_utilization_cores{project_id="${projectId}"}`);
    // Filled in with this project's id, or (per-app queries) the app the preview found.
    for (const query of copied) expect(query).toMatch(new RegExp(`project_id="${projectId}"|app_name="my-model"`));

    // What each query must return, from what was posted: RESOURCE, and RUNS twice (one push each).
    const execution = RUNS.map((r) => r.execution_ms);
    const response = RUNS.map((r) => r.response_ms);
    const checks: Record<string, (query: string) => Promise<void>> = {
      "CPU usage by app": (q) => expectGauge(q, RESOURCE.cpu_cores),
      "Memory for a specific app": (q) => expectGauge(q, RESOURCE.memory_bytes),
      "Container scaling over time": (q) => expectGauge(q, RESOURCE.containers_running),
      "Request rate (requests per second over 5 minutes)": async (q) => {
        // The counter itself: every push carries the run total, RUNS.length after the first batch,
        // twice that after the second. The rate at the newest sample is the increase over the window
        // (all of it here) over the time between its first and last sample.
        const totals = await storedSamples(`cerebrium_run_total{project_id="${projectId}"}`);
        expect(totals.map((s) => s.v).filter((v, i, all) => v !== all[i - 1])).toEqual([RUNS.length, 2 * RUNS.length]);
        const [first, last] = [totals[0]!, totals.at(-1)!];
        expect(last.t - first.t).toBeLessThan(5 * 60_000);
        expect(await valuesAt(q, last.t)).toEqual([expect.closeTo((last.v - first.v) / ((last.t - first.t) / 1000), 6)]);
      },
      // Over the window, the buckets' increase is the second batch: the same runs as the first.
      "p99 execution latency": async (q) => expect(await values(q)).toEqual([expect.closeTo(histogramQuantile(0.99, execution), 6)]),
      "p99 end-to-end response time": async (q) => expect(await values(q)).toEqual([expect.closeTo(histogramQuantile(0.99, response), 6)]),
      "Error rate as a percentage": async (q) =>
        expect(await values(q)).toEqual([expect.closeTo((RUNS.filter((r) => !r.success).length / RUNS.length) * 100, 6)]),
      "Average cold start time": async (q) =>
        expect(await values(q)).toEqual([expect.closeTo(RUNS.reduce((sum, r) => sum + r.coldstart_ms, 0) / RUNS.length, 6)]),
      "List all Cerebrium metrics": async (q) => {
        const series = await vm.query(q);
        expect([...new Set(series.map((s) => s.metric.__name__))].sort()).toEqual(EXPORTED_NAMES);
        for (const s of series) expect(s.metric, s.metric.__name__).toMatchObject({ project_id: projectId, app_name: "my-model", region: "us-east-1", app_id: `${projectId}-my-model` });
      },
    };
    // Every query the page lists has its expected value here, and the other way round.
    expect([...titles].sort()).toEqual(Object.keys(checks).sort());
    for (const [i, title] of titles.entries()) await checks[title]!(copied[i]!);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("Test Connection explains a wrong path (404) and refused credentials (401), in place, without saving", async () => {
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/wrong`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    const result = page.getByRole("region", { name: "Test Connection result" });
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/^Not found: the OTLP endpoint URL is incorrect \(HTTP 404\)/);
    expect(await result.locator("#test-url").textContent()).toBe(`POST ${destination.url}/wrong/v1/metrics`);
    // The guide: "404 Not Found: The OTLP endpoint URL is incorrect."
    expect(await result.locator("#test-hint").textContent()).toMatch(/endpoint URL is incorrect/i);

    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/unauthorized`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/^Unauthorized.*\(HTTP 401\)/);
    // The guide: "401 / 403 Unauthorized: Your auth headers are wrong."
    expect(await result.locator("#test-hint").textContent()).toMatch(/credential/i);
    expect(await result.locator("#test-hint").textContent()).toMatch(/header/i);
    expect(await result.locator("#test-excerpt").textContent()).toContain("invalid credentials");
    await shot(page, "test-connection-401", "#test-result");
    expect(await seriousA11yViolations(page)).toEqual([]);
    // Nothing was saved: the export still points at VictoriaMetrics and is connected.
    expect((await exportsOf())[0]).toMatchObject({ endpoint: `${vm.url}/opentelemetry`, status: { state: "connected" } });
    await reload();
    expect(await page.getByLabel("OTLP endpoint").inputValue()).toBe(`${vm.url}/opentelemetry`);
  });

  it("a destination's HTML error body is shown as text, in the Test Connection result and in the status card after a scheduled push: no element is created, no script runs", async () => {
    const xssRan = () => page.evaluate(() => (window as unknown as { __xss?: number }).__xss);
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/xss`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    const result = page.getByRole("region", { name: "Test Connection result" });
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/HTTP 400/);
    expect(await result.locator("#test-excerpt").textContent()).toContain(XSS);
    expect(await page.locator("#test-result img, #test-result script").count()).toBe(0);

    // Saved: the scheduled push gets the same answer, and the status card shows it as the last error.
    await saveEndpoint(`${destination.url}/xss`);
    await postSamples(0);
    await expect.poll(() => page.locator("#error-message").textContent(), { timeout: CONNECTED_WITHIN_MS }).toContain(XSS);
    expect(await badge().textContent()).toMatch(/^Failing/);
    expect(await page.locator("#error-message").textContent()).toBe(`The endpoint answered HTTP 400: ${XSS}`);
    expect(await page.locator("#error-message *").count()).toBe(0);
    expect(await page.locator("img, script:not([src])").count()).toBe(0);

    await page.waitForTimeout(300);
    expect(await xssRan()).toBeUndefined();
    expect(watch.dialogs).toEqual([]);
    expect(watch.errors).toEqual([]);
    // Back to VictoriaMetrics for what follows.
    await saveEndpoint(`${vm.url}/opentelemetry`);
    await reload();
  });

  let webhookSecret = "";
  const hookEvents = () => destination.hooks.map((h) => JSON.parse(h.body) as { id: string; type: string; test: boolean; error: { classification: string } | null });
  it("Notifications: a JSON webhook added on the page gets a signed test event; its signing secret is shown once", async () => {
    await page.getByLabel("Webhook URL").fill(`${destination.url}/hook`);
    await page.getByLabel("Format").selectOption("json");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await expect.poll(() => page.locator("#notification-result").textContent()).toBe("Added Webhook.");
    webhookSecret = (await page.locator("#webhook-secret-value").textContent()) ?? "";
    expect(webhookSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    await page.getByRole("button", { name: "Send test to Webhook" }).click();
    await expect.poll(() => page.locator("#notification-result").textContent()).toBe("Test delivered to Webhook (HTTP 204).");
    expect(destination.hooks).toHaveLength(1);
    const [hook] = destination.hooks;
    expect(signatureValid(webhookSecret, hook!.signature, hook!.body)).toBe(true);
    expect(hookEvents()[0]).toMatchObject({ type: "export.paused", test: true });
    expect(hook!.idempotencyKey).toBe(hookEvents()[0]!.id);
    await expect.poll(() => page.locator("#notification-list").textContent()).toContain("Delivered export.paused just now (HTTP 204).");
    expect(await seriousA11yViolations(page)).toEqual([]);
    await reload();
    expect(await page.locator("#webhook-secret").isVisible()).toBe(false);
    expect(await page.content()).not.toContain(webhookSecret);
  });

  it("a destination that goes down: Failing without moving the form, Paused after 10 with the reason; the user fixes the endpoint on the page, Re-enable, Connected again", async () => {
    const savedAt = Date.now();
    await saveEndpoint(`${destination.url}/flaky`);
    await connectedWithinBound(savedAt);
    const formBox = await formPlace();

    // The platform goes down; the host keeps reporting, so the next push has something to send.
    destination.down = true;
    await postSamples(0);
    await expect.poll(() => badge().textContent(), { timeout: CONNECTED_WITHIN_MS }).toMatch(/^Failing \(\d+ failures?\)$/);
    expect(await page.locator("#error-title").textContent()).toBe("The destination failed (server error) (HTTP 503)");
    // The status card changed state on its own; the form the user may be editing did not move.
    expect(await formPlace()).toEqual(formBox);
    await shot(page, "status-failing", "#status-card");

    await expect.poll(() => badge().textContent(), { timeout: 60_000 }).toBe("Paused");
    expect(await formPlace()).toEqual(formBox);
    expect(await page.locator("#status-detail").textContent()).toMatch(/after 10 consecutive failed pushes.*Re-enable/);
    expect(await page.locator("#error-message").textContent()).toBe("The endpoint answered HTTP 503: upstream overloaded");
    expect(await page.locator("#error-hint").textContent()).toMatch(/internal error/);
    const flaky = () => destination.requests.filter((r) => r.path === "/flaky/v1/metrics" && r.status === 503).length;
    const failedPushes = flaky();
    expect(failedPushes).toBe(40); // 10 pushes × (1 attempt + 3 retries: 503 is retryable)
    expect(await page.getByRole("button", { name: "Send now" }).isVisible()).toBe(false);
    // The paused card as the user finds it: no message left over from an earlier action.
    expect(await page.locator("#action-result").textContent()).toBe("");
    await shot(page, "status-paused", "#status-card");
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.waitForTimeout(INTERVAL_S * 1000 + 500);
    expect(flaky(), "nothing is sent while paused").toBe(failedPushes);

    // The guide: "click Re-enable after fixing the issue". The user fixes it here, on the page: the
    // endpoint of a platform that works; Re-enable saves that fix and resumes with it.
    const okBefore = destination.requests.filter((r) => r.path === "/ok/v1/metrics").length;
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/ok`);
    const reEnabledAt = Date.now();
    await page.getByRole("button", { name: "Re-enable" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toMatch(/^Saved your changes and re-enabled export\./);
    await connectedWithinBound(reEnabledAt);
    expect(await page.getByRole("button", { name: "Re-enable" }).isVisible()).toBe(false);
    expect(await page.getByRole("button", { name: "Send now" }).isVisible()).toBe(true);
    expect((await exportsOf())[0]).toMatchObject({ endpoint: `${destination.url}/ok`, status: { state: "connected", consecutive_failures: 0 } });
    expect(destination.requests.filter((r) => r.path === "/ok/v1/metrics").length).toBeGreaterThan(okBefore);
    expect(flaky(), "nothing more to the failing endpoint").toBe(failedPushes);
    await reload();
    expect(await page.getByLabel("OTLP endpoint").inputValue()).toBe(`${destination.url}/ok`);

    // The webhook heard about it, out of band: failing once, paused once, and recovered once after the
    // fix saved on the page (a save clears the pause; whoever was told it broke is told it works again).
    await expect.poll(() => hookEvents().filter((e) => !e.test).map((e) => e.type), { timeout: 10_000 }).toEqual(["export.failing", "export.paused", "export.recovered"]);
    for (const h of destination.hooks) expect(signatureValid(webhookSecret, h.signature, h.body)).toBe(true);
    const paused = hookEvents().find((e) => e.type === "export.paused" && !e.test)!;
    expect(paused.error?.classification, JSON.stringify(paused)).toBe("server_error");
    const delivery = destination.hooks.find((h) => h.body.includes(paused.id))!;
    console.log(`captured export.paused delivery:\nX-Signature: ${delivery.signature}\nIdempotency-Key: ${delivery.idempotencyKey}\n${JSON.stringify(JSON.parse(delivery.body), null, 2)}`);
    await expect.poll(() => page.locator("#notification-list").textContent(), { timeout: 10_000 }).toContain("Delivered export.recovered");
    await shot(page, "notifications", "section:has(#notification-list)");
  });

  it("Export enabled off: nothing is sent and everything is kept; on again without retyping; Save Changes with a replaced header value; Delete", async () => {
    // Headers: an Authorization header on the /ok destination.
    await page.getByRole("radio", { name: "Custom" }).check();
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/ok`);
    await page.getByRole("button", { name: "Add Header" }).click();
    await page.getByLabel("Header name").last().fill("Authorization");
    await page.getByLabel("Header value").last().fill(SECRETS[0]!);
    const beforeHeader = destination.requests.length;
    await page.getByRole("button", { name: "Save Changes" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Changes saved");
    await postSamples(0);
    const withHeader = () => destination.requests.slice(beforeHeader).filter((r) => r.path === "/ok/v1/metrics");
    await expect.poll(() => withHeader().length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(withHeader().every((r) => r.authorization === SECRETS[0])).toBe(true);
    // The stored value reads "configured"; it is nowhere in the page.
    expect(await page.locator(".header-row .configured").allTextContents()).toEqual(["configured"]);
    expect(await page.content()).not.toContain(SECRETS[0]);

    const enabled = page.getByRole("switch", { name: "Export enabled" });
    expect(await enabled.isChecked()).toBe(true);
    // The switch is flipped while a status read (sent before, answering "enabled") is still on its
    // way: that late answer must not flip the switch back. The first read is held until the switch is
    // saved; reads after it wait until the check is done, so none can repair what the late one did.
    const exportRead = `${worker.url}/v1/projects/${projectId}/metrics-exports/*`;
    let release = () => {};
    let checked = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const afterCheck = new Promise<void>((resolve) => (checked = resolve));
    let reads = 0;
    const lateRead = new Promise<{ enabled: boolean }>((held) => {
      void page.route(exportRead, async (route) => {
        if (route.request().method() !== "GET") return route.fallback();
        if (++reads > 1) return afterCheck.then(() => route.fallback());
        const response = await route.fetch();
        held(await response.json());
        await released;
        await route.fulfill({ response });
      });
    });
    expect(await lateRead).toMatchObject({ enabled: true });
    await enabled.uncheck();
    await expect.poll(() => page.locator("#action-result").textContent()).toBe("Export disabled: nothing is sent; the configuration and headers are kept.");
    const lateAnswer = page.waitForResponse((r) => r.request().method() === "GET" && /\/metrics-exports\/[^/]+$/.test(new URL(r.url()).pathname));
    release();
    await lateAnswer;
    await page.waitForTimeout(300); // the page has read the late answer (and, before the fix, applied it)
    expect(await enabled.isChecked()).toBe(false);
    expect(await badge().textContent()).toBe("Disabled");
    checked();
    await page.unroute(exportRead);
    await page.waitForTimeout(1000); // a push already on its way may still land
    const sent = destination.requests.length;
    await page.waitForTimeout(INTERVAL_S * 2000 + 500);
    expect(destination.requests.length, "nothing is sent while disabled").toBe(sent);
    await reload();
    expect(await page.getByLabel("OTLP endpoint").inputValue()).toBe(`${destination.url}/ok`);
    expect(await page.locator(".header-row input[readonly]").inputValue()).toBe("Authorization");
    expect(await page.getByRole("switch", { name: "Export enabled" }).isChecked()).toBe(false);
    await page.getByRole("switch", { name: "Export enabled" }).check();
    await expect.poll(() => destination.requests.length, { timeout: 10_000 }).toBeGreaterThan(sent);
    await expect.poll(() => badge().textContent(), { timeout: 10_000 }).toBe("Connected");
    expect(destination.requests.slice(sent).every((r) => r.authorization === SECRETS[0])).toBe(true);

    // Rotate the credential: Replace, type the new value, Save Changes.
    await page.getByRole("button", { name: "Replace value of Authorization" }).click();
    await page.getByLabel("Header value").fill(SECRETS[1]!);
    await page.getByRole("button", { name: "Save Changes" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Changes saved");
    const rotated = destination.requests.length;
    await expect.poll(() => destination.requests.length, { timeout: 10_000 }).toBeGreaterThan(rotated + 1);
    expect(destination.requests.slice(rotated + 1).every((r) => r.authorization === SECRETS[1])).toBe(true);

    // Moving to another origin asks for the values again, and says why.
    await page.getByLabel("OTLP endpoint").fill(`${vm.url}/opentelemetry`);
    await page.getByLabel("OTLP endpoint").blur();
    await expect.poll(() => page.locator("#origin-notice").textContent()).toMatch(/only ever sent to the origin they were saved for/);
    await page.getByRole("button", { name: "Save Changes" }).click();
    await expect.poll(() => page.locator(".header-row .field-error").first().textContent()).toMatch(/enter the new value of Authorization/);
    expect((await exportsOf())[0].endpoint).toBe(`${destination.url}/ok`);
    await reload();

    await page.getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this export?" });
    expect(await dialog.isVisible()).toBe(true);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await exportsOf()).toHaveLength(1);
    await page.getByRole("button", { name: "Delete" }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => badge().textContent()).toBe("Not configured");
    expect(await exportsOf()).toEqual([]);
    expect(await page.getByRole("button", { name: "Save & Enable" }).isVisible()).toBe(true);
  });

  it("Grafana Cloud helper builds Authorization: Basic in the browser; Datadog's site picker fills the endpoint", async () => {
    await page.getByRole("radio", { name: "Datadog" }).check();
    await page.getByLabel("Datadog site").selectOption({ label: "EU (datadoghq.eu)" });
    expect(await page.getByLabel("OTLP endpoint").inputValue()).toBe("https://api.datadoghq.eu/api/v2/otlp");
    expect(await page.getByLabel("Header name").first().inputValue()).toBe("DD-API-KEY");

    await page.getByRole("radio", { name: "Grafana Cloud" }).check();
    expect(await page.getByRole("note").textContent()).toContain("MetricsPublisher");
    await page.getByLabel("Instance ID").fill("123456");
    await page.getByLabel("Token").fill(SECRETS[2]!);
    await page.getByRole("button", { name: "Use as Authorization header" }).click();
    const value = await page.getByLabel("Header value").first().inputValue();
    expect(value).toBe(`Basic ${Buffer.from(`123456:${SECRETS[2]}`).toString("base64")}`);
    expect(await page.getByLabel("Token").inputValue()).toBe("");
    // Saved and sent to a (local) destination: the header arrives exactly as the guide's command builds it.
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/ok`);
    await page.getByRole("button", { name: "Save & Enable" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Saved and enabled");
    await expect.poll(() => destination.requests.at(-1)?.authorization, { timeout: 10_000 }).toBe(value);
    expect(await page.content()).not.toContain(Buffer.from(`123456:${SECRETS[2]}`).toString("base64"));
  });

  it("errors appear next to the field that caused them", async () => {
    await page.getByRole("button", { name: "Add export" }).click();
    await page.getByRole("radio", { name: "Custom" }).check();
    await page.getByLabel("OTLP endpoint").fill("ftp://otlp.example.com");
    await page.getByRole("button", { name: "Save & Enable" }).click();
    const error = page.locator("#endpoint-error");
    await expect.poll(() => error.textContent()).toBe("The endpoint must use http or https, not ftp.");
    expect(await page.getByLabel("OTLP endpoint").getAttribute("aria-invalid")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("endpoint");
    expect(await exportsOf()).toHaveLength(1);
    await reload();
  });

  it("works keyboard-only: sign in, choose the destination, fill in, Save & Enable and Test Connection with Tab, arrows, Enter and Space", async () => {
    const keyboard = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const kWatch = watchContext(keyboard);
    const k = await keyboard.newPage();
    await k.goto(`${worker.url}/`);
    await tabTo(k, "#project-key");
    await k.keyboard.type(projectKey);
    await k.keyboard.press("Enter");
    await k.waitForURL(/\/integrations\/metrics-export$/);
    await expect.poll(() => k.locator("#status-badge").textContent()).not.toBe("Loading…");
    await tabTo(k, "#add-export");
    await k.keyboard.press("Enter");
    await expect.poll(() => k.locator("#status-badge").textContent()).toBe("Not configured");
    // The destination radios are one Tab stop; arrows choose (Grafana Cloud → Datadog → Prometheus).
    await tabTo(k, 'input[name="destination"]:checked');
    await k.keyboard.press("ArrowRight");
    await k.keyboard.press("ArrowRight");
    expect(await k.getByRole("radio", { name: "Prometheus" }).isChecked()).toBe(true);
    await tabTo(k, "#endpoint");
    await k.keyboard.type(`${destination.url}/ok`);
    await tabTo(k, "#add-header");
    await k.keyboard.press("Space");
    await k.keyboard.type("Authorization");
    await k.keyboard.press("Tab");
    await k.keyboard.type(SECRETS[3]!);
    await tabTo(k, "#export-name");
    await k.keyboard.type("Keyboard export");
    // Focus is visible where it is.
    expect(await k.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe("none");
    await tabTo(k, "#save");
    await k.keyboard.press("Enter");
    await expect.poll(() => k.locator("#action-result").textContent()).toContain('Saved and enabled "Keyboard export"');
    await tabTo(k, "#test-connection");
    await k.keyboard.press("Space");
    await expect.poll(() => k.locator("#test-outcome").textContent()).toMatch(/^Connection OK: HTTP 200/);
    const all = await exportsOf();
    expect(all.map((e) => e.name)).toContain("Keyboard export");
    expect(all.find((e) => e.name === "Keyboard export")).toMatchObject({ destination: "prometheus", endpoint: `${destination.url}/ok`, headers: [{ name: "Authorization" }] });
    expect(destination.requests.some((r) => r.authorization === SECRETS[3])).toBe(true);
    expect(kWatch.errors).toEqual([]);
    // What this context received never holds a header value typed here or anywhere.
    const kReceived = await everythingReceived(kWatch);
    expect(kWatch.responses.length).toBeGreaterThan(10);
    for (const secret of SECRETS) expect(kReceived).not.toContain(secret.replace(/^Bearer /, ""));
    expect(kReceived).not.toContain(projectKey);
    await keyboard.close();
  });

  it("works 360 px wide: nothing overflows sideways, every control reachable", async () => {
    const narrow = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const nWatch = watchContext(narrow);
    const n = await signIn(narrow, worker.url, projectKey);
    await expect.poll(() => n.locator("#status-badge").textContent()).not.toBe("Loading…");
    expect(await n.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    for (const name of ["Save Changes", "Test Connection", "Add Header", "Delete"]) {
      const box = await n.getByRole("button", { name, exact: true }).first().boundingBox();
      expect(box, name).not.toBeNull();
      expect(box!.x + box!.width, name).toBeLessThanOrEqual(360);
    }
    expect(await seriousA11yViolations(n)).toEqual([]);
    expect(nWatch.errors).toEqual([]);
    const nReceived = await everythingReceived(nWatch);
    expect(nWatch.responses.length).toBeGreaterThan(10);
    for (const secret of SECRETS) expect(nReceived).not.toContain(secret.replace(/^Bearer /, ""));
    expect(nReceived).not.toContain(projectKey);
    await narrow.close();
  });

  it("Recent changes shows who changed what, with header values only as replaced", async () => {
    await reload();
    const entries = await page.locator("#audit-list li").allTextContents();
    expect(entries.length).toBe(10);
    const all = entries.join("\n");
    expect(all).toContain('Key "browser test"');
    expect(all).toMatch(/created export "Keyboard export".*headers\.Authorization added/);
    for (const secret of SECRETS) expect(all).not.toContain(secret);
    const audit = await api("GET", `/v1/projects/${projectId}/audit?limit=100`, projectKey);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["export.created", "export.updated", "export.deleted", "notification.created", "key.created"]));
    // Re-enable with the fix typed in saved it: the save that cleared the pause is on record.
    expect(audit.body.entries.map((e: { outcome: string }) => e.outcome)).toContain("saved; failures and pause cleared");
    const rotation = audit.body.entries.find((e: { changes: { field: string; change?: string }[] }) => e.changes.some((c) => c.field === "headers.Authorization" && c.change === "value replaced"));
    expect(rotation).toBeDefined();
    for (const secret of SECRETS) expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it("never shows a stored header value: not in the page, not in any response (headers or body) the browser received", async () => {
    await reload();
    await expect.poll(() => badge().textContent()).not.toBe("Loading…");
    const content = await page.content();
    const bodies = await everythingReceived(watch);
    expect(watch.responses.length).toBeGreaterThan(20);
    for (const secret of SECRETS) {
      expect(content).not.toContain(secret);
      expect(bodies).not.toContain(secret);
      expect(bodies).not.toContain(secret.replace(/^Bearer /, ""));
    }
    expect(content).not.toContain(projectKey);
    expect(bodies).not.toContain(projectKey);
    expect(watch.errors).toEqual([]);
  });

  it("Sign out ends the session: the page and the API answer as signed out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${worker.url}/?signed-out`);
    expect(await page.getByRole("status").textContent()).toContain("You are signed out");
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${worker.url}/projects/${projectId}/integrations/metrics-export`);
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await seriousA11yViolations(page)).toEqual([]);
  });
});
