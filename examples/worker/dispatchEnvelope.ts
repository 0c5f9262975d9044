import { validator } from '../../shared/http/jsonBody.ts';

/** The Cloud Task body a worker receives (orchestration spec §18.1). */
export interface DispatchEnvelope {
  tenantId: string;
  workspaceId: string;
  taskId: string;
  taskKey: string;
  runId: string;
  attempt: number;
  attemptId: string;
  dispatchId: string;
  /** The asset the task materialises; a task of a multi-partition run has a key of its own. */
  assetKey?: string;
  partitionKey?: string;
  callbackBaseUrl: string;
  taskToken: string;
  payload: Record<string, unknown>;
}

const SNAKE_TO_CAMEL: Record<string, string> = {
  tenant_id: 'tenantId',
  workspace_id: 'workspaceId',
  task_id: 'taskId',
  task_key: 'taskKey',
  run_id: 'runId',
  attempt_id: 'attemptId',
  dispatch_id: 'dispatchId',
  asset_key: 'assetKey',
  partition_key: 'partitionKey',
  callback_base_url: 'callbackBaseUrl',
  task_token: 'taskToken',
};

const check = validator<DispatchEnvelope>(
  {
    type: 'object',
    required: [
      'tenantId',
      'workspaceId',
      'taskKey',
      'runId',
      'attempt',
      'attemptId',
      'dispatchId',
      'callbackBaseUrl',
      'taskToken',
    ],
    properties: {
      tenantId: { type: 'string', minLength: 1 },
      workspaceId: { type: 'string', minLength: 1 },
      taskId: { type: 'string', minLength: 1 },
      taskKey: { type: 'string', minLength: 1 },
      runId: { type: 'string', minLength: 1 },
      attempt: { type: 'integer', minimum: 1 },
      attemptId: { type: 'string', minLength: 1 },
      dispatchId: { type: 'string', minLength: 1 },
      assetKey: { type: 'string' },
      partitionKey: { type: 'string' },
      callbackBaseUrl: { type: 'string', pattern: '^https?://' },
      taskToken: { type: 'string', minLength: 1 },
      payload: { type: 'object', default: {} },
    },
  },
  'dispatch envelope',
);

/** Reads an envelope in camelCase, or snake_case as older dispatchers send it. */
export function parseDispatchEnvelope(body: unknown): DispatchEnvelope {
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const normalised = Object.fromEntries(Object.entries(raw).map(([k, v]) => [SNAKE_TO_CAMEL[k] ?? k, v]));
  // A legacy envelope without taskId addresses callbacks by task key (spec §18.1).
  if (normalised.taskId === undefined && typeof normalised.taskKey === 'string')
    normalised.taskId = normalised.taskKey;
  return check(normalised);
}
