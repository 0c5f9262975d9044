/**
 * The GCP resources the code names. Terraform declares each of them (test/terraform checks it) and the
 * local stack creates them at start.
 */
export interface PushSubscription {
  topic: string;
  subscription: string;
  /** The function target the messages are pushed to. */
  target: string;
  /** An HTTP route of the target instead of the Functions Framework's CloudEvent conversion. */
  path?: string;
  /**
   * In GCP the function's own Eventarc trigger on the topic (terraform `event_trigger`, whose
   * subscription Eventarc creates) rather than a subscription of ours; locally a push subscription.
   */
  eventTrigger?: boolean;
}

/** Push sensors' messages; attributes `tenant`, `workspace` and `sensor` name the sensor. */
export const SENSOR_EVENTS_TOPIC = 'arco-sensor-events';

/**
 * Automation ticks: Cloud Scheduler publishes `{"tenant","workspace"}` for each workspace every minute
 * (the local stack's autotick every few seconds), and the `automation` CloudEvent function runs one pass.
 */
export const AUTOMATION_TICKS_TOPIC = 'arco-automation-ticks';

export const TOPICS: readonly string[] = [SENSOR_EVENTS_TOPIC, AUTOMATION_TICKS_TOPIC];

export const PUSH_SUBSCRIPTIONS: readonly PushSubscription[] = [
  {
    topic: SENSOR_EVENTS_TOPIC,
    subscription: `${SENSOR_EVENTS_TOPIC}-api`,
    target: 'api',
    path: '/internal/sensors/pubsub',
  },
  {
    topic: AUTOMATION_TICKS_TOPIC,
    subscription: `${AUTOMATION_TICKS_TOPIC}-automation`,
    target: 'automation',
    eventTrigger: true,
  },
];

/** Dispatches of ready tasks to workers. */
export const DISPATCH_QUEUE = 'arco-dispatch';
/** Timers: retry deadlines that fire back into the orchestrator. */
export const TIMER_QUEUE = 'arco-timers';

/**
 * Append hints: each append batch asks the compactor to fold it (one Cloud Task, delivered in a few
 * milliseconds, where a Pub/Sub push takes tens). A lost hint only delays folding: the compactor's
 * periodic scan of pending batches finds every batch.
 */
export const COMPACTION_HINT_QUEUE = 'arco-compaction-hints';

export const TASK_QUEUES: readonly string[] = [DISPATCH_QUEUE, TIMER_QUEUE, COMPACTION_HINT_QUEUE];

/** The identity Cloud Tasks presents to internal endpoints; in GCP a service account email. */
export const INTERNAL_CALLER = 'arco-internal';
