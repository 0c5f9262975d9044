import { describe, expect, it } from 'vitest';
import type { Scope } from '../../shared/auth/principal.ts';
import {
  attemptManifestPath,
  stepManifestPath,
  writeStepManifests,
} from '../../shared/orchestration/pipeline/stepManifests.ts';
import type { RunRow, TaskRow } from '../../shared/orchestration/run/evolve.ts';
import {
  emptyState,
  type FoldState,
  rowKey,
  type Row,
} from '../../shared/orchestration/state/projectionTables.ts';
import { inMemoryDependencies } from '../support/inMemoryDependencies.ts';

const scope: Scope = { tenant: 'acme', workspace: 'manifests' };

function stateWith(task: Partial<TaskRow>): { state: FoldState; key: string } {
  const state = emptyState();
  const run = { runId: 'run1', labels: {}, triggeredAt: '2026-12-01T00:00:00.000Z' } as unknown as RunRow;
  const row = {
    runId: 'run1',
    taskKey: 'sales.daily',
    assetKey: 'sales.daily',
    state: 'SUCCEEDED',
    attempt: 1,
    maxAttempts: 3,
    dependsOn: [],
    dependents: [],
    completedAt: '2026-12-01T00:00:01.000Z',
    ...task,
  } as unknown as Row;
  (state.runs as Map<string, Row>).set(rowKey('runs', run as unknown as Row), run as unknown as Row);
  const key = rowKey('tasks', row);
  (state.tasks as Map<string, Row>).set(key, row);
  return { state, key };
}

describe('writeStepManifests', () => {
  it('writes a terminal task once however often its row changes afterwards, and an in-place retry replaces the step', async () => {
    const deps = inMemoryDependencies();
    const puts: string[] = [];
    const put = deps.objects.put.bind(deps.objects);
    deps.objects.put = (key, bytes, options) => {
      puts.push(key);
      return put(key, bytes, options);
    };
    const first = stateWith({ attempt: 1 });
    await writeStepManifests(deps, scope, first.state, [first.key]);
    await writeStepManifests(deps, scope, first.state, [first.key]);
    const step = `tenant=acme/workspace=manifests/${stepManifestPath('sales.daily', undefined, 'run1')}`;
    const attempt1 = `tenant=acme/workspace=manifests/${attemptManifestPath('sales.daily', undefined, 'run1', 1)}`;
    expect(puts.sort()).toEqual([attempt1, step].sort());

    const retried = stateWith({ attempt: 2 });
    await writeStepManifests(deps, scope, retried.state, [retried.key]);
    const stored = await deps.objects.get(step);
    expect(JSON.parse(stored!.bytes.toString('utf8'))).toMatchObject({ attempt: 2, status: 'success' });
    await writeStepManifests(deps, scope, retried.state, [retried.key]);
    // Attempt 2: its attempt manifest, the step's create (412), its read-back and replacement; nothing more.
    expect(puts.length).toBe(2 + 3);
  });
});
