import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

const childPids = (pid: number): number[] => {
  try {
    const direct = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return [...direct, ...direct.flatMap(childPids)];
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the local stack contract (npm start)', () => {
  let stack: RunningStack | undefined;
  afterAll(async () => {
    await stack?.stop();
  });

  it('stops before starting anything when ARCO_FAILPOINTS names no failpoint, in one line', () => {
    const started = spawnSync(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      encoding: 'utf8',
      env: { ...process.env, ARCO_FAILPOINTS: 'delta.after_log=1,delta.after_lgo=1', ARCO_PORT: '1' },
      timeout: 60_000,
    });
    expect(started.status).toBe(1);
    expect(started.stderr).toMatch(
      /^npm start: ARCO_FAILPOINTS: no failpoint is named delta\.after_lgo; known: /,
    );
    expect(started.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints `arco ready <url>`, serves /healthz, writes stack.env, honours ARCO_FAILPOINTS, and leaves no process after SIGTERM', async () => {
    stack = await startLocalStack({
      ARCO_DEMO: '0',
      ARCO_AUTOTICK: '0',
      ARCO_FAILPOINTS: 'delta.after_log=2',
    });
    expect(stack.output()).toContain(`arco ready ${stack.url}\n`);
    expect(await (await fetch(`${stack.url}/healthz`)).json()).toEqual({ status: 'ok' });

    const stackEnv = readFileSync(join(stack.dataDir, 'stack.env'), 'utf8');
    const keys = [
      'ARCO_API_URL',
      'ARCO_ORCH_COMPACTOR_URL',
      'ARCO_STORAGE_BUCKET',
      'STORAGE_EMULATOR_HOST',
      'FIRESTORE_EMULATOR_HOST',
      'PUBSUB_EMULATOR_HOST',
      'CLOUD_TASKS_EMULATOR_HOST',
      'GOOGLE_CLOUD_PROJECT',
      'ARCO_DATA_DIR',
    ];
    expect(Object.keys(stack.env())).toEqual(keys);
    expect(stack.env().ARCO_DATA_DIR).toBe(stack.dataDir);
    expect(stack.env().ARCO_API_URL).toBe(stack.url);
    expect(stack.arco(['env'])).toBe(stackEnv);

    const internal = stack.token(['--internal']);
    const armed = await fetch(`${stack.url}/internal/failpoints`, {
      headers: { Authorization: `Bearer ${internal}` },
    });
    expect(await armed.json()).toEqual({ armed: { 'delta.after_log': 2 } });
    const user = stack.token([
      '--tenant',
      'demo',
      '--workspace',
      'demo',
      '--roles',
      'operator,producer,consumer',
    ]);
    const workspace = await fetch(`${stack.url}/api/v1/workspaces/demo`, {
      headers: { Authorization: `Bearer ${user}` },
    });
    expect(await workspace.json()).toEqual({ tenantId: 'demo', workspaceId: 'demo' });

    const descendants = childPids(stack.process.pid!);
    expect(descendants.length).toBeGreaterThanOrEqual(2);
    await stack.stop();
    const deadline = Date.now() + 5000;
    while (descendants.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const survivors = descendants.filter(alive).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return String(pid);
      }
    });
    expect(survivors).toEqual([]);
    expect(existsSync(join(stack.dataDir, 'firestore-emulator.log'))).toBe(true);
  });
});
