import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summaryReporter.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    setupFiles: ['test/support/workerSetup.ts'],
    pool: 'forks',
    // Firestore emulator transactions break deadlocks with a 2 s lock timeout (see the emulator notes).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
      GCE_METADATA_IP: '127.0.0.1:1',
      ARCO_LOG_LEVEL: 'silent',
    },
  },
});
