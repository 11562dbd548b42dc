/**
 * Several exports per project (issue 12): the collection routes, the singular routes acting on the
 * first export, isolation between exports, per-export filters, presets, adaptive splitting on 413
 * and the operator overview — against the test receiver over real HTTP.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { limitBodyBytes, newNamespace, receiverUrl, requestCount, requests, script } from "../receiver/client";
import { exportingProject, newHost, randomRuns, samplesBody, seededRandom, sumOf, waitForRequests, type Run } from "./fault-helpers";
import { call, createProject, createProjectKey, projectStub } from "./helpers";

const collection = (p: string) => `/v1/projects/${p}/metrics-exports`;
const singular = (p: string) => `/v1/projects/${p}/metrics-export`;
const AUTH = [{ name: "Authorization", value: "Bearer s3cret-token-value" }];

async function create(projectId: string, body: Record<string, unknown>) {
  return call("POST", collection(projectId), { body: { headers: AUTH, ...body } });
}

async function postRuns(projectId: string, runs: Run[]) {
  const host = await newHost();
  const r = await call("POST", "/v1/samples", { token: host.key, body: samplesBody(projectId, host, crypto.randomUUID(), runs) });
  expect(r.status).toBe(202);
  expect(r.body.rejected).toEqual([]);
}

async function storedRows(projectId: string) {
  return runInDurableObject(projectStub(projectId), (_i, state) => ({
    config: state.storage.sql.exec("SELECT * FROM export_config ORDER BY position").toArray(),
    headers: state.storage.sql.exec("SELECT export_id, name, hex(ciphertext) AS ct FROM export_headers ORDER BY export_id, position").toArray(),
    status: state.storage.sql.exec("SELECT * FROM export_status ORDER BY export_id").toArray(),
  }));
}

describe("the collection of exports", () => {
  it("creates, lists, reads, changes and deletes exports, each with its id and unique name", async () => {
    const projectId = await createProject();
    const a = await create(projectId, { name: "Grafana", endpoint: receiverUrl(newNamespace()), destination: "grafana_cloud" });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ export_id: "default", name: "Grafana", configured: true, destination: "grafana_cloud", headers: [{ name: "Authorization" }] });
    const b = await create(projectId, { endpoint: receiverUrl(newNamespace()), destination: "datadog", headers: [{ name: "DD-API-KEY", value: "dd-secret-value-1" }] });
    expect(b.status).toBe(201);
    expect(b.body.export_id).toMatch(/^e-[a-z2-7]{10}$/);
    expect(b.body).toMatchObject({ name: "datadog", temporality: "delta" });

    const list = await call("GET", collection(projectId));
    expect(list.status).toBe(200);
    expect(list.body.exports.map((e: any) => [e.export_id, e.name])).toEqual([
      ["default", "Grafana"],
      [b.body.export_id, "datadog"],
    ]);
    expect(JSON.stringify(list.body)).not.toContain("s3cret-token-value");
    expect(JSON.stringify(list.body)).not.toContain("dd-secret-value-1");

    const one = await call("GET", `${collection(projectId)}/${b.body.export_id}`);
    expect(one.body).toMatchObject({ export_id: b.body.export_id, destination: "datadog" });
    const patched = await call("PATCH", `${collection(projectId)}/${b.body.export_id}`, { body: { name: "Alerting", enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "Alerting", enabled: false, status: { state: "disabled" } });
    // The first export did not change.
    expect((await call("GET", singular(projectId))).body).toMatchObject({ export_id: "default", name: "Grafana", enabled: true });

    const taken = await call("PATCH", `${collection(projectId)}/${b.body.export_id}`, { body: { name: "grafana" } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("export_name_taken");

    expect((await call("DELETE", `${collection(projectId)}/${b.body.export_id}`)).status).toBe(204);
    expect((await call("GET", `${collection(projectId)}/${b.body.export_id}`)).body.error.code).toBe("export_not_found");
    const rows = await storedRows(projectId);
    expect(rows.config.map((r) => r.export_id)).toEqual(["default"]);
    expect(rows.headers.map((r) => r.export_id)).toEqual(["default"]);
    expect(rows.status.map((r) => r.export_id)).toEqual(["default"]);
  });

  it("allows at most 5 exports; a 6th is 409 export_limit_reached and changes nothing", async () => {
    const projectId = await createProject();
    for (let i = 0; i < 5; i++) expect((await create(projectId, { endpoint: receiverUrl(newNamespace()) })).status).toBe(201);
    const before = await storedRows(projectId);
    const sixth = await create(projectId, { endpoint: receiverUrl(newNamespace()) });
    expect(sixth.status).toBe(409);
    expect(sixth.body.error.code).toBe("export_limit_reached");
    expect(await storedRows(projectId)).toEqual(before);
    expect((await call("GET", collection(projectId))).body.exports.map((e: any) => e.name)).toEqual(["custom", "custom-2", "custom-3", "custom-4", "custom-5"]);
  });

  it("unknown or malformed export ids are 404 export_not_found on every route", async () => {
    const projectId = await createProject();
    await create(projectId, { endpoint: receiverUrl(newNamespace()) });
    for (const id of ["e-doesnotexist", "NOT_AN_ID", "x".repeat(80)]) {
      const base = `${collection(projectId)}/${id}`;
      for (const [method, path, body] of [
        ["GET", base, undefined],
        ["PUT", base, { endpoint: receiverUrl(newNamespace()) }],
        ["PATCH", base, { enabled: false }],
        ["DELETE", base, undefined],
        ["POST", `${base}/resume`, undefined],
        ["POST", `${base}/flush`, undefined],
        ["POST", `${base}/test`, undefined],
        ["GET", `${base}/preview`, undefined],
      ] as const) {
        const r = await call(method, path, body === undefined ? {} : { body });
        expect([r.status, r.body?.error?.code], `${method} ${path}`).toEqual([404, "export_not_found"]);
      }
    }
  });

  it("bad input on the collection is a 400 with a stable code and changes nothing", async () => {
    const projectId = await createProject();
    await create(projectId, { endpoint: receiverUrl(newNamespace()) });
    const before = await storedRows(projectId);
    for (const body of [
      { endpoint: receiverUrl(newNamespace()), name: "" },
      { endpoint: receiverUrl(newNamespace()), name: "x".repeat(65) },
      { endpoint: receiverUrl(newNamespace()), name: "bad\nname" },
      { endpoint: receiverUrl(newNamespace()), filters: { metrics: { include: ["cerebrium_nope"] } } },
      { endpoint: receiverUrl(newNamespace()), filters: { apps: { include: [] } } },
      { endpoint: receiverUrl(newNamespace()), filters: { unknown: true } },
      { endpoint: receiverUrl(newNamespace()), destination: "splunk" },
      { endpoint: "not a url" },
    ]) {
      const r = await create(projectId, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
    }
    expect(await storedRows(projectId)).toEqual(before);
  });

  it("a project key reaches only its own project's exports", async () => {
    const mine = await createProject();
    const theirs = await createProject();
    const key = (await createProjectKey(mine)).key;
    await create(theirs, { endpoint: receiverUrl(newNamespace()) });
    expect((await call("GET", collection(mine), { token: key })).status).toBe(200);
    for (const [method, path] of [
      ["GET", collection(theirs)],
      ["POST", collection(theirs)],
      ["GET", `${collection(theirs)}/default`],
      ["PATCH", `${collection(theirs)}/default`],
      ["DELETE", `${collection(theirs)}/default`],
      ["POST", `${collection(theirs)}/default/flush`],
    ] as const) {
      const r = await call(method, path, method === "GET" || method === "DELETE" ? { token: key } : { token: key, body: { enabled: false } });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    expect((await call("GET", collection(theirs), { token: "" })).status).toBe(401);
    expect((await call("GET", `${collection(theirs)}/default`)).body.enabled).toBe(true);
  });
});

describe("each export's credentials are its own", () => {
  it("an export's requests carry only its own headers; a value copied to another export's rows does not open", async () => {
    const projectId = await createProject();
    const nsA = newNamespace();
    const nsB = newNamespace();
    const a = await create(projectId, { endpoint: receiverUrl(nsA), headers: [{ name: "X-Secret", value: "only-for-export-a" }] });
    const b = await create(projectId, { endpoint: receiverUrl(nsB), headers: [{ name: "X-Secret", value: "only-for-export-b" }] });
    await postRuns(projectId, randomRuns(seededRandom(8), 2));
    for (const id of [a.body.export_id, b.body.export_id]) expect((await call("POST", `${collection(projectId)}/${id}/flush`)).body.ok).toBe(true);
    expect((await requests(nsA)).map((r) => r.headers["x-secret"])).toEqual(["only-for-export-a"]);
    expect((await requests(nsB)).map((r) => r.headers["x-secret"])).toEqual(["only-for-export-b"]);
    // Same project, same header name, same origin: only the export id differs in the additional data.
    await runInDurableObject(projectStub(projectId), (_i, state) => {
      const sql = state.storage.sql;
      const row = sql.exec<{ iv: ArrayBuffer; ciphertext: ArrayBuffer; key_version: string }>("SELECT iv, ciphertext, key_version FROM export_headers WHERE export_id = ?", a.body.export_id).one();
      sql.exec("UPDATE export_headers SET iv = ?, ciphertext = ?, key_version = ? WHERE export_id = ?", row.iv, row.ciphertext, row.key_version, b.body.export_id);
    });
    const flush = await call("POST", `${collection(projectId)}/${b.body.export_id}/flush`);
    expect(flush.body).toMatchObject({ ok: false, requests: 0, error: { classification: "credentials_unreadable" } });
    expect(await requestCount(nsB)).toBe(1);
    expect(JSON.stringify(flush.body)).not.toContain("only-for-export");
  });
});

describe("the singular routes act on the first export", () => {
  it("PUT creates the first export when none exists; GET, PATCH, flush and DELETE act on it while others exist", async () => {
    const projectId = await createProject();
    const first = newNamespace();
    const put = await call("PUT", singular(projectId), { body: { endpoint: receiverUrl(first), headers: AUTH } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ export_id: "default", configured: true });
    const second = newNamespace();
    await create(projectId, { endpoint: receiverUrl(second) });
    await postRuns(projectId, randomRuns(seededRandom(3), 4));
    expect((await call("POST", `${singular(projectId)}/flush`)).body.ok).toBe(true);
    expect(await requestCount(first)).toBe(1);
    expect(await requestCount(second)).toBe(0);
    expect((await call("DELETE", singular(projectId))).status).toBe(204);
    // The next export is now the first.
    expect((await call("GET", singular(projectId))).body.endpoint).toBe(receiverUrl(second));
  });

  it("state from before several exports loads as export \"default\" with its status and totals", async () => {
    const t = await exportingProject();
    await t.post(randomRuns(seededRandom(4), 3));
    expect((await t.flush()).body.ok).toBe(true);
    const list = await call("GET", collection(t.projectId));
    expect(list.body.exports).toHaveLength(1);
    expect(list.body.exports[0]).toMatchObject({ export_id: "default", status: { totals: { pushes_succeeded: 1 } } });
  });
});

describe("isolation", () => {
  it("a hanging export never delays another: B is delivered at once and exact while A times out, retries and pauses", async () => {
    const projectId = await createProject();
    const hanging = newNamespace();
    const healthy = newNamespace();
    await script(hanging, Array.from({ length: 60 }, () => ({ hang: true as const })));
    const a = await create(projectId, { name: "A", endpoint: receiverUrl(hanging) });
    const b = await create(projectId, { name: "B", endpoint: receiverUrl(healthy) });
    const runs = randomRuns(seededRandom(5), 30);
    await postRuns(projectId, runs);
    const stub = projectStub(projectId);
    const timings: number[] = [];
    for (let round = 1; round <= 10; round++) {
      await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("UPDATE export_status SET next_push_at = ?", Date.now() - 1));
      const started = Date.now();
      const alarm = runDurableObjectAlarm(stub);
      await waitForRequests(healthy, round, 3000);
      timings.push(Date.now() - started);
      await alarm;
      // A's push (4 attempts of 400 ms) is still running or done; B's is done.
      await waitForRequests(hanging, round * 4, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Each of B's pushes reached the receiver long before A's attempts (4 × 400 ms) could end.
    for (const t of timings) expect(t).toBeLessThan(1000);
    const delivered = await requests(healthy);
    expect(delivered).toHaveLength(10);
    const expected = sumOf([delivered[0]!]);
    for (const r of delivered) expect(sumOf([r])).toEqual(expected);
    const views = await call("GET", collection(projectId));
    const [va, vb] = views.body.exports;
    expect(va).toMatchObject({ export_id: a.body.export_id, status: { state: "paused", consecutive_failures: 10, last_error: { classification: "timeout" } } });
    expect(vb).toMatchObject({ export_id: b.body.export_id, status: { state: "connected", consecutive_failures: 0, totals: { pushes_succeeded: 10 } } });
    console.log(`isolation test: B's request reached its receiver ${timings.join(", ")} ms after each alarm while A's push took 4 × 400 ms timeouts`);
  }, 60_000);
});

describe("filters", () => {
  it("only the selected metrics, apps and regions are sent; the preview and per_push count what is sent", async () => {
    const projectId = await createProject();
    const ns = newNamespace();
    const created = await create(projectId, {
      endpoint: receiverUrl(ns),
      filters: { metrics: { exclude: ["cerebrium_run_execution_time_ms", "cerebrium_run_queue_time_ms", "cerebrium_run_coldstart_time_ms", "cerebrium_run_response_time_ms"] }, apps: { include: ["app-*"] }, regions: { exclude: ["eu-*"] } },
    });
    expect(created.status).toBe(201);
    await postRuns(projectId, [
      { app: "app-a", region: "us-east-1", execution_ms: 5, queue_ms: 1, response_ms: 7, success: true },
      { app: "app-a", region: "eu-west-1", execution_ms: 5, queue_ms: 1, response_ms: 7, success: true },
      { app: "other", region: "us-east-1", execution_ms: 5, queue_ms: 1, response_ms: 7, success: false },
    ] as Run[]);
    const view = await call("GET", `${collection(projectId)}/default`);
    expect(view.body.per_push).toEqual({ series: 1, data_points: 3 });
    const pv = await call("GET", `${collection(projectId)}/default/preview`);
    expect(pv.body).toMatchObject({ series: 1, data_points: 3 });
    expect((await call("POST", `${collection(projectId)}/default/flush`)).body).toMatchObject({ ok: true, data_points: 3 });
    const [r] = await requests(ns);
    const names = new Set<string>();
    const apps = new Set<string>();
    for (const rm of (r!.body as any).resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) names.add(m.name);
    for (const rm of (r!.body as any).resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) for (const p of m.sum?.dataPoints ?? []) apps.add(p.attributes.find((a: any) => a.key === "app_name").value.stringValue + "/" + p.attributes.find((a: any) => a.key === "region").value.stringValue);
    expect([...names].sort()).toEqual(["cerebrium_run_errors_total", "cerebrium_run_successes_total", "cerebrium_run_total"]);
    expect([...apps]).toEqual(["app-a/us-east-1"]);
  });

  it("delta: a series filtered out and back in is sent once, with everything since its last delivered push", async () => {
    const projectId = await createProject();
    const ns = newNamespace();
    await create(projectId, { endpoint: receiverUrl(ns), temporality: "delta" });
    const path = `${collection(projectId)}/default`;
    const run = { app: "app-a", region: "us-east-1", execution_ms: 5, queue_ms: 1, response_ms: 7, success: true } as Run;
    await postRuns(projectId, [run]);
    expect((await call("POST", `${path}/flush`)).body.ok).toBe(true);
    await call("PATCH", path, { body: { filters: { apps: { exclude: ["app-a"] } } } });
    await postRuns(projectId, [run, run]);
    expect((await call("POST", `${path}/flush`)).body).toMatchObject({ ok: true, requests: 0 });
    await call("PATCH", path, { body: { filters: null } });
    await postRuns(projectId, [run]);
    expect((await call("POST", `${path}/flush`)).body.ok).toBe(true);
    const totals = sumOf(await requests(ns));
    expect(Object.values(totals).reduce((n, s) => n + s.runs, 0)).toBe(4);
  });
});

describe("presets", () => {
  it("honeycomb needs x-honeycomb-team and x-honeycomb-dataset; new_relic needs api-key and defaults to delta", async () => {
    const projectId = await createProject();
    const missing = await call("POST", collection(projectId), {
      body: { endpoint: receiverUrl(newNamespace()), destination: "honeycomb", headers: [{ name: "x-honeycomb-team", value: "hc-key-123" }] },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("header_required");
    expect(missing.body.error.message).toContain("x-honeycomb-dataset");
    expect(missing.body.error.message).toContain("unknown_metrics");
    expect(missing.body.error.message).not.toContain("hc-key-123");
    expect((await call("GET", collection(projectId))).body.exports).toEqual([]);
    const hc = await call("POST", collection(projectId), {
      body: { endpoint: receiverUrl(newNamespace()), destination: "honeycomb", headers: [{ name: "X-Honeycomb-Team", value: "hc-key-123" }, { name: "x-honeycomb-dataset", value: "gpu" }] },
    });
    expect(hc.status).toBe(201);
    const nr = await call("POST", collection(projectId), { body: { endpoint: receiverUrl(newNamespace()), destination: "new_relic" } });
    expect([nr.status, nr.body.error?.code]).toEqual([400, "header_required"]);
    const nr2 = await call("POST", collection(projectId), { body: { endpoint: receiverUrl(newNamespace()), destination: "new_relic", headers: [{ name: "api-key", value: "nr-license-1" }] } });
    expect(nr2.status).toBe(201);
    expect(nr2.body).toMatchObject({ destination: "new_relic", temporality: "delta" });
    const test = await call("POST", `${collection(projectId)}/${nr2.body.export_id}/test`, { body: { destination: "honeycomb" } });
    expect([test.status, test.body.error?.code]).toEqual([400, "header_required"]);
  });
});

describe("adaptive splitting on 413", () => {
  it("halves what a 200,000-byte receiver refuses, sends every series exactly once, and remembers the size", async () => {
    const t = await exportingProject({ compression: "none" });
    await limitBodyBytes(t.ns, 200_000);
    const runs: Run[] = [];
    for (let i = 0; i < 400; i++) runs.push({ app: `app-${i}`, region: "us-east-1", execution_ms: 5, queue_ms: 1, response_ms: 7, success: true } as Run);
    for (let i = 0; i < 400; i += 100) expect((await t.post(runs.slice(i, i + 100))).status).toBe(202);
    const flush = await t.flush();
    expect(flush.body.ok).toBe(true);
    const all = await requests(t.ns);
    const accepted = all.filter((r) => r.uncompressedBytes <= 200_000);
    const refused = all.filter((r) => r.uncompressedBytes > 200_000);
    expect(refused.length).toBeGreaterThan(0);
    expect(sumOf(accepted)).toEqual(t.ledger.totals);
    const view = await t.exportView();
    expect(view.body_limit_bytes).toBeGreaterThan(0);
    expect(view.body_limit_bytes).toBeLessThanOrEqual(200_000);
    // The next push plans with the size learnt: no 413 at all.
    const before = all.length;
    await t.post(runs.slice(0, 10));
    expect((await t.flush()).body.ok).toBe(true);
    const next = (await requests(t.ns)).slice(before);
    expect(next.every((r) => r.uncompressedBytes <= 200_000)).toBe(true);
    console.log(`413 test: first push ${all.length} requests (${refused.length} refused: ${refused.map((r) => r.uncompressedBytes).join(", ")} bytes; accepted ${accepted.map((r) => r.uncompressedBytes).join(", ")} bytes); learnt limit ${view.body_limit_bytes}; next push ${next.length} requests`);
  });

  it("a single series larger than the limit fails the push with payload_too_large", async () => {
    const t = await exportingProject({ compression: "none" });
    await limitBodyBytes(t.ns, 500);
    await t.post(randomRuns(seededRandom(6), 3));
    const flush = await t.flush();
    expect(flush.body).toMatchObject({ ok: false, error: { http_status: 413, classification: "payload_too_large" } });
  });
});

describe("the operator overview", () => {
  it("lists an export once it pauses, from D1, with its last error's classification", { timeout: 20_000 }, async () => {
    const projectId = await createProject();
    const ns = newNamespace();
    await script(ns, Array.from({ length: 10 }, () => ({ status: 401 })));
    const created = await create(projectId, { name: "Broken", endpoint: receiverUrl(ns) });
    await postRuns(projectId, randomRuns(seededRandom(7), 2));
    for (let i = 0; i < 10; i++) await call("POST", `${collection(projectId)}/${created.body.export_id}/flush`);
    const paused = await call("GET", "/v1/admin/exports?state=paused&limit=500");
    expect(paused.status).toBe(200);
    const mine = paused.body.exports.filter((e: any) => e.project_id === projectId);
    expect(mine).toEqual([
      expect.objectContaining({ export_id: created.body.export_id, name: "Broken", state: "paused", consecutive_failures: 10, last_error: expect.objectContaining({ classification: "unauthorized" }) }),
    ]);
    const row = await env.DB.prepare("SELECT state FROM export_states WHERE project_id = ?").bind(projectId).first();
    expect(row).toEqual({ state: "paused" });
    expect((await call("DELETE", `${collection(projectId)}/${created.body.export_id}`)).status).toBe(204);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM export_states WHERE project_id = ?").bind(projectId).first()).toEqual({ n: 0 });
  });
});
