/**
 * The GCP resources the code names. Terraform declares each of them (test/terraform checks it) and the
 * local stack creates them at start.
 */
export interface PushSubscription {
  topic: string;
  subscription: string;
  /** The function target the messages are pushed to. */
  target: string;
}

export const TOPICS: readonly string[] = [];

export const PUSH_SUBSCRIPTIONS: readonly PushSubscription[] = [];

export const TASK_QUEUES: readonly string[] = [];

/** The identity Cloud Tasks presents to internal endpoints; in GCP a service account email. */
export const INTERNAL_CALLER = 'arco-internal';
