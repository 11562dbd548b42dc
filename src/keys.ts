/**
 * API keys: 256 random bits behind a recognisable prefix (`cmx_pk_` project keys, `cmx_ik_` ingest
 * keys) so secret scanners can spot leaks. Only SHA-256 hashes are stored; lookups go by hash and
 * the final comparison is constant-time. Lookups are cached per isolate for at most
 * KEY_CACHE_TTL_MS, which bounds how long a revoked key keeps working elsewhere.
 */

export type KeyScope = "project" | "ingest";

export interface KeyRecord {
  keyId: string;
  keyHash: string;
  scope: KeyScope;
  projectId: string | null;
  hostId: string | null;
  /** The label given at creation (audit entries name the key by it). */
  name: string;
  revoked: boolean;
}

export const KEY_PREFIX: Record<KeyScope, string> = { project: "cmx_pk_", ingest: "cmx_ik_" };
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_SECRET_BYTES = 32;
const KEY_PATTERN = /^cmx_(pk|ik)_[A-Za-z0-9_-]{43}$/;
/** Known keys cached per isolate (least recently used evicted first). */
export const KEY_CACHE_MAX_ENTRIES = 10_000;
/**
 * Unknown tokens are cached apart and far fewer: random `cmx_…` tokens (anyone can make them) can
 * only push out other unknown tokens, never a real key.
 */
export const UNKNOWN_KEY_CACHE_MAX_ENTRIES = 1_000;

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(value: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value))));
}

/** Constant-time comparison of two equal-length hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.length !== y.length) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

export async function generateKey(scope: KeyScope): Promise<{ keyId: string; key: string; keyHash: string }> {
  const key = KEY_PREFIX[scope] + base64url(crypto.getRandomValues(new Uint8Array(KEY_SECRET_BYTES)));
  const keyId = "key_" + hex(crypto.getRandomValues(new Uint8Array(8)));
  return { keyId, key, keyHash: await sha256Hex(key) };
}

export function looksLikeKey(token: string): boolean {
  return KEY_PATTERN.test(token);
}

interface CacheEntry<T> {
  value: T;
  fetchedAt: number;
}

/** A Map bounded to `max` entries that drops the least recently used one first; entries live KEY_CACHE_TTL_MS. */
export class LruCache<T> {
  readonly #entries = new Map<string, CacheEntry<T>>();
  constructor(readonly max: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (now - entry.fetchedAt >= KEY_CACHE_TTL_MS) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry.value;
  }

  set(key: string, value: T, now: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, fetchedAt: now });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

const knownKeys = new LruCache<KeyRecord>(KEY_CACHE_MAX_ENTRIES);
const unknownKeys = new LruCache<null>(UNKNOWN_KEY_CACHE_MAX_ENTRIES);

interface KeyRow {
  key_id: string;
  key_hash: string;
  scope: KeyScope;
  project_id: string | null;
  host_id: string | null;
  name: string;
  revoked_at: string | null;
}

/**
 * The record of the key whose SHA-256 is `hash`, or null when unknown. Revoked keys come back with
 * `revoked: true`.
 */
export async function findKey(db: D1Database, hash: string, now = Date.now()): Promise<KeyRecord | null> {
  const known = knownKeys.get(hash, now);
  if (known !== undefined) return known;
  if (unknownKeys.get(hash, now) !== undefined) return null;
  const row = await db
    .prepare("SELECT key_id, key_hash, scope, project_id, host_id, name, revoked_at FROM api_keys WHERE key_hash = ?")
    .bind(hash)
    .first<KeyRow>();
  const record: KeyRecord | null =
    row && digestsEqual(row.key_hash, hash)
      ? {
          keyId: row.key_id,
          keyHash: row.key_hash,
          scope: row.scope,
          projectId: row.project_id,
          hostId: row.host_id,
          name: row.name,
          revoked: row.revoked_at !== null,
        }
      : null;
  if (record === null) unknownKeys.set(hash, null, now);
  else knownKeys.set(hash, record, now);
  return record;
}

/** Drops a revoked key from this isolate's cache at once (other isolates expire it within the TTL). */
export function forgetKeyHash(keyHash: string): void {
  knownKeys.delete(keyHash);
  unknownKeys.delete(keyHash);
}
