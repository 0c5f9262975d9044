import { inject } from 'vitest';

// Each worker gets its own Firestore/Pub/Sub project so parallel files never see each other's data.
Object.assign(process.env, inject('emulatorEnv'), {
  GOOGLE_CLOUD_PROJECT: `demo-arco-${process.env.VITEST_POOL_ID ?? '0'}`,
});
