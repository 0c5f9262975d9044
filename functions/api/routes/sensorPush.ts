import { Hono } from 'hono';
import { type Scope, SCOPE_ID_PATTERN } from '../../../shared/auth/principal.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { SENSOR_PUSH_PATH } from '../../../shared/http/functionApp.ts';
import { pushAuth } from '../../../shared/http/pushAuth.ts';
import {
  declaredSensor,
  evaluateSensor,
  UnknownSensorError,
} from '../../../shared/orchestration/sensor/sensorEvaluation.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

interface PushBody {
  message?: { messageId?: string; message_id?: string; data?: string; attributes?: Record<string, string> };
}

/**
 * Push sensors' messages (spec §15.1) arrive on one topic; the attributes `tenant`, `workspace` and
 * `sensor` name the sensor. A redelivered message evaluates to nothing new (deduplicated by message id).
 * A message that names no known sensor is acknowledged and dropped, so Pub/Sub does not retry it forever.
 */
export function sensorPushRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  routes.use(SENSOR_PUSH_PATH, pushAuth(deps.tokens, deps.config.pushToken));
  routes.post(SENSOR_PUSH_PATH, async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as PushBody;
    const attributes = body.message?.attributes ?? {};
    const messageId = body.message?.messageId ?? body.message?.message_id;
    const { tenant, workspace, sensor: sensorId } = attributes;
    if (
      !messageId ||
      !sensorId ||
      !SCOPE_ID_PATTERN.test(tenant ?? '') ||
      !SCOPE_ID_PATTERN.test(workspace ?? '')
    )
      return c.json({ ignored: 'message needs messageId and the attributes tenant, workspace and sensor' });
    const scope: Scope = { tenant: tenant!, workspace: workspace! };
    let payload: unknown;
    try {
      payload = body.message?.data
        ? JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8'))
        : undefined;
    } catch {
      payload = body.message?.data;
    }
    try {
      const sensor = await declaredSensor(deps, scope, sensorId);
      return c.json(
        await evaluateSensor(deps, scope, sensor, { message: { messageId, payload, attributes } }),
      );
    } catch (error) {
      if (error instanceof UnknownSensorError) return c.json({ ignored: error.message });
      throw error;
    }
  });
  return routes;
}
