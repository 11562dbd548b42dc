/**
 * Signing notification webhooks (HMAC-SHA-256, like Stripe and Standard Webhooks) so a receiver can
 * tell our deliveries from forgeries and replays. WebCrypto only: runs in workerd and Node alike.
 */

/** The request header carrying `t=<unix seconds>,v1=<hex HMAC>`. */
export const SIGNATURE_HEADER = "X-Signature";
/** The request header carrying the event id: the same on every delivery attempt of one event. */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** How far a signature's timestamp may be from the receiver's clock by default. */
export const DEFAULT_TOLERANCE_SEC = 300;

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
const utf8 = new TextEncoder();

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(message)));
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The signature header value for `body` sent at `timestampSec`: `t=<timestampSec>,v1=<lowercase hex
 * of HMAC-SHA-256 keyed by the UTF-8 secret over "<timestampSec>.<body>">`.
 */
export async function signatureHeader(secret: string, timestampSec: number, body: string): Promise<string> {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError("timestampSec must be a non-negative integer");
  return `t=${timestampSec},v1=${hex(await hmac(secret, `${timestampSec}.${body}`))}`;
}

/** Equal strings, in time independent of where they differ (both are 64 hex characters here). */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** `t` and the `v1` signatures of a header; null when malformed (no or several `t`, no `v1`, bad values). */
function parseHeader(header: string): { t: number; v1: string[] } | null {
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (t !== null || !/^\d{1,15}$/.test(value)) return null;
      t = Number(value);
    } else if (key === "v1") {
      if (!/^[0-9a-f]{64}$/i.test(value)) return null;
      v1.push(value.toLowerCase());
    }
    // Other schemes (a future v2) are ignored, so senders can add them before receivers know them.
  }
  return t === null || v1.length === 0 ? null : { t, v1 };
}

/**
 * Whether `header` signs `body` with `secret` at a time within `toleranceSec` of `nowSec` (either
 * way). Several `v1=` entries (a secret rotation) are accepted when any matches; anything malformed
 * is rejected.
 */
export async function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowSec: number,
  toleranceSec = DEFAULT_TOLERANCE_SEC,
): Promise<boolean> {
  if (typeof header !== "string") return false;
  const parsed = parseHeader(header);
  if (parsed === null || Math.abs(nowSec - parsed.t) > toleranceSec) return false;
  const expected = hex(await hmac(secret, `${parsed.t}.${body}`));
  let ok = false;
  for (const candidate of parsed.v1) ok = constantTimeEqual(candidate, expected) || ok;
  return ok;
}

/** A new signing secret: `whsec_` and 32 random bytes in unpadded base64url (43 characters). */
export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  const base64 = btoa(String.fromCharCode(...bytes));
  return SECRET_PREFIX + base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
