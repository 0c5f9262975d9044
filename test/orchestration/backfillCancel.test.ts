import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { CHUNK_FENCE, chunkRunRequest } from '../../shared/orchestration/backfill/backfillController.ts';
import { ManifestStore } from '../../shared/orchestration/manifestStore.ts';
import { LeaseBusyError } from '../../shared/orchestration/state/compactor.ts';
import { compactorFor, ledgerFor, readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import type { PipelineBackfill } from '../../shared/orchestration/pipeline/pipelineBackfills.ts';
import { TriggerError, triggerRun } from '../../shared/orchestration/run/triggerRun.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { workerAttempt } from '../support/eventFactory.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };

interface Backfill {
  state: string;
  chunkCounts: { total: number; pending: number; running: number; succeeded: number; failed: number };
}
interface Chunk {
  chunkIndex: number;
  state: string;
  runId?: string;
}

/**
 * A cancelled backfill is CANCELING until every run it started has ended, including a run started
 * concurrently with the cancel, and only then CANCELED (issue #16 item 9). No worker URL: the test
 * finishes the runs itself, so it decides when each one ends.
 */
describe('cancelling backfills on the emulators', () => {
  let deps: Dependencies;
  beforeAll(async () => {
    deps = await testDependencies();
  });

  const workspace = async (manifest: Record<string, unknown>) => {
    const scope = { tenant: 'acme', workspace: uniqueName('cancel') };
    const app = createGatewayApp(deps);
    const api = apiClient(app, await bearer({ ...scope, roles: ['operator'] }));
    const internal = apiClient(app, await bearer({ ...scope, internal: true }));
    const ws = `/api/v1/workspaces/${scope.workspace}`;
    expect((await api.post(`${ws}/manifests`, { codeVersionId: 'v1', ...manifest })).status).toBe(201);
    /**
     * Folds and publishes whatever is pending (no function host takes this process's hints), so the next
     * read sees every mutation made so far.
     */
    const settle = async () => {
      for (let attempt = 0; attempt < 50; attempt += 1)
        try {
          await compactorFor(deps, scope).drain();
          return;
        } catch (error) {
          if (!(error instanceof LeaseBusyError)) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      throw new Error('the compaction lease stayed busy');
    };
    /** One automation pass on settled state, settled again so that its effects read back at once. */
    const tick = async () => {
      await settle();
      const response = await internal.post<Record<string, Record<string, number>>>(
        '/internal/automation/tick',
        { now: new Date().toISOString() },
      );
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      await settle();
      return response.body;
    };
    /** Plays the worker of every task of a run: each succeeds. */
    const finish = async (runId: string) => {
      await settle();
      const run = await api.get<{ tasks: Array<{ taskKey: string }> }>(`${ws}/runs/${runId}`);
      await ledgerFor(deps, scope).append(
        run.body.tasks.flatMap(({ taskKey }) => workerAttempt(runId, taskKey, { outcome: 'succeeded' })),
      );
      await settle();
      expect((await api.get<{ state: string }>(`${ws}/runs/${runId}`)).body.state).toBe('SUCCEEDED');
    };
    return { scope, api, ws, settle, tick, finish };
  };

  it('waits for every chunk run, including one a planner started concurrently with the cancel, then is CANCELED', async () => {
    const w = await workspace({ assets: [{ key: 'raw.events', partitioning: daily }] });
    const created = await w.api.post<{ backfillId: string }>(`${w.ws}/backfills`, {
      assetSelection: ['raw.events'],
      partitionSelector: {
        type: 'explicit',
        partitions: ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04'],
      },
      chunkSize: 1,
      maxConcurrentRuns: 2,
      clientRequestId: 'november',
    });
    expect(created.status).toBe(202);
    const id = created.body.backfillId;
    const read = async () => (await w.api.get<Backfill>(`${w.ws}/backfills/${id}`)).body;
    const chunks = async () =>
      (await w.api.get<{ chunks: Chunk[] }>(`${w.ws}/backfills/${id}/chunks`)).body.chunks;
    await w.tick();
    expect((await chunks()).map((c) => [c.chunkIndex, c.state])).toEqual([
      [0, 'RUNNING'],
      [1, 'RUNNING'],
    ]);

    // A planner that read the backfill before the cancel starts chunk 2; its record is not written yet.
    const manifest = (await new ManifestStore(deps.documents, w.scope).latest())!;
    const row = (await (await readerFor(deps, w.scope).snapshot()).rowsOf('backfills', id)).find(
      (r) => r.backfillId === id,
    )!;
    const source = (index: number) => ({ backfill: { backfillId: id, chunkId: `${id}:${index}` } });
    const concurrent = await triggerRun(deps, w.scope, source(2), chunkRunRequest(manifest, row, 2));

    expect((await w.api.post<Backfill>(`${w.ws}/backfills/${id}/cancel`, {})).status).toBe(200);
    await w.settle();
    expect((await read()).state).toBe('CANCELING');
    await w.tick();
    expect((await read()).state).toBe('CANCELING');
    // The concurrent run is recorded (counted, and waited for); chunk 3 is fenced and never starts.
    expect((await chunks()).map((c) => [c.chunkIndex, c.state, c.runId])).toEqual([
      [0, 'RUNNING', expect.any(String)],
      [1, 'RUNNING', expect.any(String)],
      [2, 'RUNNING', concurrent.body.runId],
    ]);
    const late = await triggerRun(deps, w.scope, source(3), chunkRunRequest(manifest, row, 3)).catch(
      (error: unknown) => error,
    );
    expect(late).toBeInstanceOf(TriggerError);
    expect((late as TriggerError).details).toMatchObject({ existingFingerprint: CHUNK_FENCE });

    const [first, second] = await chunks();
    await w.finish(first!.runId!);
    await w.finish(second!.runId!);
    await w.tick();
    expect(await read()).toMatchObject({ state: 'CANCELING', chunkCounts: { running: 1, succeeded: 2 } });

    await w.finish(concurrent.body.runId);
    await w.tick();
    expect(await read()).toMatchObject({
      state: 'CANCELED',
      chunkCounts: { total: 4, pending: 1, running: 0, succeeded: 3, failed: 0 },
    });
    expect((await chunks()).length).toBe(3);
    for (const state of ['CANCELED', 'canceled', 'CANCELLED']) {
      const listed = await w.api.get<{ backfills: Array<{ backfillId: string }> }>(
        `${w.ws}/backfills?state=${state}`,
      );
      expect(listed.body.backfills.map((b) => b.backfillId)).toEqual([id]);
    }
    const again = await w.api.post(`${w.ws}/backfills/${id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'CONFLICT', requestId: expect.any(String) });
  });

  it('keeps a pipeline backfill CANCELING until its runs end, starting a day claimed before the cancel', async () => {
    const w = await workspace({
      assets: [
        { key: 'demo.ingest', partitioning: daily },
        { key: 'demo.score', partitioning: daily, dependencies: [{ upstreamKey: 'demo.ingest' }] },
      ],
      pipelines: [{ name: 'live', assets: ['demo.ingest', 'demo.score'], partitionDimension: 'date' }],
    });
    const started = await w.api.post<{ backfillId: string }>(`${w.ws}/pipelines/live/runs`, {
      start: '2026-11-01',
      end: '2026-11-04',
      maxParallel: 1,
    });
    expect(started.status).toBe(202);
    const id = started.body.backfillId;
    interface Summary {
      state: string;
      counts: Record<string, number>;
      partitions: Array<{ partition: string; status: string; runId?: string }>;
    }
    const read = async () => (await w.api.get<Summary>(`${w.ws}/pipeline-backfills/${id}`)).body;
    expect((await read()).partitions.map((p) => [p.partition, p.status])).toEqual([
      ['2026-11-01', 'running'],
      ['2026-11-02', 'pending'],
      ['2026-11-03', 'pending'],
      ['2026-11-04', 'pending'],
    ]);

    // Another pass claimed the 2nd (running, no run yet) just before the cancel, and stopped there.
    const path = `tenants/${w.scope.tenant}/workspaces/${w.scope.workspace}/pipelineBackfills/${id}`;
    const stored = (await deps.documents.getVersioned<PipelineBackfill>(path))!;
    const claimed = structuredClone(stored.data);
    Object.assign(claimed.partitions[1]!, { status: 'running', startedAt: new Date().toISOString() });
    expect((await deps.documents.compareAndSet(path, claimed, stored.version)).status).toBe('written');

    const cancelled = await w.api.post<Summary>(`${w.ws}/pipeline-backfills/${id}/cancel`, {});
    expect(cancelled.body).toMatchObject({ state: 'CANCELING', counts: { running: 2, cancelled: 2 } });
    // The claimed day's run is started (it was claimed before the cancel) and counted.
    const during = await read();
    expect(during.state).toBe('CANCELING');
    const [day1, day2] = during.partitions;
    expect(day2).toMatchObject({ status: 'running', runId: expect.any(String) });
    expect((await w.api.post(`${w.ws}/pipeline-backfills/${id}/cancel`, {})).status).toBe(200);

    await w.finish(day1!.runId!);
    await w.tick();
    expect(await read()).toMatchObject({ state: 'CANCELING', counts: { succeeded: 1, running: 1 } });
    await w.finish(day2!.runId!);
    await w.tick();
    expect(await read()).toMatchObject({
      state: 'CANCELED',
      counts: { succeeded: 2, running: 0, cancelled: 2 },
    });
    const runs = await w.api.get<{ runs: unknown[] }>(`${w.ws}/runs?pipeline=live&limit=200`);
    expect(runs.body.runs).toHaveLength(2);
    // A day's runs, named as people write the day; its label reads plainly too.
    for (const partitionKey of ['2026-11-01', 'date=2026-11-01', 'date=d:2026-11-01']) {
      const ofDay = await w.api.get<{ runs: Array<{ runId: string }> }>(
        `${w.ws}/runs?pipeline=live&partitionKey=${encodeURIComponent(partitionKey)}`,
      );
      expect(
        ofDay.body.runs.map((r) => r.runId),
        partitionKey,
      ).toEqual([day1!.runId]);
    }
    const labelled = await w.api.get<{ labels: Record<string, string> }>(`${w.ws}/runs/${day1!.runId}`);
    expect(labelled.body.labels['arco.partition']).toBe('date=2026-11-01');
    expect(during.partitions.map((p) => (p as { partitionKey?: string }).partitionKey)).toEqual([
      'date=2026-11-01',
      'date=2026-11-02',
      'date=2026-11-03',
      'date=2026-11-04',
    ]);
    const listed = await w.api.get<{ backfills: Array<{ backfillId: string }> }>(
      `${w.ws}/pipeline-backfills?state=CANCELED`,
    );
    expect(listed.body.backfills.map((b) => b.backfillId)).toEqual([id]);
    const again = await w.api.post(`${w.ws}/pipeline-backfills/${id}/cancel`, {});
    expect(again).toMatchObject({
      status: 409,
      body: { message: `pipeline backfill ${id} is already CANCELED` },
    });
  });

  it('takes the partitions of a backfill as people write them, shows them plainly, and refuses what it cannot type', async () => {
    const w = await workspace({
      assets: [
        {
          key: 'geo.sales',
          partitioning: {
            dimensions: [
              { name: 'date', kind: 'time', granularity: 'day' },
              { name: 'region', kind: 'static' },
            ],
          },
        },
      ],
    });
    const create = (partitionSelector: Record<string, unknown>) =>
      w.api.post<{ backfillId: string }>(`${w.ws}/backfills`, {
        assetSelection: ['geo.sales'],
        partitionSelector,
        chunkSize: 1,
        clientRequestId: 'regions',
      });
    // Refused before anything is written: the same request id is still free afterwards.
    const ambiguous = await create({ type: 'explicit', partitions: ['2026-11-01'] });
    expect(ambiguous).toMatchObject({
      status: 400,
      body: {
        code: expect.any(String),
        message:
          'partition selector: partition key "2026-11-01" names no dimension, and the asset has 2: write date=…|region=…',
        details: { partition: '2026-11-01' },
        requestId: expect.any(String),
      },
    });
    expect((await create({ type: 'range', start: '2026-11-01', end: '2026-11-02' })).status).toBe(400);
    expect((await w.api.get<{ backfills: unknown[] }>(`${w.ws}/backfills`)).body.backfills).toEqual([]);

    await w.settle();
    const created = await create({
      type: 'explicit',
      partitions: [
        'date=2026-11-01|region=us east',
        'region=eu|date=2026-11-01',
        // The first partition again, in the tagged form: it counts once.
        'date=d:2026-11-01,region=s:dXMgZWFzdA',
      ],
    });
    expect(created.status).toBe(202);
    const id = created.body.backfillId;
    await w.settle();
    const view = await w.api.get<{ totalPartitions: number; partitionSelector: { partitions: string[] } }>(
      `${w.ws}/backfills/${id}`,
    );
    expect(view.body).toMatchObject({
      totalPartitions: 2,
      partitionSelector: { partitions: ['date=2026-11-01|region=us east', 'region=eu|date=2026-11-01'] },
    });
    await w.tick();
    const chunks = await w.api.get<{ chunks: Array<{ partitionKeys: string[]; runId: string }> }>(
      `${w.ws}/backfills/${id}/chunks`,
    );
    expect(chunks.body.chunks.map((c) => c.partitionKeys)).toEqual([
      ['date=2026-11-01|region=us east'],
      ['date=2026-11-01|region=eu'],
    ]);
    const run = await w.api.get<{ tasks: Array<{ partitionKey: string }> }>(
      `${w.ws}/runs/${chunks.body.chunks[0]!.runId}`,
    );
    expect(run.body.tasks.map((t) => t.partitionKey)).toEqual(['date=2026-11-01|region=us east']);
  });
});
