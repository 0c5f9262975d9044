import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators.ts';

const childPids = (pid: number): number[] => {
  try {
    const out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
    const direct = out.split('\n').filter(Boolean).map(Number);
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
  const dataDir = mkdtempSync(join(tmpdir(), 'arco-stack-'));
  let stack: ChildProcess | undefined;
  afterAll(() => {
    if (stack?.exitCode === null) stack.kill('SIGKILL');
  });

  it('prints `arco ready <url>`, serves /healthz, writes stack.env, honours ARCO_FAILPOINTS, and leaves no process after SIGTERM', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ARCO_PORT: String(port),
      ARCO_DATA_DIR: dataDir,
      ARCO_DEMO: '0',
      ARCO_AUTOTICK: '0',
      ARCO_FAILPOINTS: 'delta.after_log=2',
    };
    for (const key of [
      'FIRESTORE_EMULATOR_HOST',
      'PUBSUB_EMULATOR_HOST',
      'STORAGE_EMULATOR_HOST',
      'CLOUD_TASKS_EMULATOR_HOST',
      'GOOGLE_CLOUD_PROJECT',
    ])
      delete env[key];
    stack = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    stack.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    stack.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = Date.now();
    while (!/arco ready/.test(output) && Date.now() - started < 30_000 && stack.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain(`arco ready http://127.0.0.1:${port}\n`);
    expect(Date.now() - started).toBeLessThan(15_000);

    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
    const stackEnv = readFileSync(join(dataDir, 'stack.env'), 'utf8');
    for (const key of [
      'ARCO_API_URL',
      'ARCO_ORCH_COMPACTOR_URL',
      'ARCO_STORAGE_BUCKET',
      'STORAGE_EMULATOR_HOST',
      'FIRESTORE_EMULATOR_HOST',
      'PUBSUB_EMULATOR_HOST',
      'CLOUD_TASKS_EMULATOR_HOST',
      'GOOGLE_CLOUD_PROJECT',
    ])
      expect(stackEnv).toMatch(new RegExp(`^export ${key}='[^']+'$`, 'm'));
    expect(stackEnv).toContain(`export ARCO_API_URL='http://127.0.0.1:${port}'`);

    const arco = (args: string[]) =>
      execFileSync(process.execPath, ['bin/arco.mjs', ...args], { env: { ...env }, encoding: 'utf8' });
    expect(arco(['env'])).toBe(stackEnv);
    const internal = arco(['token', '--internal']).trim();
    const armed = await fetch(`http://127.0.0.1:${port}/internal/failpoints`, {
      headers: { Authorization: `Bearer ${internal}` },
    });
    expect(await armed.json()).toEqual({ armed: { 'delta.after_log': 2 } });
    const user = arco([
      'token',
      '--tenant',
      'demo',
      '--workspace',
      'demo',
      '--roles',
      'operator,producer,consumer',
    ]).trim();
    const whoami = await fetch(`http://127.0.0.1:${port}/api/v1/workspaces/demo`, {
      headers: { Authorization: `Bearer ${user}` },
    });
    expect(await whoami.json()).toEqual({ tenantId: 'demo', workspaceId: 'demo' });

    const descendants = childPids(stack.pid!);
    expect(descendants.length).toBeGreaterThanOrEqual(2);
    const exited = new Promise<number | null>((resolve) => stack!.once('exit', resolve));
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    const deadline = Date.now() + 3000;
    while (descendants.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const survivors = descendants.filter(alive).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return String(pid);
      }
    });
    expect(survivors).toEqual([]);
    expect(existsSync(join(dataDir, 'firestore-emulator.log'))).toBe(true);
  });
});
