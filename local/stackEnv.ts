import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The variables an operator sources to follow the runbooks against the local stack (stack contract). */
export const STACK_ENV_KEYS = [
  'ARCO_API_URL',
  'ARCO_ORCH_COMPACTOR_URL',
  'ARCO_STORAGE_BUCKET',
  'STORAGE_EMULATOR_HOST',
  'FIRESTORE_EMULATOR_HOST',
  'PUBSUB_EMULATOR_HOST',
  'CLOUD_TASKS_EMULATOR_HOST',
  'GOOGLE_CLOUD_PROJECT',
  // So that `npx arco token` in a sourced shell signs with this stack's secret, wherever the data dir is.
  'ARCO_DATA_DIR',
] as const;

export type StackEnv = Record<(typeof STACK_ENV_KEYS)[number], string>;

const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;

export function renderStackEnv(env: StackEnv): string {
  return `${STACK_ENV_KEYS.map((key) => `export ${key}=${quote(env[key])}`).join('\n')}\n`;
}

export const stackEnvPath = (dataDir: string) => join(dataDir, 'stack.env');

export function writeStackEnv(dataDir: string, env: StackEnv) {
  writeFileSync(stackEnvPath(dataDir), renderStackEnv(env));
}

export function readStackEnv(dataDir: string): string | undefined {
  const path = stackEnvPath(dataDir);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
