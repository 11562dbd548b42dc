/**
 * What the batch ledger remembers of an applied batch, so that a re-sent batch gets the original
 * answer: the accepted count, and the object's rejections (series_limit) in bounded form — their
 * count and the first few. Storing every rejection cost ~650 KB per rejected 5,000-sample batch for
 * the ledger's whole hour, and any ingest key can send such batches to any project.
 */
import type { SampleRejection } from "../validation/samples";

export const MAX_STORED_REJECTIONS = 5;

export interface LedgerEntry {
  accepted: number;
  rejectedCount: number;
  /** The first MAX_STORED_REJECTIONS rejections, in sample order. */
  examples: SampleRejection[];
}

export function ledgerEntry(accepted: number, rejected: readonly SampleRejection[]): LedgerEntry {
  return { accepted, rejectedCount: rejected.length, examples: rejected.slice(0, MAX_STORED_REJECTIONS) };
}
