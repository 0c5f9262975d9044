import { http } from '@google-cloud/functions-framework';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { parseDispatchEnvelope } from './dispatchEnvelope.ts';
import { runDispatch } from './worker.ts';

/** Cloud Tasks delivers dispatch envelopes here; a 2xx ends the task, anything else is redelivered. */
http('worker', async (req, res) => {
  const deps = dependencies();
  let envelope;
  try {
    envelope = parseDispatchEnvelope(req.body);
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
});
