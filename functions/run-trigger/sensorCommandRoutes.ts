import { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { declaredSensor, evaluateSensor } from '../../shared/orchestration/sensor/sensorEvaluation.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { plainPartitionFields } from '../../shared/orchestration/run/runViews.ts';

const evaluateBody = validator<{
  payload?: unknown;
  attributes?: Record<string, string>;
  messageId?: string;
}>({
  type: 'object',
  additionalProperties: false,
  properties: {
    payload: {},
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
    messageId: { type: 'string', minLength: 1, maxLength: 256 },
  },
});

/** The commands of sensors (they append ledger events); reads are served by the api function. */
export function sensorCommandRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/sensors';

  routes.post(`${base}/:sensorId/evaluate`, requireRole('operator', 'producer'), async (c) => {
    const input = await readJsonBody(c, evaluateBody);
    const scope = c.get('principal').scope!;
    const sensor = await declaredSensor(deps, scope, c.req.param('sensorId'));
    const messageId = input.messageId ?? c.req.header('idempotency-key') ?? `manual_${deps.ids.next()}`;
    const snapshot = await readerFor(deps, scope).snapshot();
    const state = (await snapshot.rowsOf('sensor_state', sensor.id)).find((r) => r.sensorId === sensor.id);
    const result = await evaluateSensor(deps, scope, sensor, {
      message: { messageId, payload: input.payload, attributes: input.attributes ?? {} },
    });
    return c.json({
      ...plainPartitionFields(result),
      ...(state && state.status !== 'ACTIVE'
        ? { warning: `sensor is ${state.status}; evaluated because it was asked to` }
        : {}),
    });
  });

  return routes;
}
