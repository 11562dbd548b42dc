/**
 * Migration 4's data step: state written by schema 3 (one JSON row per series with its delta
 * baseline, one row per host report, pending_push) rewritten in schema 4's form (binary aggregates,
 * one row per host, the delta journal of the single export). Runs inside the migration's
 * transaction, so an object either loads all of it converted or none of it.
 */
import type { HostReport } from "../src/aggregation/gauges";
import type { Histogram } from "../src/aggregation/histogram";
import { seriesKey, type Histograms, type Snapshot } from "../src/aggregation/series";
import { encodeBounds, encodeHistograms, encodeHostReports, encodeSnapshots } from "../src/aggregation/state-codec";

/** The export every project had before several could exist: its delta state lives under this id. */
export const FIRST_EXPORT_ID = "default";

type Row = Record<string, SqlStorageValue>;
type PackedHistogram = (number | null)[];
interface PackedSnapshot {
  at: number;
  c: [number, number, number];
  h: PackedHistogram[] | null;
  u?: PackedSnapshot[];
}

function histogram(p: PackedHistogram): Histogram {
  return { count: p[0] as number, sum: p[1] as number, min: (p[2] as number | null) ?? Infinity, max: (p[3] as number | null) ?? -Infinity, buckets: p.slice(4) as number[] };
}

function histograms(p: PackedHistogram[]): Histograms {
  return { execution: histogram(p[0]!), queue: histogram(p[1]!), coldstart: histogram(p[2]!), response: histogram(p[3]!) };
}

function snapshot(v: PackedSnapshot): Snapshot {
  const s: Snapshot = { atMs: v.at, runs: v.c[0], successes: v.c[1], errors: v.c[2] };
  if (v.h) s.histograms = histograms(v.h);
  return s;
}

export function upgradeFromV3(sql: SqlStorage): void {
  const delivered: { key: string; snapshot: Snapshot }[] = [];
  const unconfirmed: { key: string; snapshot: Snapshot }[][] = [];
  for (const r of sql.exec<Row>("SELECT * FROM series")) {
    const bounds = JSON.parse(r.bounds as string) as number[];
    sql.exec(
      `INSERT INTO aggregates (app_name, region, counters_start_ms, histograms_start_ms, last_sample_ms, runs, successes, errors, bounds, histograms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.app_name,
      r.region,
      r.counters_start_ms,
      r.histograms_start_ms,
      r.last_sample_ms,
      r.runs,
      r.successes,
      r.errors,
      encodeBounds(bounds),
      encodeHistograms(histograms(JSON.parse(r.histograms as string) as PackedHistogram[])),
    );
    if (typeof r.acked !== "string") continue;
    const key = seriesKey(r.app_name as string, r.region as string);
    const acked = JSON.parse(r.acked) as PackedSnapshot;
    if (acked.at >= 0) delivered.push({ key, snapshot: snapshot(acked) });
    (acked.u ?? []).forEach((u, i) => (unconfirmed[i] ??= []).push({ key, snapshot: snapshot(u) }));
  }
  const pending = sql
    .exec<Row>("SELECT app_name, region, acked FROM pending_push")
    .toArray()
    .map((r) => ({ key: seriesKey(r.app_name as string, r.region as string), snapshot: snapshot(JSON.parse(r.acked as string) as PackedSnapshot) }));
  let seq = 0;
  const record = (state: "sent" | "delivered", entries: { key: string; snapshot: Snapshot }[]) => {
    if (entries.length === 0) return;
    seq += 1;
    sql.exec("INSERT INTO delta_journal (export_id, seq, part, state, snapshots) VALUES (?, ?, 0, ?, ?)", FIRST_EXPORT_ID, seq, state, encodeSnapshots(entries));
  };
  record("delivered", delivered);
  for (const entries of unconfirmed) record("sent", entries);
  record("sent", pending);

  const byHost = new Map<string, HostReport[]>();
  for (const r of sql.exec<Row>("SELECT * FROM host_reports")) {
    const hostId = r.host_id as string;
    const list = byHost.get(hostId) ?? [];
    list.push({
      hostId,
      appName: r.app_name as string,
      region: r.region as string,
      timeMs: r.time_ms as number,
      cpuCores: r.cpu_cores as number,
      memoryBytes: r.memory_bytes as number,
      gpuMemoryBytes: r.gpu_memory_bytes as number,
      gpuComputePercent: r.gpu_compute_percent as number,
      gpuCount: r.gpu_count as number,
      containersRunning: r.containers_running as number,
      containersReady: r.containers_ready as number,
    });
    byHost.set(hostId, list);
  }
  for (const [hostId, reports] of byHost) sql.exec("INSERT INTO host_states (host_id, reports) VALUES (?, ?)", hostId, encodeHostReports(reports));
  sql.exec("DROP TABLE series");
  sql.exec("DROP TABLE host_reports");
  sql.exec("DROP TABLE pending_push");
}
