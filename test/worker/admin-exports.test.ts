/**
 * GET /v1/admin/exports and src/export-states.ts: the operator's overview of every project's export,
 * from the D1 table export_states (migrations/0002_export_states.sql). Real D1, no mocks.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EXPORT_STATES, forgetExportState, listExportStates, recordExportState, type ExportStateRecord } from "../../src/export-states";
import type { ExportState } from "../../src/export/status";
import { call, createIngestKey, createProject, createProjectKey, uniqueProjectId } from "./helpers";

function expectError(r: { status: number; body: any; text: string }, status: number, code: string, mentions?: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
  if (mentions !== undefined) expect(r.body.error.message).toContain(mentions);
}

const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);

function record(projectId: string, exportId: string, overrides: Partial<ExportStateRecord> = {}): ExportStateRecord {
  return {
    projectId,
    exportId,
    name: `${exportId} name`,
    state: "connected",
    consecutiveFailures: 0,
    lastSuccessAt: T0,
    lastAttemptAt: T0,
    lastErrorClassification: null,
    lastErrorAt: null,
    updatedAt: T0,
    ...overrides,
  };
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Every page of GET /v1/admin/exports with this query, following next_cursor to the end. */
async function allPages(query: string, limit: number): Promise<{ rows: any[]; pages: number }> {
  const rows: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", String(limit));
    if (cursor !== null) params.set("cursor", cursor);
    const r = await call("GET", `/v1/admin/exports?${params}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.exports.length).toBeLessThanOrEqual(limit);
    rows.push(...r.body.exports);
    cursor = r.body.next_cursor;
    if (cursor !== null) expect(r.body.exports.length).toBe(limit);
    pages += 1;
    expect(pages).toBeLessThan(10_000);
  } while (cursor !== null);
  return { rows, pages };
}

const key = (r: { project_id: string; export_id: string }) => `${r.project_id}/${r.export_id}`;

async function rowCount(projectId: string, exportId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM export_states WHERE project_id = ? AND export_id = ?")
    .bind(projectId, exportId)
    .first<{ n: number }>();
  return row!.n;
}

describe("GET /v1/admin/exports: authorisation", () => {
  let projectKey: string;
  let ingestKey: string;

  beforeAll(async () => {
    const project = await createProject();
    projectKey = (await createProjectKey(project)).key;
    ingestKey = (await createIngestKey(`host-${crypto.randomUUID().slice(0, 8)}`)).key;
  });

  it("answers 401 unauthorized without a token", async () => {
    expectError(await call("GET", "/v1/admin/exports", { token: null }), 401, "unauthorized");
  });

  it("answers 401 unauthorized with an unknown token", async () => {
    expectError(await call("GET", "/v1/admin/exports", { token: "not-the-admin-token" }), 401, "unauthorized");
  });

  it("answers 403 forbidden with a project key", async () => {
    expectError(await call("GET", "/v1/admin/exports", { token: projectKey }), 403, "forbidden");
  });

  it("answers 403 forbidden with an ingest key", async () => {
    expectError(await call("GET", "/v1/admin/exports", { token: ingestKey }), 403, "forbidden");
  });

  it("refuses before validating the query", async () => {
    expectError(await call("GET", "/v1/admin/exports?state=bogus", { token: null }), 401, "unauthorized");
    expectError(await call("GET", "/v1/admin/exports?limit=0", { token: projectKey }), 403, "forbidden");
  });

  it("answers 200 with the admin token", async () => {
    const r = await call("GET", "/v1/admin/exports");
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ exports: expect.any(Array), next_cursor: expect.toSatisfy((v) => v === null || typeof v === "string") });
  });
});

describe("GET /v1/admin/exports: query validation", () => {
  it.each(["bogus", "", "PAUSED", "connected,failing", " failing"])("rejects state=%j with 400 invalid_request naming the states", async (state) => {
    const r = await call("GET", `/v1/admin/exports?state=${encodeURIComponent(state)}`);
    expectError(r, 400, "invalid_request", "state");
    for (const s of EXPORT_STATES) expect(r.body.error.message).toContain(s);
  });

  it.each(["0", "501", "-1", "abc", "1.5", "", "1e2", "0100", " 5", "99999999999999999999"])("rejects limit=%j with 400 invalid_request", async (limit) => {
    expectError(await call("GET", `/v1/admin/exports?limit=${encodeURIComponent(limit)}`), 400, "invalid_request", "limit");
  });

  it.each(["1", "500", "100"])("accepts limit=%s", async (limit) => {
    const r = await call("GET", `/v1/admin/exports?limit=${limit}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.exports.length).toBeLessThanOrEqual(Number(limit));
  });

  const badCursors: [string, string][] = [
    ["empty", ""],
    ["not base64url", "!!!"],
    ["base64 with padding characters", base64url(JSON.stringify({ p: "p-abcd", e: "x" })) + "=="],
    ["impossible length", "A"],
    ["not JSON", base64url("not json")],
    ["not UTF-8", "_w"],
    ["a JSON array", base64url(JSON.stringify(["p-abcd", "x"]))],
    ["JSON null", base64url("null")],
    ["a number for p", base64url(JSON.stringify({ p: 1, e: "x" }))],
    ["no e", base64url(JSON.stringify({ p: "p-abcd" }))],
    ["an extra field", base64url(JSON.stringify({ p: "p-abcd", e: "x", s: "failing" }))],
    ["far too long", "A".repeat(4096)],
  ];
  it.each(badCursors)("rejects a cursor that is %s with 400 invalid_request", async (_what, cursor) => {
    expectError(await call("GET", `/v1/admin/exports?cursor=${encodeURIComponent(cursor)}`), 400, "invalid_request", "cursor");
  });
});

describe("GET /v1/admin/exports: listing", () => {
  it("answers each field of a record, times as RFC 3339", async () => {
    const p = uniqueProjectId();
    await recordExportState(
      env.DB,
      record(p, "otlp-main", {
        name: "Grafana Cloud",
        state: "failing",
        consecutiveFailures: 3,
        lastSuccessAt: T0 - 60_000,
        lastAttemptAt: T0,
        lastErrorClassification: "unauthorized",
        lastErrorAt: T0 + 1,
        updatedAt: T0 + 2,
      }),
    );
    await recordExportState(
      env.DB,
      record(p, "otlp-new", { state: "unconfigured", lastSuccessAt: null, lastAttemptAt: null, updatedAt: T0 }),
    );
    const { rows } = await allPages("", 500);
    const mine = rows.filter((r) => r.project_id === p);
    expect(mine).toEqual([
      {
        project_id: p,
        export_id: "otlp-main",
        name: "Grafana Cloud",
        state: "failing",
        consecutive_failures: 3,
        last_success_at: "2026-11-26T09:59:00.000Z",
        last_attempt_at: "2026-11-26T10:00:00.000Z",
        last_error: { classification: "unauthorized", at: "2026-11-26T10:00:00.001Z" },
        updated_at: "2026-11-26T10:00:00.002Z",
      },
      {
        project_id: p,
        export_id: "otlp-new",
        name: "otlp-new name",
        state: "unconfigured",
        consecutive_failures: 0,
        last_success_at: null,
        last_attempt_at: null,
        last_error: null,
        updated_at: "2026-11-26T10:00:00.000Z",
      },
    ]);
  });

  it("filters by state", async () => {
    const p = uniqueProjectId();
    const states: ExportState[] = ["connected", "failing", "paused", "failing", "disabled", "pending"];
    for (const [i, state] of states.entries()) await recordExportState(env.DB, record(p, `e${i}`, { state }));
    for (const state of EXPORT_STATES) {
      const { rows } = await allPages(`state=${state}`, 500);
      expect(rows.every((r) => r.state === state)).toBe(true);
      const mine = rows.filter((r) => r.project_id === p).map((r) => r.export_id);
      expect(mine).toEqual(states.flatMap((s, i) => (s === state ? [`e${i}`] : [])));
    }
  });

  it("pages with next_cursor: every record exactly once, in (project_id, export_id) order", async () => {
    const projects = [uniqueProjectId(), uniqueProjectId(), uniqueProjectId()];
    const expected: string[] = [];
    for (const p of projects) {
      for (const e of ["b", "a", "c", "a-2"]) {
        await recordExportState(env.DB, record(p, e, { state: e === "a" ? "paused" : "connected" }));
        expected.push(`${p}/${e}`);
      }
    }
    const mineOf = (rows: any[]) => rows.map(key).filter((k) => projects.some((p) => k.startsWith(`${p}/`)));
    const sorted = (keys: string[]) =>
      [...keys].sort((x, y) => {
        const [px, ex] = x.split("/") as [string, string];
        const [py, ey] = y.split("/") as [string, string];
        return px < py ? -1 : px > py ? 1 : ex < ey ? -1 : ex > ey ? 1 : 0;
      });

    for (const limit of [1, 2, 3, 5, 500]) {
      const { rows, pages } = await allPages("", limit);
      const keys = rows.map(key);
      expect(new Set(keys).size, `limit=${limit}: no duplicates`).toBe(keys.length);
      expect(keys, `limit=${limit}: ordered`).toEqual(sorted(keys));
      expect(mineOf(rows)).toEqual(sorted(expected));
      expect(pages).toBe(Math.max(1, Math.ceil(rows.length / limit)));
    }

    // With a state filter the cursor pages the filtered rows.
    const paused = await allPages("state=paused", 1);
    expect(paused.rows.every((r) => r.state === "paused")).toBe(true);
    expect(mineOf(paused.rows)).toEqual(sorted(projects.map((p) => `${p}/a`)));
  });

  it("answers next_cursor null on the last page and a cursor that resumes after a deleted row", async () => {
    const p = uniqueProjectId();
    for (const e of ["x1", "x2", "x3"]) await recordExportState(env.DB, record(p, e, { state: "pending" }));
    // Resuming just before this project: only its rows (and later projects') follow.
    const before = base64url(JSON.stringify({ p, e: "" }));
    const first = await call("GET", `/v1/admin/exports?limit=1&cursor=${before}`);
    expect(first.status, first.text).toBe(200);
    expect(first.body.exports.map(key)).toEqual([`${p}/x1`]);
    expect(first.body.next_cursor).toEqual(expect.any(String));

    // The row the cursor points at disappears: the next page still starts right after it.
    await forgetExportState(env.DB, p, "x1");
    const second = await call("GET", `/v1/admin/exports?limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body.exports.map(key)).toEqual([`${p}/x2`]);

    // After the very last key there is nothing: an empty page, no cursor.
    const end = base64url(JSON.stringify({ p: "\u{10FFFF}", e: "" }));
    const last = await call("GET", `/v1/admin/exports?cursor=${end}`);
    expect(last.status, last.text).toBe(200);
    expect(last.body).toEqual({ exports: [], next_cursor: null });
  });

  it("defaults to 100 records a page", async () => {
    const p = uniqueProjectId();
    const statements = Array.from({ length: 101 }, (_, i) =>
      recordExportState(env.DB, record(p, `bulk-${String(i).padStart(3, "0")}`, { state: "disabled" })),
    );
    await Promise.all(statements);
    const r = await call("GET", "/v1/admin/exports");
    expect(r.status, r.text).toBe(200);
    expect(r.body.exports).toHaveLength(100);
    expect(r.body.next_cursor).toEqual(expect.any(String));
  });
});

describe("src/export-states.ts", () => {
  it("upsert replaces every column of the existing row", async () => {
    const p = uniqueProjectId();
    await recordExportState(
      env.DB,
      record(p, "main", { state: "failing", consecutiveFailures: 4, lastErrorClassification: "timeout", lastErrorAt: T0 }),
    );
    const replacement = record(p, "main", {
      name: "renamed",
      state: "connected",
      consecutiveFailures: 0,
      lastSuccessAt: T0 + 5_000,
      lastAttemptAt: T0 + 5_000,
      lastErrorClassification: null,
      lastErrorAt: null,
      updatedAt: T0 + 5_000,
    });
    await recordExportState(env.DB, replacement);
    expect(await rowCount(p, "main")).toBe(1);
    const listed = await listExportStates(env.DB, { limit: 10, after: { projectId: p, exportId: "" } });
    expect(listed.filter((r) => r.projectId === p)).toEqual([replacement]);

    const r = await call("GET", `/v1/admin/exports?state=failing&limit=500`);
    expect(r.body.exports.filter((x: any) => x.project_id === p)).toEqual([]);
  });

  it("forget removes the row, and forgetting an absent row is a no-op", async () => {
    const p = uniqueProjectId();
    await recordExportState(env.DB, record(p, "keep"));
    await recordExportState(env.DB, record(p, "drop"));
    await forgetExportState(env.DB, p, "drop");
    expect(await rowCount(p, "drop")).toBe(0);
    expect(await rowCount(p, "keep")).toBe(1);
    await forgetExportState(env.DB, p, "drop");
    await forgetExportState(env.DB, uniqueProjectId(), "never-existed");
    const { rows } = await allPages("", 500);
    expect(rows.filter((r) => r.project_id === p).map((r) => r.export_id)).toEqual(["keep"]);
  });

  it("listExportStates honours limit, state and after", async () => {
    const p = uniqueProjectId();
    for (const e of ["a", "b", "c", "d"]) await recordExportState(env.DB, record(p, e, { state: e === "c" ? "paused" : "pending" }));
    const after = { projectId: p, exportId: "a" };
    const page = await listExportStates(env.DB, { limit: 2, after });
    expect(page.map((r) => `${r.projectId}/${r.exportId}`)).toEqual([`${p}/b`, `${p}/c`]);
    const paused = await listExportStates(env.DB, { state: "paused", limit: 500, after: { projectId: p, exportId: "" } });
    expect(paused.filter((r) => r.projectId === p).map((r) => r.exportId)).toEqual(["c"]);
  });

  it("the table refuses a state outside ExportState", async () => {
    await expect(recordExportState(env.DB, record(uniqueProjectId(), "x", { state: "broken" as ExportState }))).rejects.toThrow(/CHECK/);
  });

  it("a state-filtered page is read through the (state, project_id, export_id) index", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT * FROM export_states WHERE state = ? AND (project_id, export_id) > (?, ?) ORDER BY project_id, export_id LIMIT ?",
    )
      .bind("failing", "p-abcd", "x", 10)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("export_states_state");
    expect(details).not.toContain("TEMP B-TREE");
  });
});
