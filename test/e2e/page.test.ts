/**
 * The Metrics Export page in a real Chromium (issue 13), against the real worker under `wrangler dev`
 * and a real VictoriaMetrics, driven as the product guide's user drives it: sign in, choose the
 * destination, paste the endpoint, Save & Enable, watch Connected, copy the guide's queries, Test
 * Connection against wrong paths and refused credentials, a destination that fails until export
 * pauses, Re-enable, the Export enabled switch, Save Changes with a replaced header, Delete.
 *
 * A small Node server stands in for destinations that misbehave (404, 401, 500, an HTML error body).
 * With SCREENSHOTS=1 (`npm run screenshots`) the main states are written to docs/images/.
 */
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumBin, launchChromium, seriousA11yViolations, signIn, skipWithoutChromium, watchPage, type PageWatch } from "./browser";
import { api as harnessApi, skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

const INTERVAL_S = 2;
const SCREENSHOTS = process.env.SCREENSHOTS === "1";
const IMAGES = path.resolve(import.meta.dirname, "../../docs/images");
const XSS = `<img src=x onerror="window.__xss=1;alert('xss')"><script>window.__xss=2</script>`;
/** Every header value typed into the page: none may come back in a page or any response. */
const SECRETS = ["Bearer first-secret-0f9c2b", "Bearer second-secret-77ad41", "glc_token_secret_5e1d", "Bearer keyboard-secret-a41c"];

/** A destination whose answer each test chooses by path: /ok, /unauthorized, /fail (503 until fixed), /xss (400 with HTML). */
interface Destination {
  url: string;
  requests: { path: string; authorization: string | undefined }[];
  /** POSTs to /hook (notification webhooks): raw body and the signature and idempotency headers. */
  hooks: { body: string; signature: string | undefined; idempotencyKey: string | undefined }[];
  fixed: boolean;
  close(): Promise<void>;
}

async function startDestination(): Promise<Destination> {
  const d: Destination = { url: "", requests: [], hooks: [], fixed: false, close: async () => {} };
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
      d.requests.push({ path: p, authorization: req.headers.authorization });
      if (p === "/ok/v1/metrics" || (p === "/fail/v1/metrics" && d.fixed)) {
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } else if (p === "/unauthorized/v1/metrics") {
        res.writeHead(401, { "content-type": "text/plain" }).end("invalid credentials");
      } else if (p === "/fail/v1/metrics") {
        res.writeHead(503, { "content-type": "text/plain" }).end("upstream overloaded");
      } else if (p === "/xss/v1/metrics") {
        res.writeHead(400, { "content-type": "text/html" }).end(XSS);
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("no such path");
      }
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

  async function postSamples(cpu: number, runs: number): Promise<void> {
    const now = Date.now();
    const samples: Record<string, unknown>[] = [
      {
        type: "resource",
        project_id: projectId,
        app_name: "my-model",
        region: "us-east-1",
        time: now,
        cpu_cores: cpu,
        memory_bytes: 17179869184,
        gpu_memory_bytes: 42949672960,
        gpu_compute_percent: 87.5,
        gpu_count: 1,
        containers_running: 3,
        containers_ready: 2,
      },
    ];
    for (let i = 0; i < runs; i++) {
      samples.push({
        type: "run",
        project_id: projectId,
        app_name: "my-model",
        region: "us-east-1",
        time: now,
        execution_ms: 100 + i,
        queue_ms: 3,
        response_ms: 110 + i,
        coldstart_ms: 2400,
        success: i % 4 !== 0,
      });
    }
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
    page = await signIn(context, worker.url, projectKey);
    watch = watchPage(page);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([worker?.stop(), vm?.stop(), destination?.close()]);
  });

  it("signs in with an HttpOnly, SameSite=Strict session cookie; the page carries the CSP and security headers", async () => {
    expect(chromiumBin()).toBeDefined();
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "cmx_session", httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookies[0]!.value).not.toContain(projectKey.slice(7));
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const response = await page.reload();
    await page.locator('#status-badge:not([data-state="loading"])').waitFor();
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    const script = await page.request.get(`${worker.url}/assets/page/main.js`);
    expect(script.status()).toBe(200);
    expect(script.headers()["content-type"]).toMatch(/javascript/);
    expect(script.headers()["x-content-type-options"]).toBe("nosniff");
    await expect.poll(() => badge().textContent()).toBe("Not configured");
    expect(await page.getByRole("button", { name: "Save & Enable" }).isVisible()).toBe(true);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("Prometheus → VictoriaMetrics: Save & Enable, samples arrive, Connected with the last export time; the page's queries return the posted values", async () => {
    await page.getByRole("radio", { name: "Prometheus" }).check();
    await expect.poll(() => page.getByRole("region", { name: "Setting up Prometheus" }).isVisible()).toBe(true);
    expect(await page.locator("#endpoint-example").textContent()).toBe("http://YOUR_PROMETHEUS_HOST:4318");
    await page.getByLabel("OTLP endpoint").fill(`${vm.url}/opentelemetry`);
    await page.getByRole("button", { name: "Save & Enable" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Saved and enabled");
    expect(await page.getByRole("button", { name: "Save Changes" }).isVisible()).toBe(true);
    await postSamples(3.25, 8);
    await expect.poll(() => badge().textContent(), { timeout: 20_000 }).toBe("Connected");
    await expect.poll(() => page.locator("#status-detail").textContent()).toMatch(/^Last successful export (just now|\d+ s ago)/);
    await expect.poll(() => page.locator("#total-points").textContent(), { timeout: 10_000 }).not.toBe("0");
    // A second round of runs, pushed with Send now: rate() over the window sees two points per series.
    await postSamples(3.25, 8);
    await page.getByRole("button", { name: "Send now" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toMatch(/^Sent [\d,]+ data points/);
    await expect.poll(() => page.locator("#preview-summary").textContent(), { timeout: 10_000 }).toMatch(/^Each push carries 1 series/);
    await shot(page, "page-connected");

    // The layout does not move while the status refreshes (same state, new "… s ago").
    const before = await page.locator("#export-form").boundingBox();
    await page.waitForTimeout(5500);
    expect(await page.locator("#export-form").boundingBox()).toEqual(before);

    const queries = await page.locator("#query-list code").allTextContents();
    // Resource gauges follow the hosts' latest reports, fresh for two intervals (4 s here), and a
    // push reaches VictoriaMetrics' queries a moment after it is accepted: the host reports again, a
    // push follows, and the query is repeated until that push is visible.
    const gauge = async (prefix: string) => {
      await postSamples(3.25, 0);
      expect((await api("POST", `/v1/projects/${projectId}/metrics-export/flush`, projectKey)).status).toBe(200);
      const values = (await vm.query(queries.find((q) => q.startsWith(prefix))!)).map((s) => Number(s.value[1]));
      return values;
    };
    await expect.poll(() => gauge("cerebrium_cpu_utilization_cores"), { timeout: 20_000 }).toEqual([3.25]);
    await expect.poll(() => gauge("cerebrium_containers_running_count"), { timeout: 20_000 }).toEqual([3]);
    const running = await vm.query(queries.find((q) => q.startsWith("cerebrium_containers_running_count"))!);
    expect(queries).toContain(`cerebrium_cpu_utilization_cores{project_id="${projectId}"}`);
    expect(queries.length).toBeGreaterThanOrEqual(9);
    for (const query of queries) {
      const result = await vm.query(query);
      expect(result.length, query).toBeGreaterThan(0);
      for (const series of result) expect(Number.isFinite(Number(series.value[1])), query).toBe(true);
    }
    expect(running[0]!.metric).toMatchObject({ project_id: projectId, app_name: "my-model", region: "us-east-1", app_id: `${projectId}-my-model` });
    const total = await vm.query(`cerebrium_run_total{project_id="${projectId}"}`);
    expect(total.map((s) => Number(s.value[1]))).toEqual([16]);
    // The copy button puts the query itself on the clipboard.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
    await page.getByRole("button", { name: "Copy query: CPU usage by app" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`cerebrium_cpu_utilization_cores{project_id="${projectId}"}`);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("Test Connection explains a wrong path (404) and refused credentials (401), in place, without saving", async () => {
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/wrong`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    const result = page.getByRole("region", { name: "Test Connection result" });
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/^Not found: the OTLP endpoint URL is incorrect \(HTTP 404\)/);
    expect(await result.locator("#test-url").textContent()).toBe(`POST ${destination.url}/wrong/v1/metrics`);
    expect(await result.locator("#test-hint").textContent()).toMatch(/URL|path|endpoint/i);

    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/unauthorized`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/^Unauthorized.*\(HTTP 401\)/);
    expect(await result.locator("#test-hint").textContent()).toMatch(/credential|header|token|key/i);
    expect(await result.locator("#test-excerpt").textContent()).toContain("invalid credentials");
    await shot(page, "test-connection-401", "#test-result");
    expect(await seriousA11yViolations(page)).toEqual([]);
    // Nothing was saved: the export still points at VictoriaMetrics and is connected.
    expect((await exportsOf())[0]).toMatchObject({ endpoint: `${vm.url}/opentelemetry`, status: { state: "connected" } });
    await reload();
    expect(await page.getByLabel("OTLP endpoint").inputValue()).toBe(`${vm.url}/opentelemetry`);
  });

  it("a destination's HTML error body is shown as text: no element is created and no script runs", async () => {
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/xss`);
    await page.getByRole("button", { name: "Test Connection" }).click();
    const result = page.getByRole("region", { name: "Test Connection result" });
    await expect.poll(() => result.locator("#test-outcome").textContent()).toMatch(/HTTP 400/);
    const excerpt = await result.locator("#test-excerpt").textContent();
    expect(excerpt).toContain("<img src=x onerror=");
    expect(await page.locator("#test-result img, #test-result script").count()).toBe(0);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(watch.dialogs).toEqual([]);
    expect(watch.errors).toEqual([]);
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

  it("a destination that fails every push: Failing, then Paused after 10 with the reason; fixed, Re-enable, Connected again", async () => {
    await saveEndpoint(`${destination.url}/fail`);
    await expect.poll(() => badge().textContent(), { timeout: 15_000 }).toMatch(/^Failing \(\d+ failures?\)$/);
    expect(await page.locator("#error-title").textContent()).toBe("The destination failed (server error) (HTTP 503)");
    await shot(page, "status-failing", "#status-card");
    await expect.poll(() => badge().textContent(), { timeout: 60_000 }).toBe("Paused");
    expect(await page.locator("#status-detail").textContent()).toMatch(/after 10 consecutive failed pushes.*Re-enable/);
    expect(await page.locator("#error-message").textContent()).not.toBe("");
    expect(await page.locator("#error-hint").textContent()).not.toBe("");
    const failedPushes = destination.requests.filter((r) => r.path === "/fail/v1/metrics").length;
    expect(failedPushes).toBe(40); // 10 pushes × (1 attempt + 3 retries: 503 is retryable)
    expect(await page.getByRole("button", { name: "Send now" }).isVisible()).toBe(false);
    await shot(page, "status-paused", "#status-card");
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.waitForTimeout(INTERVAL_S * 1000 + 500);
    expect(destination.requests.filter((r) => r.path === "/fail/v1/metrics").length, "nothing is sent while paused").toBe(failedPushes);

    destination.fixed = true;
    await page.getByRole("button", { name: "Re-enable" }).click();
    await expect.poll(() => badge().textContent(), { timeout: 15_000 }).toBe("Connected");
    expect(await page.getByRole("button", { name: "Re-enable" }).isVisible()).toBe(false);
    expect(destination.requests.filter((r) => r.path === "/fail/v1/metrics").length).toBeGreaterThan(failedPushes);

    // The webhook heard about it, out of band: failing once, paused once, recovered once, each signed.
    await expect.poll(() => hookEvents().filter((e) => !e.test).map((e) => e.type), { timeout: 10_000 }).toEqual(["export.failing", "export.paused", "export.recovered"]);
    for (const h of destination.hooks) expect(signatureValid(webhookSecret, h.signature, h.body)).toBe(true);
    const paused = hookEvents().find((e) => e.type === "export.paused" && !e.test)!;
    expect(paused.error?.classification, JSON.stringify(paused)).toBe("server_error");
    const delivery = destination.hooks.find((h) => h.body.includes(paused.id))!;
    console.log(`captured export.paused delivery:\nX-Signature: ${delivery.signature}\nIdempotency-Key: ${delivery.idempotencyKey}\n${JSON.stringify(JSON.parse(delivery.body), null, 2)}`);
    await shot(page, "notifications", "section:has(#notification-list)");
    await expect.poll(() => page.locator("#notification-list").textContent(), { timeout: 10_000 }).toContain("Delivered export.recovered");
  });

  it("Export enabled off: nothing is sent and everything is kept; on again without retyping; Save Changes with a replaced header value; Delete", async () => {
    // Headers: an Authorization header on the /ok destination.
    await page.getByRole("radio", { name: "Custom" }).check();
    await page.getByLabel("OTLP endpoint").fill(`${destination.url}/ok`);
    await page.getByRole("button", { name: "Add Header" }).click();
    await page.getByLabel("Header name").last().fill("Authorization");
    await page.getByLabel("Header value").last().fill(SECRETS[0]!);
    await page.getByRole("button", { name: "Save Changes" }).click();
    await expect.poll(() => page.locator("#action-result").textContent()).toContain("Changes saved");
    await expect.poll(() => destination.requests.filter((r) => r.path === "/ok/v1/metrics").length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(destination.requests.filter((r) => r.path === "/ok/v1/metrics").every((r) => r.authorization === SECRETS[0])).toBe(true);
    // The stored value reads "configured"; it is nowhere in the page.
    expect(await page.locator(".header-row .configured").allTextContents()).toEqual(["configured"]);
    expect(await page.content()).not.toContain(SECRETS[0]);

    const enabled = page.getByRole("switch", { name: "Export enabled" });
    expect(await enabled.isChecked()).toBe(true);
    await enabled.uncheck();
    await expect.poll(() => badge().textContent()).toBe("Disabled");
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
    const k = await keyboard.newPage();
    const kWatch = watchPage(k);
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
    await keyboard.close();
  });

  it("works 360 px wide: nothing overflows sideways, every control reachable", async () => {
    const narrow = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const n = await signIn(narrow, worker.url, projectKey);
    await expect.poll(() => n.locator("#status-badge").textContent()).not.toBe("Loading…");
    expect(await n.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    for (const name of ["Save Changes", "Test Connection", "Add Header", "Delete"]) {
      const box = await n.getByRole("button", { name, exact: true }).first().boundingBox();
      expect(box, name).not.toBeNull();
      expect(box!.x + box!.width, name).toBeLessThanOrEqual(360);
    }
    expect(await seriousA11yViolations(n)).toEqual([]);
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
    expect(actions).toEqual(expect.arrayContaining(["export.created", "export.updated", "export.resumed", "export.deleted", "notification.created", "key.created"]));
    const rotation = audit.body.entries.find((e: { changes: { field: string; change?: string }[] }) => e.changes.some((c) => c.field === "headers.Authorization" && c.change === "value replaced"));
    expect(rotation).toBeDefined();
    for (const secret of SECRETS) expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it("never shows a stored header value: not in the page, not in any response the page received", async () => {
    await reload();
    await expect.poll(() => badge().textContent()).not.toBe("Loading…");
    const content = await page.content();
    const bodies = watch.responses.map((r) => r.body).join("\n");
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
