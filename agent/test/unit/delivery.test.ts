/**
 * Delivery: what each edge answer means, the backoff, the spool on a real file system, and the sender's
 * loop (with a scripted edge and an injected clock: no real backoff time is slept).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyError, classifyResponse, retryDelayMs, type PostOutcome } from "../../src/delivery/outcome";
import { Sender } from "../../src/delivery/sender";
import { entriesToDrop, parseSpoolFileName, Spool, spoolFileName, type SpoolEntry } from "../../src/delivery/spool";
import { createLogger } from "../../src/log";
import { Stats } from "../../src/stats";

const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);
const HOUR = 3_600_000;

describe("classifyResponse", () => {
  const err = (code: string, message: string) => JSON.stringify({ error: { code, message } });
  it.each([
    [202, '{"accepted":3,"duplicate":false,"rejected":[]}', { kind: "delivered", status: 202, accepted: 3, duplicate: false, rejected: [] }],
    [202, '{"accepted":3,"duplicate":true,"rejected":[]}', { kind: "delivered", status: 202, accepted: 3, duplicate: true, rejected: [] }],
    [
      202,
      '{"accepted":1,"duplicate":false,"rejected":[{"index":1,"code":"unknown_project","message":"Project \\"p-zzzz\\" does not exist."}]}',
      { kind: "delivered", status: 202, accepted: 1, duplicate: false, rejected: [{ index: 1, code: "unknown_project", message: 'Project "p-zzzz" does not exist.' }] },
    ],
    [202, '{"accep', { kind: "delivered", status: 202, accepted: 0, duplicate: false, rejected: [] }],
    [400, err("invalid_request", 'Unknown field "x".'), { kind: "drop", status: 400, code: "invalid_request", message: 'Unknown field "x".' }],
    [413, err("payload_too_large", "big"), { kind: "drop", status: 413, code: "payload_too_large", message: "big" }],
    [415, "nope", { kind: "drop", status: 415, code: "unknown", message: "nope" }],
    [401, err("unauthorized", "bad key"), { kind: "retry", status: 401, message: "401 unauthorized: bad key", retryAfterMs: null }],
    [403, err("forbidden", "host"), { kind: "retry", status: 403, message: "403 forbidden: host", retryAfterMs: null }],
    [404, err("not_found", "x"), { kind: "retry", status: 404, message: "404 not_found: x", retryAfterMs: null }],
    [429, err("rate_limited", "slow"), { kind: "retry", status: 429, message: "429 rate_limited: slow", retryAfterMs: null }],
    [500, err("internal", "oops"), { kind: "retry", status: 500, message: "500 internal: oops", retryAfterMs: null }],
    [503, "", { kind: "retry", status: 503, message: "503 unknown: ", retryAfterMs: null }],
    [301, "", { kind: "retry", status: 301, message: "301 unknown: ", retryAfterMs: null }],
  ] as const)("%i %s", (status, body, outcome) => {
    expect(classifyResponse(status, null, body, NOW)).toEqual(outcome);
  });

  it("honours Retry-After in seconds", () => {
    expect(classifyResponse(503, "7", "", NOW)).toMatchObject({ kind: "retry", retryAfterMs: 7000 });
  });

  it("network errors and timeouts are retried with their reason", () => {
    const refused = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    expect(classifyError(refused)).toEqual({ kind: "retry", status: null, message: "ECONNREFUSED", retryAfterMs: null });
    expect(classifyError(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toMatchObject({ message: "timed out" });
  });
});

describe("retryDelayMs", () => {
  it.each([
    [1, 0.5, 1000],
    [2, 0.5, 2000],
    [5, 0.5, 16_000],
    [7, 0.5, 60_000],
    [400, 0.5, 60_000],
    [1, 0, 800],
    [1, 1, 1200],
    [400, 0, 48_000],
    [400, 1, 72_000],
  ])("failure %i, random %f → %i ms", (failures, random, ms) => {
    expect(retryDelayMs(failures, 1000, 60_000, null, () => random)).toBe(ms);
  });
  it("a longer Retry-After wins, up to the maximum", () => {
    expect(retryDelayMs(1, 1000, 60_000, 30_000, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(1, 100, 5_000, 30_000, () => 0.5)).toBe(5_000);
  });
});

describe("spool", () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), "agent-spool-")), "spool");
  });
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it("file names round-trip and sort oldest first", () => {
    const name = { sealedAtMs: NOW, seq: 12, samples: 500, runs: 498, batchId: "0b9e7c1e-2f4a-4c55-9d7e-0c8c4f1e2a3b" };
    expect(spoolFileName(name)).toBe("1795687200000-0000000012-0500-0498-0b9e7c1e-2f4a-4c55-9d7e-0c8c4f1e2a3b.json.gz");
    expect(parseSpoolFileName(spoolFileName(name))).toEqual(name);
    expect(parseSpoolFileName("notes.txt")).toBeUndefined();
  });

  it("writes whole files, finds them again after a restart, and removes what a crash left half-written", async () => {
    const { spool } = await Spool.open(dir);
    const a = await spool.write({ batchId: "a", sealedAtMs: NOW, samples: 2, runs: 2 }, Buffer.from("first"));
    await spool.write({ batchId: "b", sealedAtMs: NOW, samples: 3, runs: 3 }, Buffer.from("second!"));
    expect(spool.bytes).toBe(12);
    writeFileSync(path.join(dir, `.tmp-${spoolFileName({ batchId: "c", sealedAtMs: NOW + 1, seq: 9, samples: 1, runs: 1 })}`), "half");
    writeFileSync(path.join(dir, "README"), "not ours");

    const reopened = await Spool.open(dir);
    expect(reopened.tempFilesRemoved).toBe(1);
    expect(reopened.foreignFiles).toEqual(["README"]);
    expect(reopened.spool.entries.map((e) => [e.batchId, e.seq, e.samples, e.bytes])).toEqual([
      ["a", 0, 2, 5],
      ["b", 1, 3, 7],
    ]);
    expect((await reopened.spool.read(reopened.spool.entries[0]!)).toString()).toBe("first");
    // New batches continue the sequence, so their names never collide with the old ones.
    expect((await reopened.spool.write({ batchId: "d", sealedAtMs: NOW, samples: 1, runs: 1 }, Buffer.from("x"))).seq).toBe(2);

    await reopened.spool.remove(reopened.spool.entries[0]!);
    expect(readdirSync(dir).sort()).toEqual(["README", spoolFileName({ batchId: "b", sealedAtMs: NOW, seq: 1, samples: 3, runs: 3 }), spoolFileName({ batchId: "d", sealedAtMs: NOW, seq: 2, samples: 1, runs: 1 })].sort());
    expect(existsSync(path.join(dir, a.file))).toBe(false);
  });

  it("entriesToDrop: oldest idle entries first, until the new batch fits; undefined when it cannot", () => {
    const e = (batchId: string, bytes: number): SpoolEntry => ({ batchId, bytes, file: batchId, sealedAtMs: NOW, seq: 0, samples: 1, runs: 1 });
    const entries = [e("a", 40), e("b", 30), e("c", 20)];
    const none = () => false;
    expect(entriesToDrop(entries, 90, 10, 100, none)).toEqual([]);
    expect(entriesToDrop(entries, 90, 30, 100, none)).toEqual([entries[0]]);
    expect(entriesToDrop(entries, 90, 60, 100, none)).toEqual([entries[0], entries[1]]);
    expect(entriesToDrop(entries, 90, 60, 100, (x) => x.batchId === "a")).toEqual([entries[1], entries[2]]);
    expect(entriesToDrop(entries, 90, 101, 100, none)).toBeUndefined();
  });
});

describe("sender", () => {
  let dir: string;
  let spool: Spool;
  let stats: Stats;
  let logs: Record<string, unknown>[];
  const clock = { ms: NOW };
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "agent-sender-"));
    spool = (await Spool.open(dir)).spool;
    stats = new Stats();
    logs = [];
    clock.ms = NOW;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A sender whose edge answers from `script` in order (the last answer repeats), or with what
   * `script(body)` says; records what was posted.
   */
  function sender(script: PostOutcome[] | ((body: string) => PostOutcome)) {
    const posted: string[] = [];
    const s = new Sender({
      spool,
      post: async (raw) => {
        const body = Buffer.from(raw).toString();
        posted.push(body);
        if (typeof script === "function") return script(body);
        return script.length > 1 ? script.shift()! : script[0]!;
      },
      maxInFlight: 2,
      retryBaseMs: 1,
      retryMaxMs: 4,
      maxBatchAgeMs: 59 * 60_000,
      stats,
      log: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)), nowMs: () => clock.ms }),
      nowMs: () => clock.ms,
    });
    return { s, posted };
  }
  const delivered = (duplicate = false): PostOutcome => ({ kind: "delivered", status: 202, accepted: 1, duplicate, rejected: [] });
  const down: PostOutcome = { kind: "retry", status: null, message: "ECONNREFUSED", retryAfterMs: null };

  it("retries the same body until delivered, then deletes the file", async () => {
    await spool.write({ batchId: "b1", sealedAtMs: NOW, samples: 1, runs: 1 }, Buffer.from("body-1"));
    const { s, posted } = sender([down, down, down, delivered()]);
    s.start();
    expect(await s.drain(5_000)).toBe(false);
    // drain stops at the first failed round; the loop goes on by itself.
    expect(await s.drain(5_000)).toBe(false);
    await expect.poll(() => spool.entries.length, { timeout: 5_000 }).toBe(0);
    await s.stop();
    expect(posted).toEqual(["body-1", "body-1", "body-1", "body-1"]);
    expect(stats).toMatchObject({ attemptsFailed: 3, batchesSent: 1, batchesDuplicate: 0, samplesAcceptedByEdge: 1, lastSuccessMs: NOW });
    expect(readdirSync(dir)).toEqual([]);
    expect(logs.filter((l) => l.event === "delivery_failed")).toHaveLength(1);
  });

  it("a duplicate answer counts as delivered but not as accepted again", async () => {
    await spool.write({ batchId: "b1", sealedAtMs: NOW, samples: 1, runs: 1 }, Buffer.from("x"));
    const { s } = sender([delivered(true)]);
    s.start();
    expect(await s.drain(5_000)).toBe(true);
    await s.stop();
    expect(stats).toMatchObject({ batchesSent: 1, batchesDuplicate: 1, samplesAcceptedByEdge: 0 });
  });

  it("a batch the edge refuses for good is dropped with its reason logged; the next one is delivered", async () => {
    await spool.write({ batchId: "bad", sealedAtMs: NOW, samples: 4, runs: 4 }, Buffer.from("bad"));
    await spool.write({ batchId: "good", sealedAtMs: NOW, samples: 1, runs: 1 }, Buffer.from("good"));
    // Both are posted in the same round, in either order.
    const { s } = sender((body) => (body === "bad" ? { kind: "drop", status: 400, code: "invalid_request", message: 'Unknown field "x".' } : delivered()));
    s.start();
    expect(await s.drain(5_000)).toBe(true);
    await s.stop();
    expect(stats.batchesDropped.rejected).toBe(1);
    expect(stats.samplesDropped.rejected).toBe(4);
    expect(stats.runsDropped.rejected).toBe(4);
    expect(logs.find((l) => l.event === "batch_rejected")).toMatchObject({ batch_id: "bad", samples: 4, status: 400, code: "invalid_request", message: 'Unknown field "x".' });
  });

  it("never sends a batch sealed more than 59 minutes ago: drops it and counts its samples", async () => {
    await spool.write({ batchId: "old", sealedAtMs: NOW - HOUR, samples: 7, runs: 7 }, Buffer.from("old"));
    await spool.write({ batchId: "fresh", sealedAtMs: NOW - 58 * 60_000, samples: 1, runs: 1 }, Buffer.from("fresh"));
    const { s, posted } = sender([delivered()]);
    s.start();
    expect(await s.drain(5_000)).toBe(true);
    await s.stop();
    expect(posted).toEqual(["fresh"]);
    expect(stats.batchesDropped.too_old).toBe(1);
    expect(stats.samplesDropped.too_old).toBe(7);
  });

  it("stop() aborts a post in flight and keeps its batch", async () => {
    // This sender runs on the real clock.
    await spool.write({ batchId: "b1", sealedAtMs: Date.now(), samples: 1, runs: 1 }, Buffer.from("x"));
    let aborted = false;
    let posting = false;
    const s = new Sender({
      spool,
      post: (_, signal) =>
        new Promise((resolve) => {
          posting = true;
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve({ kind: "retry", status: null, message: "aborted", retryAfterMs: null });
          });
        }),
      maxInFlight: 1,
      retryBaseMs: 1,
      retryMaxMs: 1,
      maxBatchAgeMs: HOUR,
      stats,
      log: createLogger({ level: "error", write: () => {} }),
    });
    s.start();
    await expect.poll(() => posting).toBe(true);
    expect(s.isBusy(spool.entries[0]!)).toBe(true);
    await s.stop();
    expect(aborted).toBe(true);
    expect(spool.entries.map((e) => e.batchId)).toEqual(["b1"]);
  });
});
