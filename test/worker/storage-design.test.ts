/**
 * The storage design of issue 11 under its own crash points: a batch is one row, applied in memory
 * at once and compacted later; an object that dies before or during compaction, or between a push's
 * request and its outcome, loses and double-counts nothing. And state written by schema 3 loads
 * under schema 4 with counters, histograms, start times and delta baselines intact.
 */
import { abortAllDurableObjects, env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { requests, script } from "../receiver/client";
import { exportingProject, lastWriteWins, randomRuns, seededRandom, sumOf, totalsIn, waitForRequests, type Run } from "./fault-helpers";
import { call, createIngestKey, pointFor, preview, projectStub } from "./helpers";

const TEMPORALITIES = [
  ["cumulative", {}],
  ["delta", { destination: "datadog" }],
] as const;

async function housekeepNow(projectId: string): Promise<void> {
  await runInDurableObject(projectStub(projectId), (_i, state) => state.storage.setAlarm(Date.now()));
  expect(await runDurableObjectAlarm(projectStub(projectId))).toBe(true);
}

const stats = async (projectId: string) => (await call("GET", `/v1/projects/${projectId}/stats`)).body;

describe("a batch costs one row", () => {
  it("each accepted batch writes exactly one row however many series it touches; compaction writes each changed series once", async () => {
    const t = await exportingProject();
    const series = Array.from({ length: 40 }, (_, i) => ({ app: `app-${i}`, region: "r1" }));
    for (let b = 0; b < 3; b++) {
      const runs = series.flatMap((x) => randomRuns(seededRandom(b), 5, [x]));
      expect((await t.post(runs)).status).toBe(202);
      const s = await stats(t.projectId);
      expect(s.last_ingest).toMatchObject({ rows_written: 1, series_touched: 40 });
    }
    await housekeepNow(t.projectId);
    expect((await stats(t.projectId)).last_compaction).toMatchObject({ batches: 3, series: 40, hosts: 0 });
    // The next compaction, after two more batches: 40 series rows and the compaction mark (an
    // update now), nothing per batch.
    for (let b = 3; b < 5; b++) expect((await t.post(series.flatMap((x) => randomRuns(seededRandom(b), 2, [x])))).status).toBe(202);
    await housekeepNow(t.projectId);
    expect((await stats(t.projectId)).last_compaction).toMatchObject({ batches: 2, series: 40, hosts: 0, rows_written: 41 });
  });
});

describe("crash points", () => {
  for (const [temporality, config] of TEMPORALITIES) {
    it(`${temporality}: evicted after batches were logged but before compaction, the object folds them back in`, async () => {
      const t = await exportingProject(config);
      const random = seededRandom(21);
      expect((await t.post(randomRuns(random, 30))).status).toBe(202);
      expect((await t.flush()).body.ok).toBe(true);
      await housekeepNow(t.projectId); // what is before this is compacted
      for (let b = 0; b < 4; b++) expect((await t.post(randomRuns(random, 25))).status).toBe(202);
      const before = await preview(t.projectId);
      await evictDurableObject(projectStub(t.projectId));
      expect(totalsIn(await preview(t.projectId))).toEqual(totalsIn(before));
      expect((await t.flush()).body.ok).toBe(true);
      const all = await requests(t.ns);
      expect(temporality === "delta" ? lastWriteWins(all) : totalsIn(all.at(-1)!)).toEqual(t.ledger.totals);
    });
  }

  it("a compaction that fails halfway changes nothing stored; the batches are folded in at the next one", async () => {
    const t = await exportingProject();
    const random = seededRandom(22);
    for (let b = 0; b < 3; b++) expect((await t.post(randomRuns(random, 20))).status).toBe(202);
    const resource = { type: "resource", cpu_cores: 1, memory_bytes: 2, gpu_memory_bytes: 3, gpu_compute_percent: 4, gpu_count: 1, containers_running: 1, containers_ready: 1 };
    const r = await call("POST", "/v1/samples", {
      token: t.host.key,
      body: { host_id: t.host.hostId, batch_id: "with-report", samples: [{ ...resource, project_id: t.projectId, app_name: "my-model", region: "us-east-1", time: Date.now() }] },
    });
    expect(r.status).toBe(202);
    // Writing the host row is the compaction's second step: make it fail, as a crash would there.
    const dump = () =>
      runInDurableObject(projectStub(t.projectId), (_i, state) =>
        JSON.stringify(["aggregates", "host_states", "meta"].map((table) => state.storage.sql.exec(`SELECT * FROM ${table}`).toArray())),
      );
    await runInDurableObject(projectStub(t.projectId), (_i, state) =>
      state.storage.sql.exec("CREATE TRIGGER injected_fault BEFORE INSERT ON host_states BEGIN SELECT RAISE(ABORT, 'injected fault'); END"),
    );
    const before = await dump();
    await runInDurableObject(projectStub(t.projectId), (_i, state) => state.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(projectStub(t.projectId)).catch(() => undefined);
    expect(await dump()).toBe(before); // the series rows written before the failure were rolled back
    await runInDurableObject(projectStub(t.projectId), (_i, state) => state.storage.sql.exec("DROP TRIGGER injected_fault"));
    await evictDurableObject(projectStub(t.projectId));
    await housekeepNow(t.projectId);
    expect(await dump()).not.toBe(before);
    await evictDurableObject(projectStub(t.projectId));
    expect((await t.flush()).body.ok).toBe(true);
    expect(totalsIn((await requests(t.ns)).at(-1)!)).toEqual(t.ledger.totals);
    expect(pointFor(await preview(t.projectId), "cerebrium_cpu_utilization_cores", "my-model", "us-east-1")?.value).toBe(1);
  });

  it("cumulative: aborted between a push's request and its outcome, the next push carries the exact totals", async () => {
    const t = await exportingProject();
    const random = seededRandom(23);
    expect((await t.post(randomRuns(random, 20))).status).toBe(202);
    await script(t.ns, [{ hang: true }]);
    const flushing = t.flush().catch((err: unknown) => err);
    await waitForRequests(t.ns, 1);
    await abortAllDurableObjects();
    await flushing;
    expect((await t.post(randomRuns(random, 20))).status).toBe(202);
    expect((await t.flush()).body.ok).toBe(true);
    expect(totalsIn((await requests(t.ns)).at(-1)!)).toEqual(t.ledger.totals);
  });
});

describe("state written by schema 3 loads under schemas 4 and 5", () => {
  const T0 = Date.now() - 3_600_000;
  const hist = (count: number, sum: number, buckets: number[]) => [count, sum, count > 0 ? 1 : null, count > 0 ? 9 : null, ...buckets];
  const zeros = (n: number) => new Array<number>(n).fill(0);

  /**
   * Seals a header value the way schema 4 did (AAD v2: project, header name, origin, key version;
   * no export id), written out independently of src/crypto.
   */
  async function sealV2(projectId: string, name: string, origin: string, value: string) {
    const master = Uint8Array.from(atob(env.HEADER_ENCRYPTION_KEY), (c) => c.charCodeAt(0));
    const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
    const key = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("metrics-export/header-encryption/v1"), info: new TextEncoder().encode(`project:${projectId}`) },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt"],
    );
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", master));
    const version = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const aad = new TextEncoder().encode(`v2\n${projectId}\n${name.toLowerCase()}\n${origin}\n${version}`);
    return { version, iv, ciphertext: new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, key, new TextEncoder().encode(value))) };
  }

  /** Rewinds the object's storage to schema 3 and writes rows the way that code did (header values sealed as schema 4 did). */
  async function writeSchema3(projectId: string, rows: { bounds: number[]; runs: number; acked: unknown; pending?: unknown }) {
    const ns = new URL((await call("GET", `/v1/projects/${projectId}/metrics-export`)).body.endpoint);
    const sealed = await sealV2(projectId, "Authorization", ns.origin, "Bearer v2-sealed-value");
    await runInDurableObject(projectStub(projectId), (_i, state) => {
      const sql = state.storage.sql;
      // Schema 5 → 4: one export, its configuration, headers and status in single-row tables.
      sql.exec("ALTER TABLE export_config RENAME TO c5");
      sql.exec(`CREATE TABLE export_config (id INTEGER PRIMARY KEY CHECK (id = 1), destination TEXT NOT NULL, endpoint TEXT NOT NULL, protocol TEXT NOT NULL,
        compression TEXT NOT NULL, temporality TEXT NOT NULL, histogram_bounds_ms TEXT, enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
      sql.exec("INSERT INTO export_config SELECT 1, destination, endpoint, protocol, compression, temporality, histogram_bounds_ms, enabled, created_at, updated_at FROM c5");
      sql.exec("DROP TABLE c5");
      // The configuration's bounds are the series' (a save rebuckets every series to them).
      sql.exec("UPDATE export_config SET histogram_bounds_ms = ?", JSON.stringify(rows.bounds));
      sql.exec("DROP TABLE export_headers");
      sql.exec("CREATE TABLE export_headers (name TEXT PRIMARY KEY, position INTEGER NOT NULL, key_version TEXT NOT NULL, iv BLOB NOT NULL, ciphertext BLOB NOT NULL, origin TEXT)");
      sql.exec("INSERT INTO export_headers VALUES ('Authorization', 0, ?, ?, ?, ?)", sealed.version, sealed.iv, sealed.ciphertext, ns.origin);
      sql.exec("ALTER TABLE export_status RENAME TO s5");
      sql.exec(`CREATE TABLE export_status (id INTEGER PRIMARY KEY CHECK (id = 1), consecutive_failures INTEGER NOT NULL DEFAULT 0, last_success_at INTEGER,
        last_attempt_at INTEGER, last_error TEXT, paused_at INTEGER, warning TEXT, pushes_succeeded INTEGER NOT NULL DEFAULT 0, pushes_failed INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0, data_points_sent INTEGER NOT NULL DEFAULT 0, bytes_sent INTEGER NOT NULL DEFAULT 0, last_push_duration_ms INTEGER, next_push_at INTEGER)`);
      sql.exec("INSERT INTO export_status SELECT 1, consecutive_failures, last_success_at, last_attempt_at, last_error, paused_at, warning, pushes_succeeded, pushes_failed, retries, data_points_sent, bytes_sent, last_push_duration_ms, next_push_at FROM s5");
      sql.exec("DROP TABLE s5");
      // Schema 6's tables go too: migrate() applies only ids above the highest one recorded.
      for (const table of ["audit_log", "notifications", "notification_outbox", "notification_runs"]) sql.exec(`DROP TABLE ${table}`);
      sql.exec("DELETE FROM _migrations WHERE id = 6");
      sql.exec("DELETE FROM _migrations WHERE id = 5");
      sql.exec("DROP TABLE aggregates");
      sql.exec("DROP TABLE host_states");
      sql.exec("DROP TABLE delta_journal");
      sql.exec("DELETE FROM batches");
      sql.exec("ALTER TABLE batches DROP COLUMN seq");
      sql.exec("ALTER TABLE batches DROP COLUMN samples");
      sql.exec("CREATE INDEX batches_applied_at ON batches (applied_at)");
      sql.exec("DELETE FROM meta WHERE key = 'compacted_seq'");
      sql.exec(`CREATE TABLE series (app_name TEXT NOT NULL, region TEXT NOT NULL, counters_start_ms INTEGER NOT NULL, runs INTEGER NOT NULL,
        successes INTEGER NOT NULL, errors INTEGER NOT NULL, histograms_start_ms INTEGER NOT NULL, bounds TEXT NOT NULL, histograms TEXT NOT NULL,
        acked TEXT, last_sample_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (app_name, region)) WITHOUT ROWID`);
      sql.exec(`CREATE TABLE host_reports (host_id TEXT NOT NULL, app_name TEXT NOT NULL, region TEXT NOT NULL, time_ms INTEGER NOT NULL,
        cpu_cores REAL NOT NULL, memory_bytes REAL NOT NULL, gpu_memory_bytes REAL NOT NULL, gpu_compute_percent REAL NOT NULL, gpu_count INTEGER NOT NULL,
        containers_running INTEGER NOT NULL, containers_ready INTEGER NOT NULL, PRIMARY KEY (host_id, app_name, region)) WITHOUT ROWID`);
      sql.exec("CREATE TABLE pending_push (app_name TEXT NOT NULL, region TEXT NOT NULL, acked TEXT NOT NULL, PRIMARY KEY (app_name, region)) WITHOUT ROWID");
      sql.exec("DELETE FROM _migrations WHERE id = 4");
      const b = rows.bounds.length + 1;
      const h = JSON.stringify([hist(rows.runs, rows.runs * 5, [rows.runs, ...zeros(b - 1)]), hist(0, 0, zeros(b)), hist(0, 0, zeros(b)), hist(rows.runs, rows.runs * 6, [rows.runs, ...zeros(b - 1)])]);
      sql.exec(
        "INSERT INTO series VALUES ('legacy-app', 'us-east-1', ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        T0,
        rows.runs,
        rows.runs,
        T0,
        JSON.stringify(rows.bounds),
        h,
        rows.acked === null ? null : JSON.stringify(rows.acked),
        Date.now(),
      );
      sql.exec("INSERT INTO host_reports VALUES ('old-host', 'legacy-app', 'us-east-1', ?, 2.5, 100, 200, 50, 1, 3, 2)", Date.now());
      if (rows.pending) sql.exec("INSERT INTO pending_push VALUES ('legacy-app', 'us-east-1', ?)", JSON.stringify(rows.pending));
      sql.exec(`INSERT INTO batches (host_id, batch_id, applied_at, accepted, rejected) VALUES ('old-host', 'old-batch', ?, 7, '[]')`, Date.now());
    });
    await evictDurableObject(projectStub(projectId)); // the next instance runs migrations 4 and 5
  }

  it("cumulative: counters, histograms, start times, host reports and the ledger continue", async () => {
    const t = await exportingProject();
    const bounds = [5, 10, 25];
    await writeSchema3(t.projectId, { bounds, runs: 12, acked: null });
    const body = await preview(t.projectId);
    expect(pointFor(body, "cerebrium_run_total", "legacy-app", "us-east-1")).toMatchObject({ value: 12, startTimeUnixNano: `${T0}000000` });
    expect(pointFor(body, "cerebrium_run_execution_time_ms", "legacy-app", "us-east-1")).toMatchObject({ count: 12, sum: 60, min: 1, max: 9, bucketCounts: [12, 0, 0, 0] });
    expect(pointFor(body, "cerebrium_cpu_utilization_cores", "legacy-app", "us-east-1")?.value).toBe(2.5);
    // The ledger entry survives: the old batch re-sent is a duplicate with its original count.
    const oldHost = await createIngestKey("old-host");
    const sample = { type: "run", project_id: t.projectId, app_name: "legacy-app", region: "us-east-1", time: Date.now(), execution_ms: 1, queue_ms: 1, response_ms: 1, success: true };
    const dup = await call("POST", "/v1/samples", { token: oldHost.key, body: { host_id: "old-host", batch_id: "old-batch", samples: [sample] } });
    expect(dup.body).toMatchObject({ accepted: 7, duplicate: true });
    const tables = await runInDurableObject(projectStub(t.projectId), (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('series', 'host_reports', 'pending_push')").toArray(),
    );
    expect(tables).toEqual([]);
    // Cumulative continues: new runs add to the migrated totals, same start time.
    const run: Run = { app: "legacy-app", region: "us-east-1", execution_ms: 7, queue_ms: 1, response_ms: 8, success: true };
    expect((await t.post([run])).status).toBe(202);
    expect(pointFor(await preview(t.projectId), "cerebrium_run_total", "legacy-app", "us-east-1")).toMatchObject({ value: 13, startTimeUnixNano: `${T0}000000` });
  });

  it("delta: the baseline, unconfirmed intervals and an interrupted push become the journal: re-sent verbatim, totals exact", async () => {
    const t = await exportingProject({ destination: "datadog" });
    const snap = (atMs: number, runs: number) => ({ at: atMs, c: [runs, runs, 0], h: null });
    const t1 = T0 + 600_000;
    const t2 = T0 + 1_200_000;
    const t3 = T0 + 1_800_000;
    await writeSchema3(t.projectId, { bounds: [5, 10, 25], runs: 10, acked: { ...snap(t1, 4), u: [snap(t2, 6)] }, pending: snap(t3, 8) });
    expect((await t.flush()).body.ok).toBe(true);
    const [sent] = await requests(t.ns);
    const points = (sent!.body as any).resourceMetrics[0].scopeMetrics[0].metrics
      .find((m: any) => m.name === "cerebrium_run_total")
      .sum.dataPoints.map((p: any) => [Math.round(Number(p.startTimeUnixNano) / 1e6), Math.round(Number(p.timeUnixNano) / 1e6), Number(p.asInt)]);
    expect(points.slice(0, 2)).toEqual([
      [t1, t2, 2],
      [t2, t3, 2],
    ]);
    expect(points[2]![0]).toBe(t3);
    expect(points[2]![2]).toBe(2);
    expect(sumOf([sent!])["legacy-app/us-east-1"]!.runs).toBe(6); // 10 − the baseline's 4
    // The header value sealed without the export id opened, and was re-sealed bound to export "default".
    expect(sent!.headers.authorization).toBe("Bearer v2-sealed-value");
    const rows = await runInDurableObject(projectStub(t.projectId), (_i, state) => state.storage.sql.exec("SELECT export_id, export_bound FROM export_headers").toArray());
    expect(rows).toEqual([{ export_id: "default", export_bound: 1 }]);
    expect((await call("GET", `/v1/projects/${t.projectId}/metrics-exports`)).body.exports).toMatchObject([{ export_id: "default", destination: "datadog" }]);
  });
});
