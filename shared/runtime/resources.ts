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
}

/** Appends publish one hint per batch here; the compactor folds whatever is pending. */
export const ORCHESTRATION_APPENDS_TOPIC = 'arco-orchestration-appends';

/** Push sensors' messages; attributes `tenant`, `workspace` and `sensor` name the sensor. */
export const SENSOR_EVENTS_TOPIC = 'arco-sensor-events';

export const TOPICS: readonly string[] = [ORCHESTRATION_APPENDS_TOPIC, SENSOR_EVENTS_TOPIC];

export const PUSH_SUBSCRIPTIONS: readonly PushSubscription[] = [
  {
    topic: ORCHESTRATION_APPENDS_TOPIC,
    subscription: `${ORCHESTRATION_APPENDS_TOPIC}-compactor`,
    target: 'compactor',
    path: '/pubsub',
  },
  {
    topic: SENSOR_EVENTS_TOPIC,
    subscription: `${SENSOR_EVENTS_TOPIC}-api`,
    target: 'api',
    path: '/internal/sensors/pubsub',
  },
];

/** Dispatches of ready tasks to workers. */
export const DISPATCH_QUEUE = 'arco-dispatch';
/** Timers: retry deadlines that fire back into the orchestrator. */
export const TIMER_QUEUE = 'arco-timers';

export const TASK_QUEUES: readonly string[] = [DISPATCH_QUEUE, TIMER_QUEUE];

/** The identity Cloud Tasks presents to internal endpoints; in GCP a service account email. */
export const INTERNAL_CALLER = 'arco-internal';
