/**
 * Starts the local GCP stack: the gcloud Firestore and Pub/Sub emulators from the machine image (as
 * child processes, stopped by PID) and the project's GCS and Cloud Tasks stand-ins (in-process, or in
 * a child process of their own with `standInsProcess`).
 * Used by the vitest global setup and by `npm start`, so tests and the dev stack run the same thing.
 */
import { profiling } from './cpuProfiling.ts';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GcsStandin, type ObjectRateLimit, startGcsStandin } from './gcsStandin.ts';
import type { StandInsArguments } from './standInsProcess.ts';
import { startTasksStandin, type TasksStandin, type TasksStandinOptions } from './tasksStandin.ts';

export const GCLOUD_SDK_ROOT = process.env.ARCO_GCLOUD_SDK_ROOT ?? '/usr/lib/google-cloud-sdk';
export const FIRESTORE_JAR = join(
  GCLOUD_SDK_ROOT,
  'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar',
);
export const PUBSUB_EMULATOR = join(GCLOUD_SDK_ROOT, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator');

/** The environment every local process needs so that no GCP client reaches beyond loopback. */
export const LOOPBACK_ONLY_ENV = {
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:1',
  GCE_METADATA_IP: '127.0.0.1:1',
} as const;

export interface EmulatorStack {
  env: {
    FIRESTORE_EMULATOR_HOST: string;
    PUBSUB_EMULATOR_HOST: string;
    STORAGE_EMULATOR_HOST: string;
    CLOUD_TASKS_EMULATOR_HOST: string;
  };
  pids: number[];
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Where emulator logs (and the GCS stand-in's objects, if persistent) go. */
  dataDir: string;
  persistStorage?: boolean;
  ports?: Partial<Record<'firestore' | 'pubsub' | 'storage' | 'tasks', number>>;
  tasks?: Omit<TasksStandinOptions, 'host' | 'port'>;
  /** The GCS stand-in's per-object mutation limit; default from ARCO_GCS_OBJECT_RATE_LIMIT (on). */
  gcsObjectRateLimit?: ObjectRateLimit | false;
  /**
   * Run the GCS and Cloud Tasks stand-ins in a child process (as the real services are separate), so
   * the function host has a core to itself. `oidcSecret`: Cloud Tasks signs internal OIDC tokens with
   * this local secret (`tasks.mintOidcToken` cannot cross a process boundary).
   */
  standInsProcess?: { oidcSecret?: string };
}

const STAND_INS_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'standInsProcess.ts');

/** Starts local/standInsProcess.ts and waits for its ready line. */
async function spawnStandIns(args: StandInsArguments, logFile: string) {
  const child = spawn(
    process.execPath,
    [...profiling('stand-ins'), '--import', 'tsx', STAND_INS_SCRIPT, JSON.stringify(args)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...LOOPBACK_ONLY_ENV },
    },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  const ready = await new Promise<{ gcsUrl: string; tasksAddress: string }>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n')) resolve(JSON.parse(line!) as { gcsUrl: string; tasksAddress: string });
    });
    child.once('exit', (code) => reject(new Error(`the stand-ins exited with ${code}; see ${logFile}`)));
  });
  return { child, ...ready };
}

/** Names what is missing so a developer knows what to install, instead of a spawn ENOENT. */
export function checkPrerequisites(): void {
  const problems: string[] = [];
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    problems.push('`java` is not on PATH (the Firestore and Pub/Sub emulators need Java 17 or later)');
  }
  if (!existsSync(FIRESTORE_JAR))
    problems.push(
      `the gcloud Firestore emulator is missing: ${FIRESTORE_JAR} (google-cloud-cli-firestore-emulator)`,
    );
  if (!existsSync(PUBSUB_EMULATOR))
    problems.push(
      `the gcloud Pub/Sub emulator is missing: ${PUBSUB_EMULATOR} (google-cloud-cli-pubsub-emulator)`,
    );
  if (problems.length) throw new Error(`Cannot start the local GCP stack:\n- ${problems.join('\n- ')}`);
}

/**
 * A free loopback port below the kernel's ephemeral range (Linux: 32768–60999). A port the kernel hands
 * out itself (`listen(0)`) goes back to that pool when released, and the next ephemeral bind — an
 * emulator's own side channel, any outgoing connection — can take it before our server binds it (seen:
 * the Firestore emulator's WebSocket server on the port chosen for its HTTP API).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

/**
 * Ports this process has handed out: each is free only until its server binds it, so a later call
 * could draw it again (seen: the Firestore and Pub/Sub emulators of one stack given the same port,
 * where Pub/Sub won, answered Firestore's readiness probe, and refused its gRPC methods).
 */
const handedOut = new Set<number>();

async function assertPortFree(port: number, what: string) {
  const inUse = await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
  // An old emulator on the same port would answer our readiness probe and mislead every test.
  if (inUse) throw new Error(`port ${port} for ${what} is already in use; stop whatever listens there`);
}

export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/**
 * JVM options of both emulators. The JVM's defaults (tiered JIT up to C2, the parallel G1 collector)
 * suit a long-lived server with cores to spare; on the 2-core machines the stack targets, C2's
 * compiler threads and G1's workers took the Firestore emulator to about 8 CPU seconds during the
 * 1 000-task fan-out of `npm run bench dag`, against about 3 with C1 only and the serial collector,
 * CPU the function processes then lack.
 */
const EMULATOR_JIT_OPTIONS = '-XX:TieredStopAtLevel=1';
const EMULATOR_GC_OPTIONS = '-XX:+UseSerialGC';

/**
 * JAVA_TOOL_OPTIONS for the emulators: the user's `user`, then ours, without our collector when the
 * user chose one (a JVM given two collectors refuses to start).
 */
export function emulatorJavaOptions(user = ''): string {
  const picksCollector = /-XX:\+Use\w*GC\b/.test(user);
  return [user, EMULATOR_JIT_OPTIONS, picksCollector ? '' : EMULATOR_GC_OPTIONS].filter(Boolean).join(' ');
}

function spawnLogged(command: string, args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...LOOPBACK_ONLY_ENV,
      JAVA_TOOL_OPTIONS: emulatorJavaOptions(process.env.JAVA_TOOL_OPTIONS),
    },
    detached: false,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startEmulators(options: EmulatorOptions): Promise<EmulatorStack> {
  checkPrerequisites();
  mkdirSync(options.dataDir, { recursive: true });
  const ports = {
    firestore: options.ports?.firestore ?? (await freePort()),
    pubsub: options.ports?.pubsub ?? (await freePort()),
    storage: options.ports?.storage ?? (await freePort()),
    tasks: options.ports?.tasks ?? (await freePort()),
    // Pinned too: left to itself the emulator binds its WebSocket server to an ephemeral port.
    firestoreWebsocket: await freePort(),
  };
  for (const [what, port] of Object.entries(ports)) await assertPortFree(port, what);

  const children: ChildProcess[] = [];
  let gcs: GcsStandin | undefined;
  let tasks: TasksStandin | undefined;
  let urls = { storage: '', tasks: '' };
  const stop = async () => {
    await Promise.all([...children.map(killChild), gcs?.close(), tasks?.close()]);
  };
  try {
    const firestore = spawnLogged(
      'java',
      [
        '-Duser.language=en',
        '-cp',
        FIRESTORE_JAR,
        'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
        'start',
        '--host=127.0.0.1',
        `--port=${ports.firestore}`,
        `--websocket_port=${ports.firestoreWebsocket}`,
      ],
      join(options.dataDir, 'firestore-emulator.log'),
    );
    children.push(firestore);
    const pubsub = spawnLogged(
      PUBSUB_EMULATOR,
      ['--host=127.0.0.1', `--port=${ports.pubsub}`],
      join(options.dataDir, 'pubsub-emulator.log'),
    );
    children.push(pubsub);
    if (options.standInsProcess) {
      const standIns = await spawnStandIns(
        {
          gcsPort: ports.storage,
          tasksPort: ports.tasks,
          ...(options.persistStorage ? { dataDir: options.dataDir } : {}),
          ...(options.gcsObjectRateLimit !== undefined
            ? { gcsObjectRateLimit: options.gcsObjectRateLimit }
            : {}),
          ...(options.standInsProcess.oidcSecret ? { oidcSecret: options.standInsProcess.oidcSecret } : {}),
        },
        join(options.dataDir, 'stand-ins.log'),
      );
      children.push(standIns.child);
      urls = { storage: standIns.gcsUrl, tasks: standIns.tasksAddress };
    } else {
      [gcs, tasks] = await Promise.all([
        startGcsStandin({
          port: ports.storage,
          ...(options.persistStorage ? { dataDir: options.dataDir } : {}),
          ...(options.gcsObjectRateLimit !== undefined
            ? { objectRateLimit: options.gcsObjectRateLimit }
            : {}),
        }),
        startTasksStandin({ port: ports.tasks, ...options.tasks }),
      ]);
      urls = { storage: gcs.url, tasks: tasks.address };
    }
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${ports.firestore}/`, 30_000, firestore),
      waitForHttp(`http://127.0.0.1:${ports.pubsub}/`, 30_000, pubsub),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    env: {
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${ports.firestore}`,
      PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`,
      STORAGE_EMULATOR_HOST: urls.storage,
      CLOUD_TASKS_EMULATOR_HOST: urls.tasks,
    },
    pids: children.map((c) => c.pid!).filter(Boolean),
    stop,
  };
}
