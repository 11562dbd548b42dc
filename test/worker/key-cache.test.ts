/**
 * The per-isolate API-key cache (src/keys.ts): random fake tokens must never push a real key out
 * of it. D1 is replaced by a counting stand-in here because the point is how many lookups reach it.
 */
import { describe, expect, it } from "vitest";
import { findKey, KEY_CACHE_MAX_ENTRIES, sha256Hex, UNKNOWN_KEY_CACHE_MAX_ENTRIES } from "../../src/keys";

/** A D1 stand-in answering `SELECT … FROM api_keys WHERE key_hash = ?` from a map, counting queries. */
function countingDb(rows: Map<string, Record<string, unknown>>) {
  const db = {
    queries: 0,
    prepare: () => ({
      bind: (hash: string) => ({
        first: async () => {
          db.queries += 1;
          return rows.get(hash) ?? null;
        },
      }),
    }),
  };
  return db;
}

const randomHash = () => sha256Hex(crypto.randomUUID());

describe("API key cache", () => {
  it("10,000 unknown tokens do not evict a real key: its lookups keep hitting the cache", async () => {
    const now = Date.now();
    const realHash = await randomHash();
    const db = countingDb(new Map([[realHash, { key_id: "key_00000000000000aa", key_hash: realHash, scope: "project", project_id: "p-real", host_id: null, revoked_at: null }]]));
    expect(await findKey(db as never, realHash, now)).toMatchObject({ keyId: "key_00000000000000aa", revoked: false });
    expect(db.queries).toBe(1);

    const fakes = await Promise.all(Array.from({ length: KEY_CACHE_MAX_ENTRIES }, randomHash));
    for (const fake of fakes) expect(await findKey(db as never, fake, now)).toBeNull();
    expect(db.queries).toBe(1 + fakes.length);

    expect(await findKey(db as never, realHash, now + 1)).toMatchObject({ keyId: "key_00000000000000aa" });
    expect(db.queries).toBe(1 + fakes.length); // served from the cache
  });

  it("unknown tokens are remembered only up to their own bound, most recent first", async () => {
    const now = Date.now();
    const db = countingDb(new Map());
    const fakes = await Promise.all(Array.from({ length: UNKNOWN_KEY_CACHE_MAX_ENTRIES + 10 }, randomHash));
    for (const fake of fakes) await findKey(db as never, fake, now);
    const afterFill = db.queries;
    await findKey(db as never, fakes.at(-1)!, now); // recent: cached
    expect(db.queries).toBe(afterFill);
    await findKey(db as never, fakes[0]!, now); // evicted: looked up again
    expect(db.queries).toBe(afterFill + 1);
  });

  it("a cached answer expires after the TTL", async () => {
    const now = Date.now();
    const hash = await randomHash();
    const db = countingDb(new Map([[hash, { key_id: "key_00000000000000bb", key_hash: hash, scope: "ingest", project_id: null, host_id: "h", revoked_at: null }]]));
    await findKey(db as never, hash, now);
    await findKey(db as never, hash, now + 29_000);
    expect(db.queries).toBe(1);
    await findKey(db as never, hash, now + 30_000);
    expect(db.queries).toBe(2);
  });
});
