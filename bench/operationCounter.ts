import { FirestoreDocumentStore } from '../shared/adapters/firestoreDocumentStore.ts';
import { GcsObjectStore } from '../shared/adapters/gcsObjectStore.ts';
import { POINTER_PATH } from '../shared/orchestration/state/projectionStore.ts';

/** Storage operations seen by the adapters of this process, by kind. */
export interface OperationCounts {
  gcs: number;
  firestore: number;
  pointerMoves: number;
}

const counts: OperationCounts = { gcs: 0, firestore: 0, pointerMoves: 0 };
const pointerMoveTimes: number[] = [];

function wrap<T extends object>(
  prototype: T,
  methods: string[],
  count: (method: string, args: unknown[]) => void,
) {
  for (const method of methods) {
    const original = (prototype as Record<string, (...args: unknown[]) => unknown>)[method]!;
    (prototype as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      count(method, args);
      return original.apply(this, args);
    };
  }
}

let installed = false;

/**
 * Counts every call of the GCS and Firestore adapters in this process (the benchmarks host every
 * function in-process, so this is what the whole system asks of storage), and pointer moves (puts of
 * the manifest pointer). Installed once; read with `operationCounts()`.
 */
export function installOperationCounter() {
  if (installed) return;
  installed = true;
  wrap(GcsObjectStore.prototype, ['get', 'head', 'put', 'delete', 'list'], (method, args) => {
    counts.gcs += 1;
    if (method === 'put' && String(args[0]).endsWith(POINTER_PATH)) {
      counts.pointerMoves += 1;
      pointerMoveTimes.push(performance.now());
    }
  });
  wrap(
    FirestoreDocumentStore.prototype,
    [
      'get',
      'create',
      'set',
      'delete',
      'deleteMany',
      'getVersioned',
      'compareAndSet',
      'runTransaction',
      'query',
      'count',
    ],
    () => {
      counts.firestore += 1;
    },
  );
}

/** A copy of the counters so far. */
export function operationCounts(): OperationCounts {
  return { ...counts };
}

/** What happened between two readings. */
export function countsSince(before: OperationCounts): OperationCounts {
  const now = operationCounts();
  return {
    gcs: now.gcs - before.gcs,
    firestore: now.firestore - before.firestore,
    pointerMoves: now.pointerMoves - before.pointerMoves,
  };
}

/** The most pointer moves in any one-second window between two instants (performance.now() ms). */
export function maxPointerMovesPerSecond(fromMs: number, toMs: number): number {
  const times = pointerMoveTimes.filter((t) => t >= fromMs && t <= toMs);
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j += 1) {
    while (times[j]! - times[i]! >= 1000) i += 1;
    best = Math.max(best, j - i + 1);
  }
  return best;
}
