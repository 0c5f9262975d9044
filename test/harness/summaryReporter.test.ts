import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Runs vitest on fixture files outside the suite's include pattern (test/harness/fixtures) with the
 * summary reporter, as `npm test` would, and reads the summary line it prints.
 */
function runFixtures(pattern: string) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'NODE_OPTIONS'),
  );
  const child = spawnSync(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/harness/fixtures/vitest.config.ts'],
    { env: { ...env, ARCO_FIXTURES: pattern }, encoding: 'utf8', timeout: 120_000 },
  );
  const line = child.stdout.split('\n').find((l) => l.startsWith('tests: '));
  return { status: child.status, line, output: `${child.stdout}\n${child.stderr}` };
}

describe('the summary reporter', () => {
  it('counts a test file that fails to load as failed', () => {
    const run = runFixtures('throwsAtImport.fixture.ts');
    expect(run.status, run.output).not.toBe(0);
    expect(run.line).toBe(
      'tests: 0 passed, 1 failed, 0 skipped (failed: 0 test(s), 1 suite(s) that failed to load or whose hooks threw, 0 unhandled error(s))',
    );
  });

  it('counts failed tests, files that fail to load, suites whose hooks throw and unhandled errors', () => {
    const run = runFixtures('*.fixture.ts');
    expect(run.status, run.output).not.toBe(0);
    expect(run.line).toBe(
      'tests: 2 passed, 4 failed, 1 skipped (failed: 1 test(s), 2 suite(s) that failed to load or whose hooks threw, 1 unhandled error(s))',
    );
  });

  it('prints the plain line when everything passed', () => {
    const run = runFixtures('passes.fixture.ts');
    expect(run.status, run.output).toBe(0);
    expect(run.line).toBe('tests: 1 passed, 0 failed, 0 skipped');
  });
});
