/**
 * Authentication (who is calling) and authorisation guards (may they call this route).
 * Admin token: compared as SHA-256 digests in constant time. API keys: see keys.ts. Without an
 * Authorization header, the Metrics Export page's session cookie (session.ts) stands for the project
 * key it was opened with; requests it authenticates that change state must pass the CSRF check.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Actor } from "./audit/changes";
import type { AppEnv, Principal } from "./context";
import { ApiError } from "./errors";
import { digestsEqual, findKey, looksLikeKey, sha256Hex } from "./keys";
import { CSRF_HEADER, findSession, sessionToken } from "./session";
import type { Settings } from "./settings";

// The scheme name is case-insensitive (RFC 9110 §11.1): "bearer <token>" is as valid as "Bearer <token>".
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

// The admin token's digest, computed once per settings object (once per isolate), not per request.
const adminHashes = new WeakMap<Settings, Promise<string>>();
function adminTokenHash(settings: Settings): Promise<string> {
  let hash = adminHashes.get(settings);
  if (hash === undefined) adminHashes.set(settings, (hash = sha256Hex(settings.adminToken)));
  return hash;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A request from a page of this service, not one another site makes the browser send: it carries
 * X-Requested-With (cross-site senders cannot add it without a CORS preflight, never approved here)
 * and is not marked as coming from another site.
 */
export function sameSiteRequest(c: Context<AppEnv>): boolean {
  const site = c.req.header("sec-fetch-site");
  return (site === undefined || site === "same-origin" || site === "none") && (c.req.header(CSRF_HEADER) ?? "") !== "";
}

async function sessionPrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const token = sessionToken(c.req.url, c.req.header("cookie"));
  if (token === null) return null;
  const session = await findSession(c.env.DB, token);
  if (session === null) return null;
  if (!SAFE_METHODS.has(c.req.method) && !sameSiteRequest(c)) {
    throw new ApiError(403, "cross_site_request", `Requests signed in by the page's session cookie must come from the page itself (an ${CSRF_HEADER} header, same origin).`);
  }
  return { kind: "project", keyId: session.keyId, keyName: session.keyName, projectId: session.projectId };
}

async function authenticate(c: Context<AppEnv>): Promise<Principal | null> {
  const header = c.req.header("authorization");
  if (header === undefined) return sessionPrincipal(c);
  const match = BEARER.exec(header);
  if (!match) {
    throw new ApiError(401, "unauthorized", 'The Authorization header must be "Bearer <token>".');
  }
  const token = match[1]!;
  const tokenHash = await sha256Hex(token);
  if (digestsEqual(tokenHash, await adminTokenHash(c.get("settings")))) return { kind: "admin" };
  if (!looksLikeKey(token)) throw new ApiError(401, "unauthorized", "The token is not a valid admin token or API key.");
  const record = await findKey(c.env.DB, tokenHash);
  if (record === null || record.revoked) {
    throw new ApiError(401, "unauthorized", "The API key is unknown or has been revoked.");
  }
  if (record.scope === "project") return { kind: "project", keyId: record.keyId, keyName: record.name, projectId: record.projectId! };
  return { kind: "ingest", keyId: record.keyId, hostId: record.hostId! };
}

/** Resolves the caller (or null when no Authorization header) for the guards below. */
export const authMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("principal", await authenticate(c));
  await next();
};

function requirePrincipal(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (principal === null) {
    throw new ApiError(401, "unauthorized", 'Missing "Authorization: Bearer <token>" header (or, on the page, the session has ended: sign in again).');
  }
  return principal;
}

export function requireAdmin(c: Context<AppEnv>): void {
  if (requirePrincipal(c).kind !== "admin") {
    throw new ApiError(403, "forbidden", "This route needs the admin token.");
  }
}

/** A project key of exactly this project, or the admin token. */
export function requireProjectAccess(c: Context<AppEnv>, projectId: string): Principal {
  const principal = requirePrincipal(c);
  if (principal.kind === "admin") return principal;
  if (principal.kind === "project" && principal.projectId === projectId) return principal;
  throw new ApiError(403, "forbidden", "This key does not give access to this project.");
}

/** Who an audit entry names for this caller (after requireProjectAccess). */
export function actorOf(principal: Principal): Actor {
  return principal.kind === "project" ? { kind: "key", key_id: principal.keyId, key_name: principal.keyName } : { kind: "admin" };
}

export function requireIngest(c: Context<AppEnv>): { keyId: string; hostId: string } {
  const principal = requirePrincipal(c);
  if (principal.kind !== "ingest") {
    throw new ApiError(403, "forbidden", "Posting samples needs an ingest key (POST /v1/ingest-keys).");
  }
  return principal;
}
