import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/adapters/clock.ts';
import type { ObjectStore } from '../../shared/adapters/objectStore.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { InjectedFault } from '../../shared/core/failpoints.ts';
import { CompactionLease } from '../../shared/orchestration/state/compactionLease.ts';
import {
  CompactionInputError,
  Compactor,
  LeaseBusyError,
  resetCompactorCache,
} from '../../shared/orchestration/state/compactor.ts';
import { ledgerPath } from '../../shared/orchestration/state/events.ts';
import { Ledger } from '../../shared/orchestration/state/ledger.ts';
import { compactorFor, ledgerFor, readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import {
  POINTER_PATH,
  type Manifest,
  type Pointer,
  ProjectionStore,
} from '../../shared/orchestration/state/projectionStore.ts';
import {
  keyOf,
  type Row,
  TABLES,
  type TableName,
} from '../../shared/orchestration/state/projectionTables.ts';
import { appendVisible } from '../../shared/orchestration/state/visibility.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { runEvents } from '../support/eventFactory.ts';
import { testDependencies, uniqueName } from '../support/testDependencies.ts';

/** An ObjectStore that counts list calls, to prove no correctness path lists the bucket. */
function countingStore(inner: ObjectStore) {
  const counts = { list: 0 };
  const store: ObjectStore = {
    get: (k) => inner.get(k),
    head: (k) => inner.head(k),
    put: (k, b, o) => inner.put(k, b, o),
    delete: (k, o) => inner.delete(k, o),
    list: (p, o) => {
      counts.list += 1;
      return inner.list(p, o);
    },
  };
  return { store, counts };
}

describe('state store: ledger, compactor, projections', () => {
  let deps: Dependencies;
  let clock: ManualClock;
  let scope: { tenant: string; workspace: string };
  let objects: ObjectStore;
  let counts: { list: number };

  beforeEach(async () => {
    clock = new ManualClock(new Date());
    const base = await testDependencies({ clock });
    const counting = countingStore(base.objects);
    counts = counting.counts;
    // One set of dependencies, so the hints of its appends reach the scheduler the test drains.
    deps = await testDependencies({ clock, objects: counting.store }, undefined, base.config.bucket);
    scope = { tenant: 'acme', workspace: uniqueName('ws') };
    objects = scopedObjectStore(deps.objects, scope);
    resetCompactorCache();
  });

  /** These tests drive the compactor themselves: appends send no hint that could fold them first. */
  const quietLedger = (of: { tenant: string; workspace: string }) => ledgerFor(deps, of, { hint: false });
  const tablesOf = async () => {
    const snapshot = await readerFor(deps, scope).snapshot();
    return Object.fromEntries(
      await Promise.all(TABLES.map(async (t) => [t, await snapshot.rows(t)] as const)),
    ) as Record<TableName, Row[]>;
  };
  const pointer = async () => JSON.parse((await objects.get(POINTER_PATH))!.bytes.toString()) as Pointer;
  const manifest = async () =>
    JSON.parse((await objects.get((await pointer()).manifest_path))!.bytes.toString()) as Manifest;

  // Appending, folding and publishing one batch, and repeated or changed appends, are domain behaviour
  // tested on the in-memory adapters (ledgerAndCompaction.memory.test.ts); the adapters' contract suites
  // prove the emulator-backed ones behave the same.

  it('rewrites only the shards a compaction touched', async () => {
    const ledger = quietLedger(scope);
    for (const run of ['r1', 'r2', 'r3', 'r4']) await ledger.append(runEvents(run).map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const before = await manifest();
    await ledger.append([{ data: { type: 'run_cancel_requested', runId: 'r2', requestedBy: 'ops' } }]);
    await compactorFor(deps, scope).drain();
    const after = await manifest();
    const changedShards = TABLES.flatMap((t) =>
      Object.keys({ ...before.tables[t], ...after.tables[t] })
        .filter((s) => before.tables[t][s]?.path !== after.tables[t][s]?.path)
        .map((s) => `${t}/${s}`),
    );
    expect(changedShards.length).toBeGreaterThan(0);
    expect(
      changedShards.every((s) =>
        /^(runs|tasks|dep_satisfaction|idempotency_keys|partition_status)\//.test(s),
      ),
    ).toBe(true);
    expect(changedShards.filter((s) => s.startsWith('runs/'))).toHaveLength(1);
  });

  for (const failpoint of ['compactor.after_shards', 'compactor.after_manifest', 'compactor.after_pointer']) {
    it(`converges after a crash at ${failpoint}: nothing lost, nothing duplicated, never wedged`, async () => {
      const ledger = quietLedger(scope);
      await ledger.append(runEvents('r1').map((data) => ({ data })));
      await compactorFor(deps, scope).drain();
      await ledger.append(runEvents('r2').map((data) => ({ data })));
      deps.failpoints.arm(failpoint, 1);
      await expect(compactorFor(deps, scope).drain()).rejects.toThrow(InjectedFault);
      resetCompactorCache();
      const retried = await compactorFor(deps, scope).drain();
      const tables = await tablesOf();
      expect(tables.runs.map((r) => r.runId).sort()).toEqual(['r1', 'r2']);
      expect(tables.tasks.filter((t) => t.state === 'SUCCEEDED')).toHaveLength(2);
      expect(new Set(tables.idempotency_keys.map((k) => k.idempotencyKey)).size).toBe(
        tables.idempotency_keys.length,
      );
      if (failpoint === 'compactor.after_manifest') expect(Number(retried.manifest_id)).toBe(3);

      const reference = { tenant: 'acme', workspace: uniqueName('ref') };
      const refLedger = quietLedger(reference);
      await refLedger.append(runEvents('r1').map((data) => ({ data })));
      await refLedger.append(runEvents('r2').map((data) => ({ data })));
      await compactorFor(deps, reference).drain();
      const refSnapshot = await readerFor(deps, reference).snapshot();
      const strip = (rows: Array<Record<string, unknown>>) =>
        rows.map(
          ({
            rowVersion: _r,
            triggeredAt: _t,
            readyAt: _y,
            startedAt: _s,
            completedAt: _c,
            satisfiedAt: _a,
            lastAttemptAt: _l,
            lastMaterializationAt: _m,
            ...rest
          }) => rest,
        );
      const byKey = (rows: Array<Record<string, unknown>>) =>
        [...rows].sort((x, y) => (`${x.runId}/${x.taskKey}` < `${y.runId}/${y.taskKey}` ? -1 : 1));
      expect(strip(byKey(tables.tasks))).toEqual(strip(byKey(await refSnapshot.rows('tasks'))));
    });
  }

  it('fences publication: a holder whose lease was taken over cannot publish', async () => {
    const first = new CompactionLease(deps.documents, scope, clock, 'holder-a');
    const token = await first.acquire();
    expect(token).toBe(1);
    expect(await new CompactionLease(deps.documents, scope, clock, 'holder-b').acquire()).toBeNull();
    await expect(compactorFor(deps, scope).drain()).rejects.toThrow(LeaseBusyError);
    clock.advance(31_000);
    expect(await new CompactionLease(deps.documents, scope, clock, 'holder-b').acquire()).toBe(2);
    expect(await first.holds(token!)).toBe(false);

    const store = new ProjectionStore(objects);
    await quietLedger(scope).append(runEvents('r1').map((data) => ({ data })));
    clock.advance(31_000);
    await compactorFor(deps, scope).drain();
    const stale = await store.head(new Date().toISOString());
    await quietLedger(scope).append(runEvents('r2').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const orphan = await store.writeManifest({ ...stale.manifest, manifest_id: '00000000000000000002' });
    expect((await store.movePointer(stale, orphan.manifest, orphan.path, 'now')).moved).toBe(false);
  });

  it('rebuilds from an explicit list, byte-identical shards, with zero list calls', async () => {
    const ledger = quietLedger(scope);
    const paths: string[] = [];
    for (const run of ['r1', 'r2', 'r3']) {
      const { events } = await ledger.append(runEvents(run).map((data) => ({ data })));
      paths.push(...events.map(ledgerPath));
      await compactorFor(deps, scope).drain();
    }
    const incremental = await manifest();

    // Disaster: the projections are gone (pointer, manifests, shards), the ledger survives.
    await objects.delete(POINTER_PATH);
    resetCompactorCache();
    const listBefore = counts.list;
    const shuffled = [...paths].reverse().concat(paths.slice(0, 4));
    await objects.put('state/orchestration/rebuilds/dr-1.json', JSON.stringify({ event_paths: shuffled }));
    const result = await compactorFor(deps, scope).rebuild('state/orchestration/rebuilds/dr-1.json');
    expect(result).toMatchObject({ events_processed: 15, visibility_status: 'visible' });
    const rebuilt = await manifest();
    for (const table of TABLES)
      expect(
        Object.fromEntries(Object.entries(rebuilt.tables[table]).map(([s, a]) => [s, a.checksum_sha256])),
        table,
      ).toEqual(
        Object.fromEntries(Object.entries(incremental.tables[table]).map(([s, a]) => [s, a.checksum_sha256])),
      );
    expect(rebuilt.watermarks.last_visible_event_id).toBe(incremental.watermarks.last_visible_event_id);
    expect(counts.list).toBe(listBefore);

    const again = await compactorFor(deps, scope).rebuild('state/orchestration/rebuilds/dr-1.json');
    expect(again).toMatchObject({ events_processed: 0, manifest_revision: result.manifest_revision });
  });

  it('refuses a rebuild naming missing or malformed objects, publishing nothing', async () => {
    const { events } = await quietLedger(scope).append(runEvents('r1').map((data) => ({ data })));
    const compactor = compactorFor(deps, scope);
    const attempt = async (name: string, body: string) => {
      await objects.put(`state/orchestration/rebuilds/${name}.json`, body);
      try {
        await compactor.rebuild(`state/orchestration/rebuilds/${name}.json`);
        return null;
      } catch (error) {
        return error as CompactionInputError;
      }
    };
    const missing = await attempt(
      'missing',
      JSON.stringify({
        event_paths: [
          ledgerPath(events[0]!),
          'ledger/orchestration/2026-01-01/01JXXXXXXXXXXXXXXXXXXXXXXX.json',
        ],
      }),
    );
    expect(missing).toMatchObject({
      code: 'not_found',
      details: { missing_paths: ['ledger/orchestration/2026-01-01/01JXXXXXXXXXXXXXXXXXXXXXXX.json'] },
    });
    expect((await attempt('not-json', '{nope'))?.code).toBe('invalid_argument');
    const badPath = 'ledger/orchestration/2026-11-23/01JZZZZZZZZZZZZZZZZZZZZZZZ.json';
    await objects.put(badPath, '{"eventId":"01JZZZZZZZZZZZZZZZZZZZZZZZ","data":{}}');
    const malformed = await attempt('malformed-event', JSON.stringify({ event_paths: [badPath] }));
    expect(malformed).toMatchObject({ code: 'invalid_argument', details: { path: badPath } });
    expect(malformed?.message).toContain('is malformed');
    expect((await attempt('wrong-shape', '{"paths":[]}'))?.code).toBe('invalid_argument');
    expect((await attempt('not-ledger', JSON.stringify({ event_paths: ['state/x.json'] })))?.code).toBe(
      'invalid_argument',
    );
    await expect(compactor.rebuild('elsewhere/x.json')).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await objects.get(POINTER_PATH)).toBeNull();
  });

  it('answers mutations `visible` once published, `persisted_not_visible` when the compactor is held up', async () => {
    // No function host here to take the append's hint: wake this process's scheduler instead, as the
    // hint would. The mutation itself never compacts.
    const mutation = appendVisible(
      deps,
      scope,
      runEvents('r1').map((data) => ({ data })),
      5_000,
    );
    let answered = false;
    void mutation.finally(() => (answered = true));
    while (!answered) {
      await compactorFor(deps, scope).hint();
      await new Promise((r) => setTimeout(r, 10));
    }
    const visible = await mutation;
    expect(visible.visibility_status).toBe('visible');
    const run = (await (await readerFor(deps, scope).snapshot()).rowsOf('runs', 'r1')).find(
      (r) => r.runId === 'r1',
    );
    expect(run).toMatchObject({ state: 'RUNNING' });
    const tasks = await (await readerFor(deps, scope).snapshot()).rowsOf('tasks', 'r1');
    expect(tasks.map((t) => t.taskKey)).toEqual(['a', 'b']);

    await new CompactionLease(deps.documents, scope, clock, 'someone-else').acquire();
    const held = await appendVisible(
      deps,
      scope,
      runEvents('r2').map((data) => ({ data })),
      300,
    );
    expect(held.visibility_status).toBe('persisted_not_visible');
    clock.advance(31_000);
    await compactorFor(deps, scope).drain();
    const snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rows('runs')).map((r) => r.runId)).toEqual(expect.arrayContaining(['r1', 'r2']));
    expect((await snapshot.rowsOf('tasks', 'r2')).find((t) => t.taskKey === 'a')).toMatchObject({
      state: 'SUCCEEDED',
    });
    expect(keyOf('a', 'b')).toContain('a');
  });

  it('keeps every object under the workspace prefix', async () => {
    const { events } = await new Ledger({ ...deps, objects, scope }).append([{ data: runEvents('r1')[0]! }]);
    expect(
      await deps.objects.head(`tenant=acme/workspace=${scope.workspace}/${ledgerPath(events[0]!)}`),
    ).not.toBeNull();
    const compactor = new Compactor({ ...deps, objects, scope });
    await compactor.drain();
    expect(
      await deps.objects.head(`tenant=acme/workspace=${scope.workspace}/${POINTER_PATH}`),
    ).not.toBeNull();
  });
});
