/** What one HTTP request to a destination came to (a tagged union, classified in classify.ts). */

export interface PartialSuccess {
  rejectedDataPoints: number;
  errorMessage: string;
}

export type SendFailure =
  | { kind: "http"; status: number; bodyExcerpt: string; retryAfter: string | null; location?: string | null }
  | { kind: "timeout"; timeoutMs: number }
  | { kind: "network"; message: string }
  | { kind: "credentials_unreadable"; message: string }
  /** The saved endpoint is on an address this deployment does not allow (nothing was sent). */
  | { kind: "endpoint_not_allowed"; message: string };

export type SendOutcome = { kind: "ok"; status: number; partialSuccess: PartialSuccess | null; bodyExcerpt: string } | SendFailure;
