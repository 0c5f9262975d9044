import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../local/emulators.ts';

export interface RunningStack {
  url: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  output: () => string;
  /** The variables of $ARCO_DATA_DIR/stack.env. */
  env: () => Record<string, string>;
  arco: (args: string[], extraEnv?: Record<string, string>) => string;
  token: (args: string[]) => string;
  stop: () => Promise<number | null>;
}

/**
 * Runs `npm start` as an operator would, on free ports, with a data dir of its own. `stop()` sends
 * SIGTERM to npm, as a terminal or a CI runner would; npm does not pass it on, so this also proves that
 * the stack stops once the command that started it is gone.
 */
export async function startLocalStack(extraEnv: Record<string, string> = {}): Promise<RunningStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'arco-stack-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ARCO_PORT: String(port),
    ARCO_DATA_DIR: dataDir,
    ARCO_LOG_LEVEL: 'WARNING',
    ...extraEnv,
  };
  for (const key of [
    'FIRESTORE_EMULATOR_HOST',
    'PUBSUB_EMULATOR_HOST',
    'STORAGE_EMULATOR_HOST',
    'CLOUD_TASKS_EMULATOR_HOST',
    'GOOGLE_CLOUD_PROJECT',
    'ARCO_LOCAL_SECRET',
    'ARCO_STORAGE_BUCKET',
  ])
    delete env[key];
  const child = spawn('npm', ['start', '--silent'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const started = Date.now();
  while (!/arco ready/.test(output) && Date.now() - started < 60_000 && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 50));
  if (!/arco ready/.test(output)) {
    child.kill('SIGKILL');
    throw new Error(`the local stack did not start:\n${output}`);
  }
  const arco = (args: string[], extraEnv: Record<string, string> = {}) =>
    execFileSync(process.execPath, ['bin/arco.mjs', ...args], {
      env: { ...env, ...extraEnv },
      encoding: 'utf8',
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    process: child,
    output: () => output,
    env: () =>
      Object.fromEntries(
        [...readFileSync(join(dataDir, 'stack.env'), 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)].map(
          (m) => [m[1]!, m[2]!],
        ),
      ),
    arco,
    token: (args) => arco(['token', ...args]).trim(),
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
