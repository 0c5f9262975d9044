import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { LOOPBACK_ONLY_ENV, startEmulators } from '../../local/emulators.ts';
import { mintLocalToken } from '../../shared/auth/localTokens.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorEnv: Record<string, string>;
  }
}

/** One emulator stack for the whole run; workers isolate themselves by project id and bucket name. */
export default async function setup(project: TestProject) {
  Object.assign(process.env, LOOPBACK_ONLY_ENV);
  const stack = await startEmulators({
    dataDir: mkdtempSync(join(tmpdir(), 'arco-test-emulators-')),
    // As on the local stack: Cloud Tasks presents an internal identity to the targets (TEST_SECRET's).
    tasks: {
      mintOidcToken: (subject) =>
        mintLocalToken('test-secret-for-local-tokens-only', { internal: true, subject, ttlSeconds: 600 }),
    },
  });
  project.provide('emulatorEnv', stack.env);
  return () => stack.stop();
}
