import { decodeTime, isValid } from 'ulid';
import { sha256Hex } from '../../core/hashing.ts';

/** Orchestration events (orchestration spec §5). The envelope is camelCase [D]; `data.type` tags the payload. */
export interface TaskDef {
  key: string;
  dependsOn: string[];
  assetKey?: string;
  partitionKey?: string;
  maxAttempts?: number;
  heartbeatTimeoutSec?: number;
  requiresVisibleOutput?: boolean;
  /** Per-asset backoff (spec README decision 9); spec §10.2 defaults when absent. */
  initialBackoffSeconds?: number;
  maxBackoffSeconds?: number;
  workerUrl?: string;
  /** Free-form input for the worker, from the manifest asset. */
  payload?: Record<string, unknown>;
}

export interface TaskErrorInfo {
  category?: string;
  failureClass?: string;
  code?: string;
  message?: string;
  retryable?: boolean;
  /** Set by the platform when it classifies the failure (pipeline-ops spec §3). */
  signature?: string;
  classifiedBy?: string;
  retryCategory?: string;
  tracebackSnippet?: string;
}

/** The intent to dispatch one attempt of a task (orchestration spec §10.4, the outbox's entry). */
export interface DispatchRequest {
  runId: string;
  taskKey: string;
  attempt: number;
  attemptId: string;
  workerQueue: string;
  dispatchId: string;
}

/** That a dispatch's Cloud Task (`cloudTaskId`) was created. */
export interface DispatchEnqueued {
  dispatchId: string;
  runId?: string;
  taskKey?: string;
  attempt?: number;
  cloudTaskId: string;
}

export type EventData =
  | {
      type: 'run_triggered';
      runId: string;
      planId: string;
      trigger: Record<string, unknown>;
      rootAssets: string[];
      runKey?: string;
      labels?: Record<string, string>;
      codeVersion?: string;
    }
  | { type: 'plan_created'; runId: string; planId: string; tasks: TaskDef[] }
  | { type: 'run_cancel_requested'; runId: string; reason?: string; requestedBy: string }
  | {
      /** In-place retry (pipeline-ops §3.4): reopens FAILED tasks of a FAILED run under the same run id. */
      type: 'run_retry_requested';
      runId: string;
      taskKeys: string[];
      attempts: number[];
      causeFixed: boolean;
      reason?: string;
      requestedBy: string;
    }
  | {
      type: 'task_started';
      runId: string;
      taskKey: string;
      attempt: number;
      attemptId: string;
      workerId: string;
    }
  | {
      type: 'task_heartbeat';
      runId: string;
      taskKey: string;
      attempt: number;
      attemptId: string;
      workerId: string;
      heartbeatAt?: string;
      progressPct?: number;
    }
  | {
      type: 'task_finished' | 'task_completion_recorded';
      runId: string;
      taskKey: string;
      attempt: number;
      attemptId: string;
      workerId: string;
      outcome: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
      materializationId?: string;
      errorMessage?: string;
      output?: Record<string, unknown>;
      error?: TaskErrorInfo;
      assetKey?: string;
      partitionKey?: string;
      codeVersion?: string;
      retryReason?: string;
    }
  | ({ type: 'dispatch_requested' } & DispatchRequest)
  | ({ type: 'dispatch_enqueued' } & DispatchEnqueued)
  | {
      /** Many `dispatch_requested` in one ledger object: a fan-out's intents cost one write. */
      type: 'dispatches_requested';
      dispatches: DispatchRequest[];
    }
  | {
      /** Many `dispatch_enqueued` in one ledger object: a publish's acknowledgements cost one write. */
      type: 'dispatches_enqueued';
      dispatches: DispatchEnqueued[];
    }
  | {
      type: 'timer_requested' | 'timer_enqueued' | 'timer_fired';
      timerId: string;
      timerType?: string;
      runId?: string;
      taskKey?: string;
      attempt?: number;
      fireAt?: string;
      cloudTaskId?: string;
    }
  | {
      type: 'run_requested';
      runKey: string;
      runId: string;
      requestFingerprint: string;
      assetSelection: string[];
      partitionSelection?: unknown;
      triggerSourceRef: Record<string, unknown>;
      labels?: Record<string, string>;
      codeVersion?: string;
    }
  | {
      type: 'schedule_definition_upserted';
      scheduleId: string;
      cronExpression: string;
      timezone: string;
      catchupWindowMinutes: number;
      assetSelection: string[];
      codeVersion?: string;
      maxCatchupTicks: number;
      enabled: boolean;
      partitionFromTick?: string;
      pipeline?: string;
    }
  | {
      type: 'schedule_ticked';
      scheduleId: string;
      scheduledFor: string;
      tickId: string;
      definitionVersion: string;
      assetSelection: string[];
      partitionSelection?: unknown;
      status: string;
      reason?: string;
      runKey?: string;
      runId?: string;
      requestFingerprint?: string;
      /** The run-key conflict's diagnostics (the same `details` a manual trigger's 409 carries). */
      details?: Record<string, unknown>;
    }
  | {
      type: 'sensor_evaluated';
      sensorId: string;
      evalId: string;
      cursorBefore?: string;
      cursorAfter?: string;
      expectedStateVersion?: number;
      triggerSource: Record<string, unknown>;
      runRequests: unknown[];
      status: string;
      message?: string;
    }
  | {
      type: 'backfill_created';
      backfillId: string;
      clientRequestId: string;
      assetSelection: string[];
      codeVersion?: string;
      partitionSelector: unknown;
      totalPartitions: number;
      chunkSize: number;
      maxConcurrentRuns: number;
      parentBackfillId?: string;
    }
  | {
      type: 'backfill_chunk_planned';
      backfillId: string;
      chunkId: string;
      chunkIndex: number;
      partitionKeys: string[];
      runKey: string;
      requestFingerprint: string;
      runId?: string;
      /** Why the chunk's run could not be started (the chunk counts as failed), with diagnostics. */
      error?: string;
      details?: Record<string, unknown>;
    }
  | {
      type: 'backfill_state_changed';
      backfillId: string;
      fromState: string;
      toState: string;
      stateVersion: number;
      changedBy?: string;
    };

export type EventType = EventData['type'];

export interface OrchestrationEvent<D extends EventData = EventData> {
  eventId: string;
  eventType: string;
  eventVersion: 1;
  timestamp: string;
  source: string;
  tenantId: string;
  workspaceId: string;
  idempotencyKey: string;
  correlationId?: string;
  causationId?: string;
  data: D;
}

const pascal = (type: string) =>
  type
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

/** Default idempotency keys (spec §5.3). */
export function defaultIdempotencyKey(data: EventData): string {
  switch (data.type) {
    case 'run_triggered':
      return data.runKey ? `run:${data.runKey}` : `run:${data.runId}`;
    case 'plan_created':
      return `plan:${data.runId}`;
    case 'run_cancel_requested':
      return `cancel_req:${data.runId}`;
    case 'run_retry_requested':
      return `retry:${data.runId}:${data.taskKeys.map((k, i) => `${k}@${data.attempts[i]}`).join(',')}`;
    case 'task_started':
      return `started:${data.runId}:${data.taskKey}:${data.attempt}`;
    case 'task_heartbeat':
      return `heartbeat:${data.runId}:${data.taskKey}:${data.attempt}:${data.attemptId}${
        data.heartbeatAt ? `:${Date.parse(data.heartbeatAt)}` : ''
      }`;
    case 'task_finished':
    case 'task_completion_recorded':
      return `finished:${data.runId}:${data.taskKey}:${data.attempt}`;
    case 'dispatch_requested':
      return `dispatch_req:${data.dispatchId}`;
    case 'dispatch_enqueued':
      return `dispatch_ack:${data.dispatchId}`;
    case 'dispatches_requested':
      return `dispatch_reqs:${sha256Hex(data.dispatches.map((d) => d.dispatchId).join('\n'))}`;
    case 'dispatches_enqueued':
      return `dispatch_acks:${sha256Hex(data.dispatches.map((d) => d.dispatchId).join('\n'))}`;
    case 'timer_requested':
      return `timer_req:${data.timerId}`;
    case 'timer_enqueued':
      return `timer_ack:${data.timerId}`;
    case 'timer_fired':
      return `timer_fired:${data.timerId}`;
    case 'run_requested':
      return `runreq:${data.runKey}:${sha256Hex(data.requestFingerprint)}`;
    case 'schedule_definition_upserted':
      return `sched_def:${data.scheduleId}:${sha256Hex(
        [
          data.cronExpression,
          data.timezone,
          data.catchupWindowMinutes,
          data.maxCatchupTicks,
          data.enabled,
          [...data.assetSelection].sort().join(','),
        ].join('|'),
      )}`;
    case 'schedule_ticked':
      return `sched_tick:${data.tickId}`;
    case 'sensor_evaluated': {
      const source = data.triggerSource as { messageId?: string; pollEpoch?: number };
      return source.messageId !== undefined
        ? `sensor_eval:${data.sensorId}:msg:${source.messageId}`
        : `sensor_eval:${data.sensorId}:poll:${source.pollEpoch}:${data.cursorBefore ? sha256Hex(data.cursorBefore) : 'none'}`;
    }
    case 'backfill_created':
      return `backfill_create:${data.clientRequestId}`;
    case 'backfill_chunk_planned':
      return `backfill_chunk:${data.backfillId}:${data.chunkIndex}`;
    case 'backfill_state_changed':
      return `backfill_state:${data.backfillId}:${data.stateVersion}:${data.toState.toUpperCase()}`;
  }
}

export interface EnvelopeInput {
  eventId: string;
  tenantId: string;
  workspaceId: string;
  timestamp: Date;
  data: EventData;
  idempotencyKey?: string;
  causationId?: string;
}

export function envelope({
  eventId,
  tenantId,
  workspaceId,
  timestamp,
  data,
  idempotencyKey,
  causationId,
}: EnvelopeInput): OrchestrationEvent {
  const runId = (data as { runId?: string }).runId;
  return {
    eventId,
    eventType: pascal(data.type),
    eventVersion: 1,
    timestamp: timestamp.toISOString(),
    source: `arco-flow/${tenantId}/${workspaceId}`,
    tenantId,
    workspaceId,
    idempotencyKey: idempotencyKey ?? defaultIdempotencyKey(data),
    ...(runId ? { correlationId: runId } : {}),
    ...(causationId ? { causationId } : {}),
    data,
  };
}

/** Server-minted time of an event: its ULID's timestamp, else the envelope timestamp (spec §10.2). */
export function eventTimeMs(event: Pick<OrchestrationEvent, 'eventId' | 'timestamp'>): number {
  return isValid(event.eventId) ? decodeTime(event.eventId) : Date.parse(event.timestamp);
}

/** `ledger/orchestration/{YYYY-MM-DD}/{eventId}.json`, the date being the UTC date of the event time. */
export function ledgerPath(event: Pick<OrchestrationEvent, 'eventId' | 'timestamp'>): string {
  const day = new Date(eventTimeMs(event)).toISOString().slice(0, 10);
  return `ledger/orchestration/${day}/${event.eventId}.json`;
}

const LEDGER_PATH = /^ledger\/orchestration\/(\d{4}-\d{2}-\d{2})\/([^/]+)\.json$/;

/** The event id a ledger path names, or null when the path is not a ledger path. */
export function eventIdFromLedgerPath(path: string): string | null {
  return LEDGER_PATH.exec(path)?.[2] ?? null;
}
