import { type FoldState, type Row, rowKey, TABLES, type TableName } from './projectionTables.ts';

/**
 * A copy-on-write view over a FoldState: reads see earlier writes, the base is never touched, and the
 * changed keys per table are known afterwards (they decide which shards a compaction rewrites).
 */
export class ProjectionDraft {
  private readonly writes = new Map<TableName, Map<string, Row | null>>();
  /** Bumped on every write, so a caller can tell whether one event changed anything. */
  changes = 0;

  constructor(private readonly base: FoldState) {}

  get<R extends Row = Row>(table: TableName, key: string): R | undefined {
    const written = this.writes.get(table);
    if (written?.has(key)) return (written.get(key) ?? undefined) as R | undefined;
    return this.base[table].get(key) as R | undefined;
  }

  put(table: TableName, row: Row) {
    let written = this.writes.get(table);
    if (!written) this.writes.set(table, (written = new Map()));
    written.set(rowKey(table, row), row);
    this.changes += 1;
  }

  remove(table: TableName, key: string) {
    if (this.get(table, key) === undefined) return;
    let written = this.writes.get(table);
    if (!written) this.writes.set(table, (written = new Map()));
    written.set(key, null);
    this.changes += 1;
  }

  /** Keys written (or removed) per table, and the rows as they now are (null = removed). */
  changed(): Map<TableName, Map<string, Row | null>> {
    return this.writes;
  }

  /** A new state: the base with this draft's writes applied. The base is left unchanged. */
  toState(): FoldState {
    const next = {} as Record<TableName, ReadonlyMap<string, Row>>;
    for (const table of TABLES) {
      const written = this.writes.get(table);
      if (!written?.size) {
        next[table] = this.base[table];
        continue;
      }
      const merged = new Map(this.base[table]);
      for (const [key, row] of written) {
        if (row === null) merged.delete(key);
        else merged.set(key, row);
      }
      next[table] = merged;
    }
    return next;
  }

  /** Applies the writes to a state the caller owns (the compactor's cached state), without copying. */
  applyTo(state: FoldState) {
    for (const [table, written] of this.writes) {
      const target = state[table] as Map<string, Row>;
      for (const [key, row] of written) {
        if (row === null) target.delete(key);
        else target.set(key, row);
      }
    }
  }
}
