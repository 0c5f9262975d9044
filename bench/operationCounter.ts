/**
 * What the whole local stack asked of storage, read from its aggregated `/metrics` (every function
 * process's registry): adapter calls by store, Firestore documents read, written and deleted, manifest pointer moves, and the histogram of intervals
 * between a workspace's pointer moves.
 */
export interface OperationCounts {
  gcs: number;
  firestore: number;
  /** Firestore documents read, written and deleted: the units Firestore bills. */
  firestoreDocuments: number;
  pointerMoves: number;
  /** Adapter calls by `store operation` (`gcs put`, `firestore setMany`) and Firestore documents by kind (`firestore write documents`). */
  byOperation: Map<string, number>;
  /** Cumulative count of pointer-move intervals at or under each bucket bound (seconds). */
  intervalsAtMost: Map<number, number>;
}

const SAMPLE = /^([a-z_]+)(\{[^}]*\})? (\S+)$/;

/** The counters now, from `GET {baseUrl}/metrics` with an operator's bearer token. */
export async function operationCounts(baseUrl: string, token: string): Promise<OperationCounts> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const counts: OperationCounts = {
    gcs: 0,
    firestore: 0,
    firestoreDocuments: 0,
    pointerMoves: 0,
    byOperation: new Map(),
    intervalsAtMost: new Map(),
  };
  for (const line of (await response.text()).split('\n')) {
    const [, name, labels = '', value] = SAMPLE.exec(line) ?? [];
    if (!name) continue;
    const n = Number(value);
    if (name === 'storage_operations_total') {
      if (labels.includes('store="gcs"')) counts.gcs += n;
      if (labels.includes('store="firestore"')) counts.firestore += n;
      const kind = `${/store="([^"]+)"/.exec(labels)?.[1]} ${/operation="([^"]+)"/.exec(labels)?.[1]}`;
      counts.byOperation.set(kind, (counts.byOperation.get(kind) ?? 0) + n);
    } else if (name === 'firestore_documents_total') {
      counts.firestoreDocuments += n;
      const kind = `firestore ${/kind="([^"]+)"/.exec(labels)?.[1]} documents`;
      counts.byOperation.set(kind, (counts.byOperation.get(kind) ?? 0) + n);
    } else if (name === 'orchestration_pointer_moves_total') counts.pointerMoves += n;
    else if (name === 'orchestration_pointer_move_interval_seconds_bucket') {
      const le = Number(/le="([^"]+)"/.exec(labels)?.[1]);
      counts.intervalsAtMost.set(le, (counts.intervalsAtMost.get(le) ?? 0) + n);
    }
  }
  return counts;
}

/** What happened between two readings. */
export function countsSince(before: OperationCounts, after: OperationCounts): OperationCounts {
  return {
    gcs: after.gcs - before.gcs,
    firestore: after.firestore - before.firestore,
    firestoreDocuments: after.firestoreDocuments - before.firestoreDocuments,
    pointerMoves: after.pointerMoves - before.pointerMoves,
    byOperation: new Map(
      [...after.byOperation].map(([kind, n]) => [kind, n - (before.byOperation.get(kind) ?? 0)]),
    ),
    intervalsAtMost: new Map(
      [...after.intervalsAtMost].map(([le, n]) => [le, n - (before.intervalsAtMost.get(le) ?? 0)]),
    ),
  };
}

/** The shortest interval between two pointer moves, as the histogram bucket it fell in (`0.9–1 s`). */
export function shortestPointerInterval(counts: OperationCounts): string {
  const bounds = [...counts.intervalsAtMost.keys()].sort((a, b) => a - b);
  const first = bounds.findIndex((le) => (counts.intervalsAtMost.get(le) ?? 0) > 0);
  if (first < 0) return 'none';
  const upper = bounds[first]!;
  if (!Number.isFinite(upper)) return `> ${bounds[first - 1]} s`;
  return first === 0 ? `≤ ${upper} s` : `${bounds[first - 1]}–${upper} s`;
}
