import type { DispatchEnvelope } from './dispatchEnvelope.ts';

export type CallbackKind = 'started' | 'heartbeat' | 'completed';

/** The orchestrator refused the callback for good (409 or 410): the worker must stop this attempt. */
export class CallbackRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`callback refused with ${status}: ${JSON.stringify(body)}`);
  }
}

/** Posts worker callbacks (spec §18.2) with the task token; other failures throw for a redelivery. */
export async function postCallback(
  envelope: DispatchEnvelope,
  kind: CallbackKind,
  body: Record<string, unknown>,
) {
  const url = `${envelope.callbackBaseUrl.replace(/\/+$/, '')}/api/v1/tasks/${encodeURIComponent(envelope.taskId)}/${kind}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${envelope.taskToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ attempt: envelope.attempt, attemptId: envelope.attemptId, ...body }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const isJson = /json/i.test(response.headers.get('content-type') ?? '') && text !== '';
  const parsed: unknown = isJson ? JSON.parse(text) : { text };
  if (response.status === 409 || response.status === 410) throw new CallbackRefused(response.status, parsed);
  if (!response.ok) throw new Error(`${kind} callback failed with ${response.status}: ${text}`);
  return parsed as Record<string, unknown>;
}
