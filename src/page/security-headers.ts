/**
 * Headers on every response the worker makes (pages and API alike, errors and 500s too). public/_headers
 * gives the static assets exactly this set: test/unit/page-security-headers.test.ts compares the two, so
 * a header added here must be added there. The CSP allows scripts, styles, fetches and form posts from this origin only:
 * no inline script or style, no framing, no plugins, no base-URI tricks.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

/** Sets the security headers (and no-store: pages and API answers describe live, per-user state). */
export function applySecurityHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  if (!headers.has("cache-control")) headers.set("Cache-Control", "no-store");
}
