import { Hono } from 'hono';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { requireRole } from '../../../shared/http/authMiddleware.ts';
import { syncDeclaredSchedules } from '../../../shared/orchestration/schedule/scheduleCommands.ts';
import { withIdempotencyKey } from '../../../shared/http/idempotencyKeys.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';
import { buildManifest, type ManifestInput } from '../../../shared/orchestration/codeLocationManifest.ts';
import { ManifestStore } from '../../../shared/orchestration/manifestStore.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

const assetKey = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 256 },
    {
      type: 'object',
      additionalProperties: false,
      required: ['namespace', 'name'],
      properties: { namespace: { type: 'string' }, name: { type: 'string' } },
    },
  ],
};
const retryPolicy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxAttempts: { type: 'integer', minimum: 1, maximum: 20 },
    initialBackoffSeconds: { type: 'integer', minimum: 0, maximum: 86400 },
    maxBackoffSeconds: { type: 'integer', minimum: 0, maximum: 86400 },
  },
};
const workerUrl = { type: 'string', pattern: '^https?://', maxLength: 2048 };

const manifestBody = validator<ManifestInput>({
  type: 'object',
  additionalProperties: false,
  required: ['codeVersionId', 'assets'],
  properties: {
    manifestVersion: { type: 'string' },
    codeVersionId: { type: 'string', minLength: 1, maxLength: 256 },
    workerUrl,
    retryPolicy,
    assets: {
      type: 'array',
      maxItems: 10000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key'],
        properties: {
          key: assetKey,
          id: { type: 'string' },
          dependencies: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['upstreamKey'],
              properties: { upstreamKey: assetKey },
            },
          },
          partitioning: {
            type: 'object',
            additionalProperties: false,
            properties: {
              isPartitioned: { type: 'boolean' },
              dimensions: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name', 'kind'],
                  properties: {
                    name: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
                    kind: { enum: ['time', 'static', 'tenant'] },
                    granularity: { enum: ['day', 'hour'] },
                    values: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          workerUrl,
          retryPolicy,
          heartbeatTimeoutSec: { type: 'integer', minimum: 30, maximum: 86400 },
          payload: { type: 'object' },
        },
      },
    },
    schedules: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'cron'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
          cron: { type: 'string', minLength: 1, maxLength: 128 },
          assets: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          timezone: { type: 'string', minLength: 1, maxLength: 64 },
          partitionFromTick: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
          pipeline: { type: 'string', minLength: 1 },
        },
      },
    },
    pipelines: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'assets', 'partitionDimension'],
        properties: {
          name: { type: 'string' },
          default: { type: 'boolean' },
          assets: { type: 'array', minItems: 1, items: { type: 'string' } },
          partitionDimension: { type: 'string' },
          timezone: { type: 'string' },
          asOf: { type: 'object' },
          steps: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              additionalProperties: false,
              properties: {
                sideEffects: { enum: ['run_scoped', 'publishes'] },
                models: { type: 'array', items: { type: 'string' } },
              },
            },
          },
          publish: {
            type: 'object',
            additionalProperties: false,
            properties: { dataPointers: { type: 'array', items: { type: 'string' } } },
          },
          maxParallelDefault: { type: 'integer', minimum: 1, maximum: 64 },
        },
      },
    },
    sensors: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'kind', 'assetSelection'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
          kind: { enum: ['push', 'poll'] },
          assetSelection: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          partitionKeyAttribute: { type: 'string', minLength: 1 },
          evaluatorUrl: { type: 'string', pattern: '^https?://' },
          minIntervalSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
          topic: { type: 'string' },
        },
      },
    },
    git: { type: 'object' },
    metadata: { type: 'object' },
  },
});

/** Code-location manifests: the assets, their dependencies, workers and retry policies. */
export function manifestRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  routes.post('/workspaces/:workspaceId/manifests', requireRole('operator', 'producer'), async (c) => {
    const input = await readJsonBody(c, manifestBody);
    const scope = c.get('principal').scope!;
    return withIdempotencyKey(
      c,
      deps,
      'deploy-manifest',
      input,
      async () => {
        const now = deps.clock.now();
        const manifest = buildManifest(input, deps.ids.next(now.getTime()), now.toISOString());
        await new ManifestStore(deps.documents, scope).deploy(manifest);
        await syncDeclaredSchedules(deps, scope, manifest);
        return {
          status: 201,
          body: {
            manifestId: manifest.manifestId,
            workspaceId: scope.workspace,
            codeVersionId: manifest.codeVersionId,
            fingerprint: manifest.fingerprint,
            assetCount: manifest.assets.length,
            deployedAt: manifest.deployedAt,
          },
        };
      },
      200,
    );
  });
  routes.get('/workspaces/:workspaceId/manifests/latest', async (c) => {
    const manifest = await new ManifestStore(deps.documents, c.get('principal').scope!).latest();
    if (!manifest)
      return c.json(
        { code: 'NOT_FOUND', message: 'no manifest deployed', requestId: c.get('requestId') },
        404,
      );
    return c.json(manifest);
  });
  return routes;
}
