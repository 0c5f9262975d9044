import { afterAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { pendingCollection } from '../../shared/orchestration/state/ledger.ts';
import { ledgerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { POINTER_PATH } from '../../shared/orchestration/state/projectionStore.ts';
import {
  createTestBucket,
  TEST_SECRET,
  testDependencies,
  uniqueName,
  testPushSubscriptions,
} from '../support/testDependencies.ts';

describe('appends wake the compactor through a Pub/Sub push subscription', () => {
  let host: FunctionHost | undefined;
  afterAll(() => host?.close());

  it('folds an append batch without anyone calling the compactor', async () => {
    const bucket = await createTestBucket();
    host = await startHostOnEmulators({
      bucket,
      secret: TEST_SECRET,
      pushToken: 'push-secret',
      pushSubscriptions: testPushSubscriptions(),
    });
    const deps = await testDependencies({}, undefined, bucket);
    const scope = { tenant: 'acme', workspace: uniqueName('ws') };
    const { batchId } = await ledgerFor(deps, scope).append([
      { data: { type: 'run_triggered', runId: 'r1', planId: 'p1', trigger: {}, rootAssets: [] } },
    ]);
    const deadline = Date.now() + 15_000;
    while ((await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)).toBeNull();
    expect(await scopedObjectStore(deps.objects, scope).head(POINTER_PATH)).not.toBeNull();
  });
});
