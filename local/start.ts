/**
 * `npm start`: the whole system on loopback (the spec README's local stack contract). Starts the
 * emulators, creates the GCP resources, hosts every function on ARCO_PORT, writes stack.env, and prints
 * `arco ready <url>` once the API answers. Ctrl-C or SIGTERM stops every child it started.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { mintLocalToken, resolveLocalSecret } from '../shared/auth/localTokens.ts';
import { parseFailpointSpec } from '../shared/core/failpoints.ts';
import { bootstrapLocalResources } from './bootstrap.ts';
import { startAutotick } from './autotick.ts';
import { deployDemo } from './demoWorkspace.ts';
import { LOOPBACK_ONLY_ENV, startEmulators, waitForHttp } from './emulators.ts';
import { startFunctionHost } from './functionHost.ts';
import { EXAMPLE_WORKER_MOUNT } from './hostOnEmulators.ts';
import { writeStackEnv } from './stackEnv.ts';

// Settings that cannot work stop the stack before anything starts, in one line.
try {
  parseFailpointSpec(process.env.ARCO_FAILPOINTS ?? '');
} catch (error) {
  process.stderr.write(`npm start: ${(error as Error).message}\n`);
  process.exit(1);
}

const dataDir = resolve(process.env.ARCO_DATA_DIR ?? '.arco');
const port = Number(process.env.ARCO_PORT ?? 8200);
const apiUrl = `http://127.0.0.1:${port}`;
mkdirSync(dataDir, { recursive: true });

Object.assign(process.env, LOOPBACK_ONLY_ENV, {
  GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT ?? 'demo-arco',
  ARCO_LOCATION: process.env.ARCO_LOCATION ?? 'us-central1',
  ARCO_STORAGE_BUCKET: process.env.ARCO_STORAGE_BUCKET ?? 'arco-local',
  ARCO_LOCAL_STACK: '1',
  ARCO_AUTH_MODE: 'local',
  ARCO_DATA_DIR: dataDir,
  ARCO_PORT: String(port),
  ARCO_PUBLIC_BASE_URL: apiUrl,
  ARCO_PUSH_TOKEN: randomBytes(16).toString('hex'),
  ARCO_LOG_FILE: process.env.ARCO_LOG_FILE ?? `${dataDir}/functions.log`,
});
const project = process.env.GOOGLE_CLOUD_PROJECT!;
const secret = resolveLocalSecret(dataDir);

const emulators = await startEmulators({
  dataDir,
  persistStorage: true,
  // The stand-ins run in their own process, as the services do; Cloud Tasks presents an OIDC token of
  // the queue's service account, locally an internal token signed with the local secret.
  standInsProcess: { oidcSecret: secret },
});
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await host?.close().catch(() => {});
  await emulators.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// npm does not pass a SIGTERM sent to `npm start` on to this process: once the parent that started the
// stack is gone, the stack stops too, so that no emulator outlives the command that owns it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1000).unref();

let host: Awaited<ReturnType<typeof startFunctionHost>> | undefined;
try {
  Object.assign(process.env, emulators.env);
  // The demo's worker is user code, not one of our functions: it shares the host under /worker.
  host = await startFunctionHost({ port, mounts: EXAMPLE_WORKER_MOUNT, processes: true });
  await bootstrapLocalResources({
    project,
    location: process.env.ARCO_LOCATION!,
    bucket: process.env.ARCO_STORAGE_BUCKET!,
    hostUrl: host.url,
    pushToken: process.env.ARCO_PUSH_TOKEN!,
  });
  await waitForHttp(`${apiUrl}/healthz`, 10_000);
  writeStackEnv(dataDir, {
    ARCO_API_URL: apiUrl,
    ARCO_ORCH_COMPACTOR_URL: `${apiUrl}/compactor`,
    ARCO_STORAGE_BUCKET: process.env.ARCO_STORAGE_BUCKET!,
    STORAGE_EMULATOR_HOST: emulators.env.STORAGE_EMULATOR_HOST,
    FIRESTORE_EMULATOR_HOST: emulators.env.FIRESTORE_EMULATOR_HOST,
    PUBSUB_EMULATOR_HOST: emulators.env.PUBSUB_EMULATOR_HOST,
    CLOUD_TASKS_EMULATOR_HOST: emulators.env.CLOUD_TASKS_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: project,
    ARCO_DATA_DIR: dataDir,
  });
  if (process.env.ARCO_DEMO !== '0') {
    const token = await mintLocalToken(secret, {
      tenant: 'demo',
      workspace: 'demo',
      roles: ['operator', 'producer', 'consumer'],
      subject: 'demo',
    });
    const runId = await deployDemo(apiUrl, token);
    console.error(`demo run ${runId} in workspace demo: ${apiUrl}/api/v1/workspaces/demo/runs/${runId}`);
  }
  console.log(`arco ready ${apiUrl}`);
  console.error(`operator UI: ${apiUrl}/ui/ (dev login on the sign-in page)`);
  if (process.env.ARCO_AUTOTICK !== '0') startAutotick();
} catch (error) {
  console.error(`arco failed to start: ${(error as Error).message}`);
  await stop(1);
}
