/**
 * The GCS and Cloud Tasks stand-ins in a process of their own, as the real services are: the function
 * host keeps its core for the functions (the machine has two). Started by `startEmulators` with
 * `standInsProcess`; prints one JSON line `{"gcsUrl", "tasksAddress"}` once both listen, and stops on
 * SIGTERM. Arguments: one JSON object (ports, data dir, rate limit, the local secret Cloud Tasks signs
 * its OIDC tokens with).
 */
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { type ObjectRateLimit, startGcsStandin } from './gcsStandin.ts';
import { startTasksStandin } from './tasksStandin.ts';

export interface StandInsArguments {
  gcsPort: number;
  tasksPort: number;
  dataDir?: string;
  gcsObjectRateLimit?: ObjectRateLimit | false;
  oidcSecret?: string;
}

/**
 * Google signs one OIDC token per service account and audience and hands it out until near its expiry;
 * so does the stand-in: a token (valid 600 s) is reused for `reuseMs`.
 */
function reusedFor(reuseMs: number, mint: (subject: string) => Promise<string>) {
  const minted = new Map<string, { token: Promise<string>; untilMs: number }>();
  return (subject: string) => {
    const hit = minted.get(subject);
    if (hit && hit.untilMs > Date.now()) return hit.token;
    const token = mint(subject);
    token.catch(() => minted.delete(subject));
    minted.set(subject, { token, untilMs: Date.now() + reuseMs });
    return token;
  };
}

const args = JSON.parse(process.argv[2] ?? '{}') as StandInsArguments;
const secret = args.oidcSecret;
const [gcs, tasks] = await Promise.all([
  startGcsStandin({
    port: args.gcsPort,
    ...(args.dataDir ? { dataDir: args.dataDir } : {}),
    ...(args.gcsObjectRateLimit !== undefined ? { objectRateLimit: args.gcsObjectRateLimit } : {}),
  }),
  startTasksStandin({
    port: args.tasksPort,
    ...(secret
      ? {
          mintOidcToken: reusedFor(300_000, (subject: string) =>
            mintLocalToken(secret, { internal: true, subject, ttlSeconds: 600 }),
          ),
        }
      : {}),
  }),
]);
const stop = async () => {
  await Promise.all([gcs.close(), tasks.close()]);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.stdout.write(`${JSON.stringify({ gcsUrl: gcs.url, tasksAddress: tasks.address })}\n`);
