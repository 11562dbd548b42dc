/**
 * Delta temporality's state of one export, kept as a journal of the snapshots its requests carried
 * (src/export/delta.ts says what the state means). One record per request:
 *
 * - written ("sent") before the request goes out, holding each carried series' snapshot;
 * - delivered → marked "delivered": those snapshots become the series' baselines;
 * - outcome unknown → left "sent": the snapshots become unconfirmed intervals, re-sent verbatim;
 *   a record still "sent" when the object loads (it died mid-request) means the same;
 * - refused → deleted: nothing changes.
 *
 * A record is deleted as soon as no series refers to it any more, so a steady push costs three row
 * writes whatever the number of series: insert, mark, and the deletion of the record it replaced.
 * The state of every series is rebuilt on load by reading the records in order.
 */
import type { Snapshot } from "../src/aggregation/series";
import { delivered as afterDelivered, MAX_UNCONFIRMED, NO_DELTA, type DeltaState } from "../src/export/delta";

export type RecordState = "sent" | "delivered";

/** Where the journal's records live (durable-objects/store.ts). */
export interface JournalStorage {
  insert(seq: number, entries: readonly { key: string; snapshot: Snapshot }[]): void;
  markDelivered(seq: number): void;
  remove(seq: number): void;
}

interface SeriesRefs {
  state: DeltaState;
  /** The record of `state.acked`, then of each unconfirmed snapshot. */
  acked: number | null;
  unconfirmed: number[];
}

export class DeltaJournal {
  readonly #series = new Map<string, SeriesRefs>();
  readonly #refs = new Map<number, number>();
  /** Records written but not settled yet: never deleted under their request. */
  readonly #inFlight = new Set<number>();
  #nextSeq = 1;

  constructor(private readonly storage: JournalStorage) {}

  /**
   * Rebuilds the state from stored records, oldest first ("sent" ones count as unknown: the object
   * died before their outcome was known), and deletes the records nothing refers to any more.
   */
  load(records: readonly { seq: number; state: RecordState; entries: { key: string; snapshot: Snapshot }[] }[]): void {
    for (const r of records) {
      this.#nextSeq = Math.max(this.#nextSeq, r.seq + 1);
      this.#refs.set(r.seq, 0);
      this.#apply(r.seq, r.entries, r.state === "delivered" ? "delivered" : "unknown");
    }
    for (const r of records) this.#collect(r.seq);
  }

  stateOf(key: string): DeltaState {
    return this.#series.get(key)?.state ?? NO_DELTA;
  }

  /** Before a request is sent: records what it carries. Returns the record's number. */
  begin(entries: readonly { key: string; snapshot: Snapshot }[]): number {
    const seq = this.#nextSeq++;
    this.storage.insert(seq, entries);
    this.#refs.set(seq, 0);
    this.#inFlight.add(seq);
    return seq;
  }

  /** How the request of record `seq` ended. Writes what that changes. */
  settle(seq: number, entries: readonly { key: string; snapshot: Snapshot }[], how: "delivered" | "unknown" | "refused"): void {
    this.#inFlight.delete(seq);
    if (how === "refused") {
      this.#refs.delete(seq);
      this.storage.remove(seq);
      return;
    }
    if (how === "delivered") this.storage.markDelivered(seq);
    this.#apply(seq, entries, how);
    this.#collect(seq);
  }

  /** Forgets series (expired, or their unconfirmed intervals dropped after new bucket bounds). */
  forget(keys: Iterable<string>, what: "series" | "unconfirmed"): void {
    const touched: number[] = [];
    for (const key of keys) {
      const refs = this.#series.get(key);
      if (!refs) continue;
      for (const seq of refs.unconfirmed) touched.push(this.#release(seq));
      if (what === "series") {
        if (refs.acked !== null) touched.push(this.#release(refs.acked));
        this.#series.delete(key);
      } else {
        refs.unconfirmed = [];
        refs.state = { acked: refs.state.acked, unconfirmed: [] };
      }
    }
    for (const seq of touched) this.#collect(seq);
  }

  /** Deletes every record (the export's configuration was erased). */
  clear(): void {
    for (const seq of this.#refs.keys()) this.storage.remove(seq);
    this.#refs.clear();
    this.#series.clear();
    this.#inFlight.clear();
  }

  #apply(seq: number, entries: readonly { key: string; snapshot: Snapshot }[], how: "delivered" | "unknown"): void {
    const released: number[] = [];
    for (const { key, snapshot } of entries) {
      const refs = this.#series.get(key) ?? { state: NO_DELTA, acked: null, unconfirmed: [] };
      if (how === "delivered") {
        if (refs.acked !== null) released.push(this.#release(refs.acked));
        for (const u of refs.unconfirmed) released.push(this.#release(u));
        refs.state = afterDelivered(snapshot);
        refs.acked = seq;
        refs.unconfirmed = [];
        this.#hold(seq);
      } else if (refs.unconfirmed.length < MAX_UNCONFIRMED) {
        refs.state = { acked: refs.state.acked, unconfirmed: [...refs.state.unconfirmed, snapshot] };
        refs.unconfirmed = [...refs.unconfirmed, seq];
        this.#hold(seq);
      }
      this.#series.set(key, refs);
    }
    for (const r of released) this.#collect(r);
  }

  #hold(seq: number): void {
    this.#refs.set(seq, (this.#refs.get(seq) ?? 0) + 1);
  }

  #release(seq: number): number {
    this.#refs.set(seq, (this.#refs.get(seq) ?? 1) - 1);
    return seq;
  }

  #collect(seq: number): void {
    if (this.#refs.get(seq) !== 0 || this.#inFlight.has(seq)) return;
    this.#refs.delete(seq);
    this.storage.remove(seq);
  }
}
