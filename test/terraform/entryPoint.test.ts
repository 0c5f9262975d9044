import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** What Cloud Functions does: load package.json "main" with FUNCTION_TARGET set, then call that target. */
const registered = (target: string) =>
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "await import('./index.mjs'); const { getFunction } = await import('@google-cloud/functions-framework/testing'); console.log(['api', 'compactor', 'worker'].filter((t) => getFunction(t)).join(','));",
    ],
    { env: { ...process.env, FUNCTION_TARGET: target, ARCO_LOCAL_SECRET: 'entry-point-test' }, encoding: 'utf8' },
  ).trim();

describe('the Cloud Functions entry point (index.mjs)', () => {
  it('registers exactly the function FUNCTION_TARGET names', () => {
    expect(registered('worker')).toBe('worker');
    expect(registered('api')).toBe('api');
  });

  it('refuses a missing or malformed target', () => {
    expect(() => registered('../etc')).toThrow();
  });
});
