import { jsonObjectBody, registerHttpFunction } from '../../shared/http/functionsFramework.ts';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { parseDispatchEnvelope } from './dispatchEnvelope.ts';
import { runDispatch } from './worker.ts';

const processDeps = dependencies();

/**
 * Cloud Tasks delivers dispatch envelopes here; a 2xx ends the task, anything else is redelivered.
 * A request that is not a JSON object (malformed, empty, another media type) answers 4xx with the
 * orchestration error body: Cloud Tasks always sends JSON, so such a request is not a dispatch.
 */
registerHttpFunction(
  'worker',
  async (req, res) => {
    const deps = processDeps;
    const body = jsonObjectBody(req);
    let envelope;
    try {
      envelope = parseDispatchEnvelope(body);
    } catch (error) {
      // A malformed envelope will not get better on redelivery: log it and end the task.
      deps.log.error('bad dispatch envelope', { error: (error as Error).message });
      res.status(200).json({ accepted: false, error: (error as Error).message });
      return;
    }
    try {
      const result = await runDispatch(deps, envelope);
      res.status(200).json({ accepted: true, outcome: result.outcome });
    } catch (error) {
      deps.log.error('dispatch failed; Cloud Tasks will redeliver', {
        error: (error as Error).stack ?? String(error),
        runId: envelope.runId,
        taskKey: envelope.taskKey,
        attempt: envelope.attempt,
      });
      res.status(500).json({ accepted: false });
    }
  },
  {
    log: processDeps.log,
    ids: processDeps.ids,
    maxBodyBytes: processDeps.config.maxBodyBytes,
  },
);
