/**
 * Series past SERIES_RETENTION_HOURS, and which exports still have to deliver their end (a last
 * point flagged NoRecordedValue). A series is deleted once every export that was sending it has
 * delivered that point, or stopped sending (deleted, disabled, paused, or filtered it out).
 */
export class EndingSeries {
  readonly #waiting = new Map<string, Set<string>>();

  get size(): number {
    return this.#waiting.size;
  }

  keys(): IterableIterator<string> {
    return this.#waiting.keys();
  }

  has(key: string): boolean {
    return this.#waiting.has(key);
  }

  /** Whether `exportId`'s next push must end `key`. */
  endingFor(exportId: string, key: string): boolean {
    return this.#waiting.get(key)?.has(exportId) ?? false;
  }

  /** `key` ends at the next push of each of `exportIds` (callers delete it at once when there is none). */
  start(key: string, exportIds: readonly string[]): void {
    this.#waiting.set(key, new Set(exportIds));
  }

  /** A sample brought `key` back. */
  revive(key: string): void {
    this.#waiting.delete(key);
  }

  /** `exportId` delivered the end of `keys`: returns those no export is waiting for any more. */
  delivered(exportId: string, keys: readonly string[]): string[] {
    const done: string[] = [];
    for (const key of keys) {
      const waiting = this.#waiting.get(key);
      if (!waiting?.delete(exportId)) continue;
      if (waiting.size === 0) {
        this.#waiting.delete(key);
        done.push(key);
      }
    }
    return done;
  }

  /** `exportId` stopped sending: returns the series no export is waiting for any more. */
  dropExport(exportId: string): string[] {
    return this.delivered(exportId, [...this.#waiting.keys()]);
  }

  forget(keys: readonly string[]): void {
    for (const key of keys) this.#waiting.delete(key);
  }
}
