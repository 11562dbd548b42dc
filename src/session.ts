/**
 * Browser sessions for the Metrics Export page. `POST /session` takes a project key and answers
 * with a cookie holding a random 256-bit token (only its SHA-256 is stored, in D1 `sessions`); the
 * cookie is `HttpOnly`, `SameSite=Strict`, `Path=/`, and over HTTPS `Secure` with the `__Host-`
 * prefix. The project key itself never reaches the browser's storage and never a URL.
 *
 * A session acts as the project key it was opened with (same project, same key id) until it
 * expires (SESSION_TTL_MS, absolute), the user signs out, or the key is revoked. Lookups are cached
 * per isolate like keys (KEY_CACHE_TTL_MS): sign-out and revocation are immediate on the isolate
 * that served them and take at most that long elsewhere.
 *
 * CSRF: the cookie is SameSite=Strict, and requests it authenticates that change state must carry
 * `X-Requested-With` (a header a cross-site form cannot send and a cross-site fetch cannot send
 * without a CORS preflight that this service never approves) and must not be marked
 * `Sec-Fetch-Site: cross-site`/`same-site`. An `Origin` check alone does not work here: the pages
 * send `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` on same-origin POSTs.
 * The sign-in and sign-out forms cannot carry a custom header: see formPostFromAnotherSite.
 *
 * `Secure` follows the request's scheme: production is HTTPS (Cloudflare), where the cookie is
 * `__Host-cmx_session` with `Secure`; `npm start` serves http://127.0.0.1:8787, where a `Secure` cookie
 * would be refused by the browser, so it is `cmx_session` without it. Over HTTPS only the `__Host-`
 * name is read, so a plain-HTTP cookie can never stand in for it.
 */
import { KEY_CACHE_TTL_MS, LruCache, sha256Hex } from "./keys";

export const SESSION_TTL_MS = 12 * 60 * 60_000;
export const SESSION_COOKIE_HTTPS = "__Host-cmx_session";
/** Plain-HTTP name (local development only: production is always HTTPS). */
export const SESSION_COOKIE_HTTP = "cmx_session";
export const CSRF_HEADER = "x-requested-with";
const TOKEN = /^cmx_s_[A-Za-z0-9_-]{43}$/;
const SESSION_CACHE_MAX_ENTRIES = 10_000;

export interface Session {
  keyId: string;
  keyName: string;
  projectId: string;
  expiresAt: number;
}

const sessions = new LruCache<Session | null>(SESSION_CACHE_MAX_ENTRIES);

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Whether a form post (sign-in, sign-out: a form cannot add a custom header) was sent by another
 * site. `Sec-Fetch-Site`, when the browser sends it, says so directly. For browsers without Fetch
 * Metadata (login CSRF), an `Origin` that is present and not this origin is refused too. `Origin: null`
 * is let through: under this service's `Referrer-Policy: no-referrer` browsers send `null` on the
 * page's own same-origin posts, so `null` cannot tell them from a foreign page that chose no-referrer.
 */
export function formPostFromAnotherSite(requestUrl: string, secFetchSite: string | undefined, origin: string | undefined): boolean {
  if (secFetchSite !== undefined && secFetchSite !== "same-origin" && secFetchSite !== "none") return true;
  return origin !== undefined && origin !== "null" && origin !== new URL(requestUrl).origin;
}

export function cookieName(url: string): string {
  return new URL(url).protocol === "https:" ? SESSION_COOKIE_HTTPS : SESSION_COOKIE_HTTP;
}

/** The `Set-Cookie` value that stores `token` (or, with null, removes the cookie). */
export function sessionCookie(url: string, token: string | null): string {
  const https = new URL(url).protocol === "https:";
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(https ? ["Secure"] : [])];
  return token === null
    ? [`${cookieName(url)}=`, "Max-Age=0", ...attributes].join("; ")
    : [`${cookieName(url)}=${token}`, `Max-Age=${SESSION_TTL_MS / 1000}`, ...attributes].join("; ");
}

/** The session token in a `Cookie` header, or null (malformed values are ignored, never looked up). */
export function sessionToken(url: string, cookieHeader: string | undefined): string | null {
  if (cookieHeader === undefined) return null;
  const name = cookieName(url);
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    if (TOKEN.test(value)) return value;
  }
  return null;
}

/** Opens a session for a project key (already verified by the caller); returns the cookie's token. */
export async function createSession(db: D1Database, keyId: string, projectId: string, now = Date.now()): Promise<string> {
  const token = "cmx_s_" + base64url(crypto.getRandomValues(new Uint8Array(32)));
  await db.batch([
    db.prepare("DELETE FROM sessions WHERE expires_at <= ?").bind(now),
    db
      .prepare("INSERT INTO sessions (session_hash, key_id, project_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .bind(await sha256Hex(token), keyId, projectId, now, now + SESSION_TTL_MS),
  ]);
  return token;
}

interface SessionRow {
  key_id: string;
  name: string;
  project_id: string;
  expires_at: number;
}

/** The live session behind `token`, or null (unknown, expired, signed out, or its key revoked). */
export async function findSession(db: D1Database, token: string, now = Date.now()): Promise<Session | null> {
  const hash = await sha256Hex(token);
  let session = sessions.get(hash, now);
  if (session === undefined) {
    const row = await db
      .prepare(
        "SELECT s.key_id, k.name, s.project_id, s.expires_at FROM sessions s JOIN api_keys k ON k.key_id = s.key_id " +
          "WHERE s.session_hash = ? AND k.revoked_at IS NULL",
      )
      .bind(hash)
      .first<SessionRow>();
    session = row === null ? null : { keyId: row.key_id, keyName: row.name, projectId: row.project_id, expiresAt: row.expires_at };
    sessions.set(hash, session, now);
  }
  return session !== null && session.expiresAt > now ? session : null;
}

/** Sign out: the session is gone at once on this isolate. */
export async function deleteSession(db: D1Database, token: string): Promise<void> {
  const hash = await sha256Hex(token);
  await db.prepare("DELETE FROM sessions WHERE session_hash = ?").bind(hash).run();
  sessions.delete(hash);
}

/** A revoked key's sessions end with it. */
export async function deleteKeySessions(db: D1Database, keyId: string): Promise<void> {
  const hashes = await db.prepare("DELETE FROM sessions WHERE key_id = ? RETURNING session_hash").bind(keyId).all<{ session_hash: string }>();
  for (const row of hashes.results) sessions.delete(row.session_hash);
}

export { KEY_CACHE_TTL_MS as SESSION_CACHE_TTL_MS };
