import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { functionTargets } from '../../local/functionHost.ts';

/**
 * What Cloud Functions does after the build (`gcp-build`): load package.json "main" with FUNCTION_TARGET
 * set, then look the target up. Prints every function name the load registered.
 */
const registered = (target: string) =>
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import('./index.mjs'); const { getFunction } = await import('@google-cloud/functions-framework/testing'); console.log(${JSON.stringify([...functionTargets(), 'automation-http'])}.filter((t) => getFunction(t)).join(','));`,
    ],
    { env: { ...process.env, FUNCTION_TARGET: target, ARCO_LOCAL_SECRET: 'entry-point-test' }, encoding: 'utf8' },
  ).trim();

// `npm test` builds first (`npm run build`), so this and the as-deployed Functions Framework tests load
// the very bundles Cloud Build would deploy; run alone, they need a build.
describe('the Cloud Functions entry point (index.mjs) over the build', () => {
  it('registers exactly the function FUNCTION_TARGET names, from its compiled bundle', () => {
    for (const target of functionTargets()) expect(registered(target)).toBe(target);
  });

  it('refuses a missing or malformed target, and a target that was not built', () => {
    expect(() => registered('../etc')).toThrow();
    expect(() => registered('no-such-function')).toThrow(/no build of no-such-function/);
  });
});
