/**
 * Counts the SQLite rows the object writes, by what it was doing: on Cloudflare, rows written are
 * the storage bill (index entries count too, and SQLite's `rowsWritten` includes them). The object
 * names the category right before each (synchronous) write block; GET /v1/projects/{id}/stats shows
 * the totals.
 */
export type WriteCategory = "ingest" | "push" | "housekeeping" | "config";

export class RowMeter {
  readonly totals: Record<WriteCategory, number> = { ingest: 0, push: 0, housekeeping: 0, config: 0 };
  category: WriteCategory = "config";

  /** `sql` with every statement's rows written added to the current category. */
  wrap(sql: SqlStorage): SqlStorage {
    const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
      const cursor = sql.exec<T>(query, ...bindings);
      this.totals[this.category] += cursor.rowsWritten;
      return cursor;
    };
    return new Proxy(sql, { get: (target, prop) => (prop === "exec" ? exec : Reflect.get(target, prop, target)) });
  }

  get total(): number {
    return this.totals.ingest + this.totals.push + this.totals.housekeeping + this.totals.config;
  }
}
