import { GcsObjectStore } from '../../shared/adapters/gcsObjectStore.ts';
import { createTestBucket } from '../support/testDependencies.ts';
import { describeObjectStoreContract } from './objectStore.contract.ts';

// A bucket per test, so listings see only the test's own objects; the stand-in's rate limit stays on.
describeObjectStoreContract(
  'GcsObjectStore on the GCS stand-in',
  async () => new GcsObjectStore(await createTestBucket()),
);
