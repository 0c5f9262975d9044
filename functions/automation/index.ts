import type { CloudEvent } from '@google-cloud/functions-framework';
import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { registerCloudEventFunction } from '../../shared/http/functionsFramework.ts';
import { runAutomationTick } from '../../shared/orchestration/automationTick.ts';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { createTickApp, LOCAL_TICK_TARGET } from './tickRoutes.ts';
import { type MessagePublishedData, parseTickMessage } from './tickMessage.ts';

const deps = dependencies();

// Cloud Scheduler publishes one message per workspace and minute to `arco-automation-ticks`; Eventarc
// delivers it here. A throw makes Eventarc redeliver; the tick's controllers are idempotent.
registerCloudEventFunction<MessagePublishedData>(
  'automation',
  async (event: CloudEvent<MessagePublishedData>) => {
    const tick = parseTickMessage(event);
    if ('invalid' in tick) {
      deps.log.error('automation tick message refused', { reason: tick.invalid, eventId: event.id });
      return;
    }
    const result = await runAutomationTick(deps, tick.scope, tick.now ?? deps.clock.now());
    deps.log.info('automation tick', { ...tick.scope, result });
  },
  { log: deps.log, ids: deps.ids, maxBodyBytes: deps.config.maxBodyBytes },
);

// The local stack's `POST /internal/automation/tick` (local stack contract): one pass at a chosen time,
// answered with what it did. Never deployed: the gateway document marks the path local-only.
if (deps.config.localStack) registerAppFunction(LOCAL_TICK_TARGET, createTickApp);
