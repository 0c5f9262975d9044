import type { CloudEvent } from '@google-cloud/functions-framework';
import { SCOPE_ID_PATTERN, type Scope } from '../../shared/auth/principal.ts';

/** A Pub/Sub message as Eventarc delivers it (`google.cloud.pubsub.topic.v1.messagePublished`). */
export interface MessagePublishedData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
  subscription?: string;
}

/** What Cloud Scheduler publishes to `arco-automation-ticks` for one workspace: `{tenant, workspace, now?}`. */
export interface TickMessage {
  scope: Scope;
  /** The pass's time; absent (the scheduled case) = the time the function runs. */
  now?: Date;
}

/**
 * The tick a Pub/Sub CloudEvent asks for, from its base64 JSON data (`{"tenant","workspace","now"?}`),
 * or a reason it names none. A bad message is not retried: it would not get better.
 */
export function parseTickMessage(event: CloudEvent<MessagePublishedData>): TickMessage | { invalid: string } {
  const data = event.data?.message?.data;
  if (!data) return { invalid: 'the message has no data' };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return { invalid: 'the message data is not JSON' };
  }
  const { tenant, workspace, now } = (body ?? {}) as Record<string, unknown>;
  if (typeof tenant !== 'string' || !SCOPE_ID_PATTERN.test(tenant))
    return { invalid: 'tenant is missing or not an id' };
  if (typeof workspace !== 'string' || !SCOPE_ID_PATTERN.test(workspace))
    return { invalid: 'workspace is missing or not an id' };
  if (now !== undefined && (typeof now !== 'string' || Number.isNaN(Date.parse(now))))
    return { invalid: 'now is not an RFC 3339 time' };
  return { scope: { tenant, workspace }, ...(now ? { now: new Date(now) } : {}) };
}
