/**
 * Series without a sample for SERIES_RETENTION_HOURS: which exports must end them (a last point
 * flagged NoRecordedValue, ending-series.ts), deleting them once none must, and a sample that brings
 * one back. Housekeeping and ingest call it; the aggregation owns the series.
 */
import { compileFilters } from "../src/export/filters";
import type { Settings } from "../src/settings";
import type { Aggregation } from "./aggregation";
import type { EndingSeries } from "./ending-series";
import type { ExportSlot } from "./export-slot";
import type { ProjectStore } from "./store";

export interface ExpiryDeps {
  aggregation: Aggregation;
  store: ProjectStore;
  ending: EndingSeries;
  slots: () => Iterable<ExportSlot>;
  settings: () => Settings;
  /** One housekeeping transaction. */
  write: <T>(writes: () => T) => T;
}

export class SeriesExpiry {
  constructor(private readonly d: ExpiryDeps) {}

  /** A sample brings an expiring series back (few series are ever ending at once). */
  revive(nowMs: number): void {
    if (this.d.ending.size === 0) return;
    const cutoff = nowMs - this.d.settings().seriesRetentionMs;
    for (const key of [...this.d.ending.keys()]) {
      const s = this.d.aggregation.state.series.get(key);
      if (s && s.lastSampleMs >= cutoff) this.d.ending.revive(key);
    }
  }

  /**
   * Series without a sample for SERIES_RETENTION_HOURS: each export that is sending them ends them
   * at its next push (points flagged NoRecordedValue, a staleness marker in Prometheus-style
   * backends) and they are deleted once every such export has delivered that; with none, now.
   * Their slot under the series limit is free again, and a returning app starts new series.
   */
  expire(nowMs: number): void {
    const cutoff = nowMs - this.d.settings().seriesRetentionMs;
    const expired = [...this.d.aggregation.state.series].filter(([key, s]) => s.lastSampleMs < cutoff && !this.d.ending.has(key));
    if (expired.length === 0) return;
    const sending = this.d.store
      .exports()
      .filter((e) => e.config.enabled && this.d.store.status(e.id).pausedAt === null)
      .map((e) => ({ id: e.id, filters: compileFilters(e.config.filters) }));
    const now: string[] = [];
    for (const [key, s] of expired) {
      const ids = sending.filter((e) => e.filters.keepSeries(s.appName, s.region)).map((e) => e.id);
      if (ids.length > 0) this.d.ending.start(key, ids);
      else now.push(key);
    }
    if (now.length > 0) this.delete(now);
  }

  /** Deletes `keys` now: their aggregates, their delta journal references and their ending. */
  delete(keys: string[]): void {
    this.d.aggregation.deleteSeries(keys);
    this.d.write(() => {
      for (const slot of this.d.slots()) slot.journal.forget(keys, "series");
    });
    this.d.ending.forget(keys);
    this.d.aggregation.compact();
  }
}
