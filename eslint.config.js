import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The pure domain core: folds, decisions and value rules with no I/O and no clock. They may import
 * each other and plain libraries, never Node's I/O modules, the cloud clients, the adapters, the runtime
 * wiring or the HTTP layer (the adapters are where I/O lives). Hashing (`shared/core/hashing.ts`, over
 * node:crypto) is deterministic and allowed; the rule checks direct imports only.
 */
export const PURE_FILES = [
  'shared/orchestration/*/evolve.ts',
  'shared/orchestration/*/decide.ts',
  'shared/orchestration/state/foldContext.ts',
  'shared/orchestration/state/projectionDraft.ts',
  'shared/orchestration/state/projectionTables.ts',
  'shared/orchestration/state/shardArchives.ts',
  'shared/orchestration/state/events.ts',
  'shared/orchestration/backfill/backfillPlan.ts',
  'shared/orchestration/schedule/scheduleTicks.ts',
  'shared/orchestration/run/failureClassification.ts',
  'shared/orchestration/assetKeys.ts',
  'shared/delta/coordinatorState.ts',
  'shared/delta/deltaActions.ts',
  'shared/registry/compatibility.ts',
  'shared/registry/schemaDiff.ts',
  'shared/core/arcoError.ts',
  'shared/core/canonicalJson.ts',
];
const IMPURE =
  'pure domain code does no I/O: move this into an adapter or a shell that calls the pure function';

export default tseslint.config(
  { ignores: ['node_modules/', '.arco/', 'test-output/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', fetch: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    files: PURE_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'fs/*', 'http', 'https', 'net', 'child_process'], message: IMPURE },
            {
              group: ['@google-cloud/*', 'google-auth-library', '@grpc/*', 'hono', 'hono/*'],
              message: IMPURE,
            },
            {
              group: ['**/adapters/**', '**/runtime/**', '**/http/**', '**/observability/**', '**/auth/**'],
              message: IMPURE,
            },
          ],
        },
      ],
    },
  },
);
