import { resolve } from 'node:path';

/** Everything a function needs from its environment; production and local differ only here. */
export interface RuntimeConfig {
  project: string;
  location: string;
  bucket: string;
  dataDir: string;
  /** `local`: HS256 tokens from `arco token`; `google`: Google-signed OIDC ID tokens. */
  authMode: 'local' | 'google';
  /** True only on the local stack: enables failpoints and the local-only internal routes. */
  localStack: boolean;
  failpointSpec: string;
  /** Where this deployment's functions are reachable, for callbacks and task targets. */
  publicBaseUrl: string;
  /** The compactor function's base URL, where append hints go (`ARCO_COMPACTOR_URL`). */
  compactorUrl: string;
  /**
   * Least time between two publishes of a workspace's projections, ms (`ARCO_PUBLISH_INTERVAL_MS`,
   * default 1000): GCS takes about one write per second to the manifest pointer.
   */
  publishIntervalMs: number;
  /** The Firestore database of Delta coordinator state (`ARCO_DELTA_DATABASE`, default `arco-delta`). */
  deltaDatabase: string;
  internalServiceAccounts: string[];
  oidcAudience: string[];
  maxBodyBytes: number;
  /** Secret in local Pub/Sub push URLs (the emulator cannot present an identity); empty in GCP. */
  pushToken: string;
  /** HS256 secret of task tokens (spec §18.6); Secret Manager in GCP. */
  taskTokenSecret: string;
  /** Identity Cloud Tasks presents to workers and internal endpoints (a service account in GCP). */
  tasksServiceAccount: string;
  registry: RegistryConfig;
}

export interface RegistryConfig {
  /** Token buckets per principal and endpoint class (spec §4.7), `DCR_RATE_LIMITS` as JSON. */
  rateLimits: Record<'write' | 'check' | 'read', { rps: number; burst: number }>;
  /** How long an Idempotency-Key's outcome is replayed, `DCR_IDEMPOTENCY_TTL_S`. */
  idempotencyTtlSeconds: number;
}

const DEFAULT_RATE_LIMITS: RegistryConfig['rateLimits'] = {
  write: { rps: 10, burst: 20 },
  check: { rps: 20, burst: 40 },
  read: { rps: 50, burst: 100 },
};

function registryConfig(env: NodeJS.ProcessEnv): RegistryConfig {
  const overrides = env.DCR_RATE_LIMITS
    ? (JSON.parse(env.DCR_RATE_LIMITS) as Partial<RegistryConfig['rateLimits']>)
    : {};
  return {
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...overrides },
    idempotencyTtlSeconds: Number(env.DCR_IDEMPOTENCY_TTL_S ?? 86_400),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const authMode = env.ARCO_AUTH_MODE === 'google' ? 'google' : 'local';
  const localStack = env.ARCO_LOCAL_STACK === '1';
  if (authMode === 'local' && !localStack && env.NODE_ENV === 'production')
    throw new Error('ARCO_AUTH_MODE=local is only allowed on the local stack');
  const publicBaseUrl = env.ARCO_PUBLIC_BASE_URL ?? `http://127.0.0.1:${env.ARCO_PORT ?? '8200'}`;
  return {
    project: env.GOOGLE_CLOUD_PROJECT ?? 'demo-arco',
    location: env.ARCO_LOCATION ?? 'us-central1',
    bucket: env.ARCO_STORAGE_BUCKET ?? 'arco-local',
    dataDir: resolve(env.ARCO_DATA_DIR ?? '.arco'),
    authMode,
    localStack,
    failpointSpec: localStack ? (env.ARCO_FAILPOINTS ?? '') : '',
    publicBaseUrl,
    compactorUrl: env.ARCO_COMPACTOR_URL ?? `${publicBaseUrl}/compactor`,
    deltaDatabase: env.ARCO_DELTA_DATABASE ?? 'arco-delta',
    publishIntervalMs: Number(env.ARCO_PUBLISH_INTERVAL_MS ?? 1000),
    internalServiceAccounts: (env.ARCO_INTERNAL_SERVICE_ACCOUNTS ?? '').split(',').filter(Boolean),
    oidcAudience: (env.ARCO_OIDC_AUDIENCE ?? '').split(',').filter(Boolean),
    maxBodyBytes: Number(env.ARCO_MAX_BODY_BYTES ?? 5 * 1024 * 1024),
    pushToken: localStack ? (env.ARCO_PUSH_TOKEN ?? '') : '',
    taskTokenSecret: env.ARCO_TASK_TOKEN_SECRET ?? '',
    tasksServiceAccount: env.ARCO_TASKS_SERVICE_ACCOUNT ?? 'arco-tasks',
    registry: registryConfig(env),
  };
}
