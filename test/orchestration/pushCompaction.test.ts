import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapLocalResources } from '../../local/bootstrap.ts';
import { freePort } from '../../local/emulators.ts';
import { type FunctionHost, startFunctionHost } from '../../local/functionHost.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { pendingCollection } from '../../shared/orchestration/ledger.ts';
import { ledgerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { POINTER_PATH } from '../../shared/orchestration/projectionStore.ts';
import { TOPICS } from '../../shared/runtime/resources.ts';
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
    Object.assign(process.env, {
      ARCO_LOCAL_SECRET: TEST_SECRET,
      ARCO_STORAGE_BUCKET: bucket,
      ARCO_LOCAL_STACK: '1',
      ARCO_PUSH_TOKEN: 'push-secret',
    });
    host = await startFunctionHost({ port: await freePort() });
    await bootstrapLocalResources({
      project: process.env.GOOGLE_CLOUD_PROJECT!,
      location: 'us-central1',
      bucket,
      hostUrl: host.url,
      topics: TOPICS,
      pushSubscriptions: testPushSubscriptions(),
      queues: [],
      pushToken: 'push-secret',
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
