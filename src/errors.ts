/**
 * The API's error vocabulary. Every error response is `{"error": {"code", "message"}}`; the code is
 * stable (clients branch on it), the message is for people.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "header_values_required"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "forbidden"
  | "cross_site_request"
  | "not_found"
  | "project_not_found"
  | "key_not_found"
  | "project_exists"
  | "export_not_configured"
  | "export_not_found"
  | "export_limit_reached"
  | "export_name_taken"
  | "header_required"
  | "notification_not_found"
  | "notification_limit_reached"
  | "notification_name_taken"
  | "credentials_unreadable"
  | "export_not_enabled"
  | "export_paused"
  | "rate_limited"
  | "misconfigured"
  | "internal";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A failure crossing the Durable Object RPC boundary (class identity does not survive RPC). */
export interface ErrorBody {
  status: ContentfulStatusCode;
  code: ErrorCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** A failed Result. */
export const failed = (error: ErrorBody): { ok: false; error: ErrorBody } => ({ ok: false, error });

/** A failed Result from its status, code and message. */
export const failure = (status: ErrorBody["status"], code: ErrorCode, message: string) => failed({ status, code, message });

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.error.status, result.error.code, result.error.message);
}

export function invalid(message: string): ApiError {
  return new ApiError(400, "invalid_request", message);
}
