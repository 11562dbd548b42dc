/**
 * Delta temporality for one series: which points a push carries, and what its outcome leaves.
 *
 * State: `acked`, the snapshot the last delivered push carried up to, and `unconfirmed`, snapshots
 * of pushes whose outcome is unknown — a timeout, a connection lost after sending, the object dying
 * mid-push — in order. Such a push may have been applied by the destination. Each of its intervals
 * is therefore re-sent *verbatim* (same start and end times, same values) until a push is
 * delivered, followed by one point for what came after. A last-write-wins receiver (Datadog keeps
 * the last write per timestamp and tags) then ends with exact totals whether or not it had applied
 * the first copy. A push that was refused outright (an HTTP error status) was not applied: its
 * interval simply folds into the next point.
 *
 * Bounded: at most MAX_UNCONFIRMED intervals are kept (a tenth consecutive failure pauses export);
 * beyond that the next point starts at the last kept one.
 */
import { deltaValues } from "../aggregation/histogram";
import { seriesLabels, snapshotOf, type Counters, type Histograms, type SeriesState, type Snapshot } from "../aggregation/series";
import type { ExportSeries, GaugeValues, HistogramValues } from "./model";

export const MAX_UNCONFIRMED = 10;

export interface DeltaState {
  acked: Snapshot | null;
  unconfirmed: Snapshot[];
}

export const NO_DELTA: Readonly<DeltaState> = Object.freeze({ acked: null, unconfirmed: [] });

/** The interval from snapshot `from` (null: since the series started) to the cumulative values `to`. */
function interval(
  projectId: string,
  s: SeriesState,
  from: Snapshot | null,
  to: Counters & { histograms?: Histograms },
  timeMs: number,
): ExportSeries {
  const histBase = from?.histograms && s.histogramsStartMs <= from.atMs ? from.histograms : undefined;
  const hist = (f: keyof Histograms): HistogramValues =>
    to.histograms ? deltaValues(to.histograms[f], histBase?.[f]) : { count: 0, sum: 0, bucketCounts: new Array<number>(s.bounds.length + 1).fill(0) };
  return {
    ...seriesLabels(projectId, s),
    timeMs,
    countersStartMs: from?.atMs ?? s.countersStartMs,
    runs: to.runs - (from?.runs ?? 0),
    successes: to.successes - (from?.successes ?? 0),
    errors: to.errors - (from?.errors ?? 0),
    histogramsStartMs: histBase ? from!.atMs : s.histogramsStartMs,
    execution: hist("execution"),
    queue: hist("queue"),
    coldstart: hist("coldstart"),
    response: hist("response"),
  };
}

/**
 * The points a delta push at `nowMs` carries for `s`: each unconfirmed interval as first sent, then
 * what came after (with the gauges), and the snapshot that push would leave as `acked`.
 */
export function deltaSeries(
  projectId: string,
  s: SeriesState,
  state: DeltaState,
  gauges: GaugeValues | undefined,
  nowMs: number,
): { points: ExportSeries[]; snapshot: Snapshot } {
  const points: ExportSeries[] = [];
  let from = state.acked;
  for (const u of state.unconfirmed) {
    points.push(interval(projectId, s, from, u, u.atMs));
    from = u;
  }
  const snapshot = snapshotOf(s, nowMs);
  const last = interval(projectId, s, from, snapshot, nowMs);
  if (gauges) last.gauges = gauges;
  points.push(last);
  return { points, snapshot };
}

/** After a push carrying `snapshot` was delivered. */
export function delivered(snapshot: Snapshot): DeltaState {
  return { acked: snapshot, unconfirmed: [] };
}

/** After a push carrying `snapshot` may or may not have been applied. */
export function unconfirmed(state: DeltaState, snapshot: Snapshot): DeltaState {
  if (state.unconfirmed.length >= MAX_UNCONFIRMED) return state;
  return { acked: state.acked, unconfirmed: [...state.unconfirmed, snapshot] };
}

/**
 * New bucket bounds: histograms restarted, so no snapshot's histograms can be subtracted any more.
 * Unconfirmed intervals cannot be re-sent with the old layout either; they are dropped (their
 * counters then fold into the next point — the one case an interval can count twice at a
 * last-write-wins receiver).
 */
export function afterRebucket(state: DeltaState): DeltaState {
  const strip = (u: Snapshot): Snapshot => ({ atMs: u.atMs, runs: u.runs, successes: u.successes, errors: u.errors });
  return { acked: state.acked && strip(state.acked), unconfirmed: [] };
}
