/**
 * The ready-made Grafana dashboard (dashboards/grafana-metrics-export.json, issue 13 item 8): shaped the way
 * Grafana's import expects, and every panel's query, with its variables filled in as Grafana would, returns
 * data from a real VictoriaMetrics after real pushes by the worker under wrangler.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api as harnessApi, createProjectClearOfSchedule, skipWithoutVictoriaMetrics, startVictoriaMetrics, startWorker, type VictoriaMetrics, type Worker } from "./harness";

const DASHBOARD_FILE = path.join(import.meta.dirname, "..", "..", "dashboards", "grafana-metrics-export.json");
const DATASOURCE = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
const UNITS = ["ms", "bytes", "percent", "short", "reqps"];
const APPS = ["my-model", "other-app"];
const REGIONS = ["eu-west-1", "us-east-1"];
/** What the test gives Grafana's interval variables: the guide's `[5m]`. */
const INTERVALS = { __rate_interval: "5m", __interval: "5m", __range: "5m" };

interface Target {
  refId: string;
  expr: string;
  datasource?: unknown;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: unknown;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string } };
}
interface Variable {
  name: string;
  type: string;
  datasource?: unknown;
  definition: string;
  query: { query: string } | string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  __requires: { type: string; id: string; version: string }[];
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;
/** Every panel, including those inside (collapsed) rows. */
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== "row");
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/** Grafana's `$name` and `${name}` interpolation; an unknown variable is an error, not left in the query. */
function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const value = values[(braced ?? bare)!];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${text}`);
    return value;
  });
}

const variableQuery = (v: Variable) => (typeof v.query === "string" ? v.query : v.query.query);

describe("the Grafana dashboard's shape", () => {
  it("is importable: a Prometheus data-source input, its requirements, Grafana 10+ schema", () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" })]);
    expect(dashboard.__requires).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "grafana", id: "grafana", version: expect.stringMatching(/^1\d\./) }),
        expect.objectContaining({ type: "datasource", id: "prometheus" }),
      ]),
    );
    const required = dashboard.__requires.filter((r) => r.type === "panel").map((r) => r.id);
    for (const p of queryPanels) expect(required, `__requires lists panel type ${p.type}`).toContain(p.type);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).not.toBe("");
  });

  it("has the project_id, app_name and region variables from label_values, app and region chained on the project", () => {
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(["project_id", "app_name", "region"]));
    for (const v of byName.values()) {
      expect(v).toMatchObject({ type: "query", datasource: DATASOURCE });
      expect(variableQuery(v)).toBe(v.definition);
    }
    expect(variableQuery(byName.get("project_id")!)).toBe("label_values(cerebrium_run_total, project_id)");
    expect(byName.get("project_id")!.multi).toBe(false);
    for (const name of ["app_name", "region"]) {
      const v = byName.get(name)!;
      expect(variableQuery(v)).toMatch(new RegExp(`^label_values\\(cerebrium_run_total\\{project_id="\\$project_id"[^}]*\\}, ${name}\\)$`));
      expect(v).toMatchObject({ multi: true, includeAll: true, allValue: ".*" });
    }
  });

  it("every panel has a unique id, a title and a place on the grid; every query panel the DS_PROMETHEUS data source and a unit", () => {
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of allPanels) {
      expect(Number.isInteger(p.id), `${p.title}: id`).toBe(true);
      expect(p.title.trim(), `panel ${p.id}: title`).not.toBe("");
      const { x, y, w, h } = p.gridPos;
      expect([x, y, w, h].every(Number.isInteger), `${p.title}: gridPos`).toBe(true);
      expect(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= 24, `${p.title}: gridPos inside 24 columns`).toBe(true);
    }
    for (const [i, a] of allPanels.entries()) {
      for (const b of allPanels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `"${a.title}" and "${b.title}" overlap`).toBe(false);
      }
    }
    for (const p of queryPanels) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(UNITS, `${p.title}: unit`).toContain(p.fieldConfig?.defaults?.unit);
      expect(p.targets?.length, `${p.title}: targets`).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${p.title}: refIds`).toBe(refIds.length);
      for (const t of p.targets!) if (t.datasource !== undefined) expect(t.datasource, `${p.title} ${t.refId}`).toEqual(DATASOURCE);
    }
  });

  it("every selector of every query is scoped to $project_id and filtered by $app_name and $region", () => {
    for (const t of targets) {
      const selectors = [...t.expr.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
      expect(selectors.length, `${t.panel} ${t.refId}`).toBeGreaterThan(0);
      for (const s of selectors) {
        expect(s, `${t.panel} ${t.refId}`).toContain('project_id="$project_id"');
        expect(s, `${t.panel} ${t.refId}`).toContain('app_name=~"$app_name"');
        expect(s, `${t.panel} ${t.refId}`).toContain('region=~"$region"');
      }
    }
  });

  it("has a panel for each of the product guide's example queries, latency percentiles, cold starts and scaling", () => {
    const exprs = targets.map((t) => t.expr.replace(/\s+/g, " "));
    const has = (pattern: RegExp) => expect(exprs.some((e) => pattern.test(e)), String(pattern)).toBe(true);
    has(/^cerebrium_cpu_utilization_cores\{/);
    has(/^cerebrium_memory_usage_bytes\{/);
    has(/^cerebrium_containers_running_count\{/);
    has(/^cerebrium_containers_ready_count\{/);
    has(/^cerebrium_gpu_memory_usage_bytes\{/);
    has(/^cerebrium_gpu_compute_utilization_percent\{/);
    has(/^rate\(cerebrium_run_total\{[^}]*\}\[\$__rate_interval\]\)$/);
    has(/^rate\(cerebrium_run_errors_total\{[^}]*\}\[\$__rate_interval\]\) \/ rate\(cerebrium_run_total\{[^}]*\}\[\$__rate_interval\]\) \* 100$/);
    has(/^rate\(cerebrium_run_coldstart_time_ms_milliseconds_sum\{.*\/ rate\(cerebrium_run_coldstart_time_ms_milliseconds_count\{/);
    has(/\{__name__=~"cerebrium_\.\*"/);
    for (const histogram of ["execution", "response"]) {
      for (const q of ["0.5", "0.9", "0.99"]) {
        has(new RegExp(`^histogram_quantile\\(${q.replace(".", "\\.")}, rate\\(cerebrium_run_${histogram}_time_ms_milliseconds_bucket\\{`));
      }
    }
  });
});

describe.skipIf(skipWithoutVictoriaMetrics())("every dashboard query against VictoriaMetrics after a push", () => {
  let vm: VictoriaMetrics;
  let worker: Worker;
  let projectId: string;
  let projectKey: string;
  /** Another project exporting to the same VictoriaMetrics: the dashboard must never show its series. */
  let otherProjectId: string;
  const hosts: { hostId: string; key: string }[] = [];

  const api = (method: string, route: string, token: string, body?: unknown) => harnessApi(worker, method, route, token, body);

  async function post(host: { hostId: string; key: string }, samples: Record<string, unknown>[]) {
    const r = await api("POST", "/v1/samples", host.key, { host_id: host.hostId, batch_id: crypto.randomUUID(), samples });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: samples.length, rejected: [] });
  }

  /** `perSeries` runs per host for every app × region; every series gets errors and cold starts. */
  async function postRuns(project: string, apps: string[], perSeries: number) {
    for (const [h, host] of hosts.entries()) {
      const samples: Record<string, unknown>[] = [];
      for (const [a, app] of apps.entries()) {
        for (const [r, region] of REGIONS.entries()) {
          for (let i = 0; i < perSeries; i++) {
            const execution = 40 + 173 * i + 61 * h + 29 * a + 11 * r;
            const queue = 2 + ((i * 7 + h) % 30);
            samples.push({
              type: "run",
              project_id: project,
              app_name: app,
              region,
              time: Date.now(),
              execution_ms: execution,
              queue_ms: queue,
              response_ms: execution + queue + 5,
              success: i % 3 !== 1,
              ...(i % 2 === 0 ? { coldstart_ms: 1500 + 250 * i + 100 * h } : {}),
            });
          }
        }
      }
      await post(host, samples);
    }
  }

  async function postResources(project: string, apps: string[]) {
    for (const [h, host] of hosts.entries()) {
      await post(
        host,
        apps.flatMap((app, a) =>
          REGIONS.map((region, r) => ({
            type: "resource",
            project_id: project,
            app_name: app,
            region,
            time: Date.now(),
            cpu_cores: 0.5 + h + a + r * 0.25,
            memory_bytes: (h + 1) * 1024 ** 3 + a * 1024 ** 2,
            gpu_memory_bytes: (20 + 4 * a) * 1024 ** 3,
            gpu_compute_percent: 40 + 10 * h + 5 * r,
            gpu_count: 1,
            containers_running: 2 + h + a,
            containers_ready: 1 + h + a,
          })),
        ),
      );
    }
  }

  async function flush(project: string, token: string) {
    const r = await api("POST", `/v1/projects/${project}/metrics-export/flush`, token);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, requests: 1 });
  }

  beforeAll(async () => {
    // An hour between scheduled pushes: only the flushes below push.
    [vm, worker] = await Promise.all([startVictoriaMetrics(), startWorker({ vars: { EXPORT_INTERVAL_SECONDS: "3600" } })]);
    projectId = await createProjectClearOfSchedule(worker, "dashboard", { intervalSeconds: 3600, clearMs: 10 * 60_000 });
    const key = await api("POST", `/v1/projects/${projectId}/keys`, worker.adminToken, {});
    expect(key.status).toBe(201);
    projectKey = key.body.key;
    otherProjectId = (await api("POST", "/v1/projects", worker.adminToken, { name: "other" })).body.project_id;
    for (const hostId of ["gpu-host-1", "gpu-host-2"]) {
      const created = await api("POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId });
      expect(created.status).toBe(201);
      hosts.push({ hostId, key: created.body.key });
    }
    const put = await api("PUT", `/v1/projects/${projectId}/metrics-export`, projectKey, {
      endpoint: `${vm.url}/opentelemetry`,
      destination: "prometheus",
    });
    expect(put.status).toBe(200);
    const otherPut = await api("PUT", `/v1/projects/${otherProjectId}/metrics-export`, worker.adminToken, {
      endpoint: `${vm.url}/opentelemetry`,
      destination: "prometheus",
    });
    expect(otherPut.status).toBe(200);

    await postResources(projectId, APPS);
    await postResources(otherProjectId, ["intruder"]);
    await postRuns(projectId, APPS, 3);
    await postRuns(otherProjectId, ["intruder"], 3);
    await Promise.all([flush(projectId, projectKey), flush(otherProjectId, worker.adminToken)]);
    // Two pushes over a second apart with runs between: rate() over the window has two samples per series.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await postRuns(projectId, APPS, 6);
    await postRuns(otherProjectId, ["intruder"], 6);
    await Promise.all([flush(projectId, projectKey), flush(otherProjectId, worker.adminToken)]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([worker?.stop(), vm?.stop()]);
  });

  it.each(targets)("$panel ($refId), all apps and regions: data for this project only", async ({ expr }) => {
    const promql = interpolate(expr, { project_id: projectId, app_name: ".*", region: ".*", ...INTERVALS });
    const result = await vm.query(promql);
    expect(result.length, promql).toBeGreaterThan(0);
    for (const r of result) expect(Number.isFinite(Number(r.value[1])), `${promql} → ${JSON.stringify(r)}`).toBe(true);
    for (const r of result) if (r.metric.project_id !== undefined) expect(r.metric.project_id).toBe(projectId);
    // A query that keeps the series labels shows every app × region posted.
    if (result.some((r) => r.metric.app_name !== undefined)) {
      const seen = new Set(result.map((r) => `${r.metric.app_name}|${r.metric.region}`));
      expect([...seen].sort(), promql).toEqual(APPS.flatMap((a) => REGIONS.map((r) => `${a}|${r}`)).sort());
    }
  });

  it.each(targets)("$panel ($refId), one app in one region: only that series", async ({ expr }) => {
    const promql = interpolate(expr, { project_id: projectId, app_name: "other-app", region: "eu-west-1", ...INTERVALS });
    const result = await vm.query(promql);
    expect(result.length, promql).toBeGreaterThan(0);
    for (const r of result) {
      expect(Number.isFinite(Number(r.value[1])), `${promql} → ${JSON.stringify(r)}`).toBe(true);
      if (r.metric.app_name !== undefined) expect(r.metric).toMatchObject({ project_id: projectId, app_name: "other-app", region: "eu-west-1" });
    }
  });

  it("the variables' label_values queries list the projects, then this project's apps and regions", async () => {
    const values = async (v: Variable) => {
      const match = /^label_values\((.+), (\w+)\)$/.exec(variableQuery(v));
      expect(match, variableQuery(v)).not.toBeNull();
      const selector = interpolate(match![1]!, { project_id: projectId, app_name: ".*", region: ".*" });
      // Waits until the series are queryable; label values are then complete.
      expect((await vm.query(selector)).length).toBeGreaterThan(0);
      const response = await fetch(`${vm.url}/api/v1/label/${match![2]}/values?${new URLSearchParams({ "match[]": selector })}`);
      const body = (await response.json()) as { status: string; data: string[] };
      expect(body.status).toBe("success");
      return body.data.sort();
    };
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(await values(byName.get("project_id")!)).toEqual([projectId, otherProjectId].sort());
    expect(await values(byName.get("app_name")!)).toEqual(APPS);
    expect(await values(byName.get("region")!)).toEqual(REGIONS);
  });
});
