/**
 * A process-wide cache of immutable values read asynchronously (content-addressed shards, archives),
 * bounded by the bytes they were read from rather than by their number, least recently used first out.
 *
 * Why bytes: a count bound let a long-lived function instance hold thousands of superseded shard
 * versions whatever their size (each publish writes new ones), which a 512 MiB function cannot afford.
 * Concurrent callers of a key not yet cached share one load; a failed load is not kept, so the next
 * caller tries again. A value is counted once loaded; one larger than the whole budget is returned but
 * not kept, and pushes nothing else out.
 */
interface Entry<V> {
  value: Promise<V>;
  bytes: number;
  /** False while the load is in flight: such an entry counts no bytes and is never evicted. */
  loaded: boolean;
}

export class ByteBudgetCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
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
    const entry: Entry<V> = {
      value: Promise.resolve(undefined as V),
      bytes: 0,
      loaded: false,
    };
    entry.value = load().then(
      ({ value, bytes }) => {
        // Only this load's own outcome removes an entry still loading: it is the key's entry here.
        if (bytes > this.budgetBytes) {
          this.entries.delete(key);
          return value;
        }
        entry.bytes = bytes;
        entry.loaded = true;
        this.totalBytes += bytes;
        this.evictBeyondBudget();
        return value;
      },
      (error: unknown) => {
        this.entries.delete(key);
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
      // A load still in flight frees nothing yet, and its later callers should share it.
      if (!entry.loaded) continue;
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
    }
  }
}
