// @ts-check
/**
 * The JSON API, called with the session cookie. Every call carries X-Requested-With (the server's
 * CSRF check for cookie-authenticated requests, src/session.ts). A 401 means the session ended.
 */

/** @typedef {{ code: string, message: string }} ApiErrorBody */
/** @typedef {{ ok: true, status: number, body: any } | { ok: false, status: number, error: ApiErrorBody }} ApiResult */

/**
 * @param {"GET" | "POST" | "PUT" | "PATCH" | "DELETE"} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<ApiResult>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { "X-Requested-With": "metrics-export-page", Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
  } catch {
    return { ok: false, status: 0, error: { code: "network", message: "The service could not be reached. Check your connection and try again." } };
  }
  if (response.status === 401) {
    window.location.assign("/");
    return { ok: false, status: 401, error: { code: "unauthorized", message: "Your session has ended: sign in again." } };
  }
  if (response.status === 204) return { ok: true, status: 204, body: null };
  /** @type {any} */
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed };
  const error = parsed && typeof parsed === "object" && parsed.error && typeof parsed.error.message === "string" ? parsed.error : { code: "internal", message: `The service answered HTTP ${response.status}.` };
  return { ok: false, status: response.status, error };
}
