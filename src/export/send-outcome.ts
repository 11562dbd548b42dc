/** What one HTTP request to a destination came to (a tagged union, classified in classify.ts). */

export interface PartialSuccess {
  rejectedDataPoints: number;
  errorMessage: string;
}

export type SendFailure =
  | { kind: "http"; status: number; bodyExcerpt: string; retryAfter: string | null; location?: string | null }
  | { kind: "timeout"; timeoutMs: number }
  | { kind: "network"; message: string }
  | { kind: "credentials_unreadable"; message: string };

export type SendOutcome = { kind: "ok"; status: number; partialSuccess: PartialSuccess | null; bodyExcerpt: string } | SendFailure;
