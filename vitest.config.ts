import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The `pure` tier: test files that need no emulator, so they run without Java and without the global
 * setup that starts the emulator stack. The rule: a file belongs here when it touches no emulator, i.e.
 * it uses neither test/support/testDependencies.ts nor test/support/localStack.ts nor a Google Cloud client
 * against an emulator. Every `*.memory.test.ts` qualifies by name (it runs on the in-memory adapters of
 * shared/adapters/inMemory*.ts, see test/support/inMemoryDependencies.ts); the files listed by path
 * qualified when the tiers were introduced and keep their names. A new test that needs no emulator should
 * be a `*.memory.test.ts` or be added here; everything else runs in the `emulator` tier.
 */
export const PURE_TESTS = [
  'test/**/*.memory.test.ts',
  'test/harness/summaryReporter.test.ts',
  'test/auth/verifiedTokens.test.ts',
  'test/orchestration/compactionHint.test.ts',
  'test/core/groupCommit.test.ts',
  'test/core/byteBudgetCache.test.ts',
  'test/runtime/detachedFromRequest.test.ts',
  'test/api/requestBodyLimit.test.ts',
  'test/api/requestDomain.test.ts',
  'test/api/transientBackendError.test.ts',
  'test/adapters/transactionGaveUp.test.ts',
  'test/orchestration/partitionKeys.test.ts',
  'test/orchestration/backfillPlan.test.ts',
  'test/orchestration/scheduleTicks.test.ts',
  'test/orchestration/triage.test.ts',
  'test/orchestration/evolve.test.ts',
  'test/orchestration/shardArchives.test.ts',
  'test/orchestration/decide.test.ts',
  'test/terraform/entryPoint.test.ts',
  'test/terraform/terraform.test.ts',
  'test/cli/jsonFlag.test.ts',
  'test/cli/localErrors.test.ts',
  'test/cli/fakeApiCommands.test.ts',
  'test/delta/deltaPaths.test.ts',
  'test/delta/coordinatorState.test.ts',
  'test/delta/deltaActions.test.ts',
  'test/registry/compatibilityOracle.property.test.ts',
  'test/registry/bigIntegerDefaults.test.ts',
  'test/registry/schemaDiff.test.ts',
  'test/registry/compatibilityMatrix.test.ts',
  'test/local/prerequisites.test.ts',
  'test/local/tasksStandin.test.ts',
  'test/core/canonicalJson.test.ts',
  'test/core/failpoints.test.ts',
  'test/core/pureFilesLint.test.ts',
  'test/api/gatewayRouteParity.test.ts',
];

// `vitest run` runs both tiers; `vitest run --project pure` only the one without emulators. Options here
// are inherited by both projects (`extends: true`), so nothing that starts an emulator may live at the root.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summaryReporter.ts'],
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one on CI's 2-core machine, which ran every
    // file in turn while the stacks they start mostly wait (the suite used about 37 % of the CPU).
    // Two overlap them: 6 m 47 s against 9 m 30 s for `vitest run` on the same machine.
    maxWorkers: 2,
    // Firestore emulator transactions break deadlocks with a 2 s lock timeout (see the emulator notes).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
      GCE_METADATA_IP: '127.0.0.1:1',
      ARCO_LOG_LEVEL: 'silent',
    },
    projects: [
      { extends: true, test: { name: 'pure', include: PURE_TESTS } },
      {
        extends: true,
        test: {
          name: 'emulator',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...PURE_TESTS],
          globalSetup: ['test/support/globalSetup.ts'],
          setupFiles: ['test/support/workerSetup.ts'],
        },
      },
    ],
  },
});
