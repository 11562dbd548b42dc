import { describe, expect, it } from "vitest";
import { DeltaJournal, type JournalStorage, type RecordState } from "../../durable-objects/delta-journal";
import type { Snapshot } from "../../src/aggregation/series";
import { MAX_UNCONFIRMED } from "../../src/export/delta";

/** The journal's rows, in memory, with a count of writes. */
function memoryStorage() {
  const rows = new Map<number, { state: RecordState; entries: { key: string; snapshot: Snapshot }[] }>();
  let writes = 0;
  const storage: JournalStorage = {
    insert: (seq, entries) => {
      writes++;
      rows.set(seq, { state: "sent", entries: [...entries] });
    },
    markDelivered: (seq) => {
      writes++;
      rows.get(seq)!.state = "delivered";
    },
    remove: (seq) => {
      writes++;
      rows.delete(seq);
    },
  };
  return { storage, rows, writes: () => writes, records: () => [...rows].sort(([a], [b]) => a - b).map(([seq, r]) => ({ seq, ...r })) };
}

const snap = (atMs: number, runs: number): Snapshot => ({ atMs, runs, successes: runs, errors: 0 });
const entries = (atMs: number, runs: number, keys = ["a", "b"]) => keys.map((key) => ({ key, snapshot: snap(atMs, runs) }));

function push(journal: DeltaJournal, atMs: number, runs: number, how: "delivered" | "unknown" | "refused", keys?: string[]) {
  const e = entries(atMs, runs, keys);
  journal.settle(journal.begin(e), e, how);
}

describe("DeltaJournal", () => {
  it("a steady delivered push costs three row writes and leaves one record, whatever the series count", () => {
    const m = memoryStorage();
    const journal = new DeltaJournal(m.storage);
    push(journal, 1, 1, "delivered");
    const before = m.writes();
    push(journal, 2, 2, "delivered", Array.from({ length: 500 }, (_, i) => `s${i}`).concat(["a", "b"]));
    push(journal, 3, 3, "delivered", Array.from({ length: 500 }, (_, i) => `s${i}`).concat(["a", "b"]));
    expect((m.writes() - before) / 2).toBe(3);
    expect(m.records()).toHaveLength(1);
    expect(journal.stateOf("a")).toEqual({ acked: snap(3, 3), unconfirmed: [] });
  });

  it("unknown outcomes keep their snapshots, refused ones are forgotten, and a load rebuilds the same state", () => {
    const m = memoryStorage();
    const journal = new DeltaJournal(m.storage);
    push(journal, 1, 1, "delivered");
    push(journal, 2, 2, "unknown");
    push(journal, 3, 3, "refused");
    push(journal, 4, 4, "unknown");
    const expected = { acked: snap(1, 1), unconfirmed: [snap(2, 2), snap(4, 4)] };
    expect(journal.stateOf("a")).toEqual(expected);
    const reloaded = new DeltaJournal(memoryStorage().storage);
    reloaded.load(m.records());
    expect(reloaded.stateOf("a")).toEqual(expected);
    expect(reloaded.stateOf("b")).toEqual(expected);
  });

  it("a record still 'sent' at load (the object died mid-request) counts as unknown", () => {
    const m = memoryStorage();
    const journal = new DeltaJournal(m.storage);
    push(journal, 1, 1, "delivered");
    journal.begin(entries(2, 2));
    const reloaded = new DeltaJournal(m.storage);
    reloaded.load(m.records());
    expect(reloaded.stateOf("a")).toEqual({ acked: snap(1, 1), unconfirmed: [snap(2, 2)] });
  });

  it(`keeps at most ${MAX_UNCONFIRMED} unknown intervals, and deletes records nothing refers to`, () => {
    const m = memoryStorage();
    const journal = new DeltaJournal(m.storage);
    for (let i = 1; i <= MAX_UNCONFIRMED + 3; i++) push(journal, i, i, "unknown");
    expect(journal.stateOf("a").unconfirmed).toHaveLength(MAX_UNCONFIRMED);
    expect(m.records()).toHaveLength(MAX_UNCONFIRMED);
    push(journal, 100, 100, "delivered");
    expect(m.records().map((r) => r.seq)).toEqual([MAX_UNCONFIRMED + 4]);
  });

  it("forgets a series' references (expiry), and unconfirmed intervals (new bucket bounds)", () => {
    const m = memoryStorage();
    const journal = new DeltaJournal(m.storage);
    push(journal, 1, 1, "delivered", ["a"]);
    push(journal, 2, 2, "unknown", ["b"]);
    journal.forget(["b"], "unconfirmed");
    expect(journal.stateOf("b")).toEqual({ acked: null, unconfirmed: [] });
    journal.forget(["a"], "series");
    expect(m.records()).toEqual([]);
  });
});
