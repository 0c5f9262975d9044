/**
 * A process-wide cache of immutable values read asynchronously (content-addressed shards, archives),
 * bounded by the bytes they were read from rather than by their number, least recently used first out.
 *
 * Why bytes: a count bound let a long-lived function instance hold thousands of superseded shard
 * versions whatever their size (each publish writes new ones), which a 512 MiB function cannot afford.
 * Concurrent callers of a key not yet cached share one load; a failed load is not kept, so the next
 * caller tries again. A value is counted once loaded; one larger than the whole budget is returned but
 * not kept.
 */
export class ByteBudgetCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; bytes: number }>();
  private totalBytes = 0;

  /** `budgetBytes`: the most bytes (as reported by each load) the cached values may stand for. */
  constructor(private readonly budgetBytes: number) {}

  /**
   * The value under `key`, from the cache or from `load`, which resolves to the value and the number of
   * bytes it was read from. Rejects as `load` does.
   */
  get(key: string, load: () => Promise<{ value: V; bytes: number }>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-inserting moves the key to the end of the map's order: the most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry: { value: Promise<V>; bytes: number } = { value: Promise.resolve(undefined as V), bytes: 0 };
    entry.value = load().then(
      ({ value, bytes }) => {
        if (this.entries.get(key) === entry) {
          entry.bytes = bytes;
          this.totalBytes += bytes;
          this.evictBeyondBudget();
        }
        return value;
      },
      (error: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Bytes the loaded values stand for, and how many keys are cached or loading (for tests and metrics). */
  get size(): { bytes: number; entries: number } {
    return { bytes: this.totalBytes, entries: this.entries.size };
  }

  private evictBeyondBudget(): void {
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.budgetBytes) return;
      // A load still in flight counts nothing yet; its callers keep their promise either way.
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
    }
  }
}
