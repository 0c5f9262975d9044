import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { dispatchIdOf, retryTimerIdOf } from './dispatchIds.ts';
import { DISPATCH_QUEUE } from '../../runtime/resources.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import { decodeTime, isValid } from 'ulid';
import { dispatchRequest, reconcileDispatches, repairStuckDispatch } from './dispatchController.ts';
import type { EventData } from '../state/events.ts';
import { isTerminal, type RunRow, type TaskRow, taskRowKeysOf } from './evolve.ts';
import { type AppendInput, pendingCollection } from '../state/ledger.ts';
import { ledgerFor, readerFor } from '../orchestrationServices.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import { emptyState, type FoldState, type Row, rowKey, type TableName } from '../state/projectionTables.ts';

const STUCK_READY_MS = 5 * 60_000;
/**
 * A dispatch whose Cloud Task was created this long ago (by its outbox row's version), has left the
 * queue and whose task never started is created again under a repair name (spec §10.3): the original
 * name cannot deliver twice.
 */
const STUCK_DISPATCH_MS = 10 * 60_000;
/** Repairs of one dispatch before its attempt fails as `dispatch_undelivered` (a worker that refuses it). */
const MAX_DISPATCH_REPAIRS = 3;
/** The most stuck dispatches one tick looks at (a `GetTask` each), oldest first. */
const STUCK_DISPATCHES_PER_TICK = 100;
const HEARTBEAT_GRACE_MS = 30_000;
/** Projections older than this are not trusted for destructive repairs (spec §10.3). */
const MAX_LAG_MS = 5 * 60_000;

export interface SweepResult {
  /** Attempts failed because their worker stopped heartbeating. */
  heartbeatTimeouts: number;
  /** Dispatches requested or created again. */
  redispatched: number;
  /** Attempts failed because their dispatch never started after `MAX_DISPATCH_REPAIRS` repairs. */
  undelivered: number;
  skipped?: 'projection_lagging';
}

/**
 * The anti-entropy sweeper (orchestration spec §10.3), one pass at `now`: fails attempts whose worker
 * stopped heartbeating, re-requests dispatches lost between the outbox and Cloud Tasks, creates again
 * under a repair name a dispatch created 10 minutes ago that left the queue without its task starting,
 * and starts retries whose timer was lost. Every event it appends has a natural idempotency key and a
 * repair's Cloud Task name derives from its outbox row's version, so a repeated tick at the same `now`
 * changes nothing; once a repair's acknowledgement is published, the next repair of that dispatch
 * waits another 10 minutes under a new name.
 */
export async function sweepStuckTasks(deps: Dependencies, scope: Scope, now: Date): Promise<SweepResult> {
  const snapshot = await readerFor(deps, scope).snapshot();
  const processedAt = snapshot.manifest?.watermarks.last_processed_at;
  if (
    processedAt &&
    now.getTime() - Date.parse(processedAt) > MAX_LAG_MS &&
    !(await nothingPending(deps, scope))
  )
    return { heartbeatTimeouts: 0, redispatched: 0, undelivered: 0, skipped: 'projection_lagging' };
  // Only the shards that hold a run in progress: a tick's cost must not grow with finished history.
  const runs = (await snapshot.openRows('runs')) as RunRow[];
  const events: EventData[] = [];
  const state = emptyState();
  const put = (table: TableName, row: Row) => (state[table] as Map<string, Row>).set(rowKey(table, row), row);
  let heartbeatTimeouts = 0;
  let redispatched = 0;
  let undelivered = 0;
  const stuckDispatches: Array<{ run: RunRow; task: TaskRow; outbox: Row }> = [];
  const repairs: AppendInput[] = [];
  // Each run's rows are read 8 runs at a time: a tick's time follows the runs in progress ÷ 8, not
  // one read after another.
  const loaded = await mapLimit(runs, 8, async (run) => {
    // The run's own task slices, as a read of the run does, rather than every slice of its shard.
    const [outbox, tasks] = await Promise.all([
      snapshot.rowsOf('dispatch_outbox', run.runId),
      snapshot.rowsWithKeys('tasks', taskRowKeysOf(run)) as Promise<TaskRow[]>,
    ]);
    // Timers shard by timer id, not run id (projectionTables): without its row, the dispatcher below
    // would take the retry timer for lost and enqueue it again on every tick.
    const timers = await Promise.all(tasks.map((task) => retryTimerOf(snapshot, task)));
    return { run, outbox, tasks, timers };
  });
  for (const { run, outbox, tasks, timers } of loaded) {
    put('runs', run);
    for (const row of outbox) put('dispatch_outbox', row);
    for (const [i, task] of tasks.entries()) {
      put('tasks', task);
      if (isTerminal(task.state)) continue;
      const timer = timers[i];
      if (timer) put('timers', timer);
      if (task.state === 'RUNNING') {
        const last = Date.parse(task.lastHeartbeatAt ?? task.startedAt ?? now.toISOString());
        if (now.getTime() - last > task.heartbeatTimeoutSec * 1000 + HEARTBEAT_GRACE_MS) {
          heartbeatTimeouts += 1;
          events.push(antiEntropyFailure(task, 'heartbeat_timeout'));
        }
      }
      if (
        task.state === 'RETRY_WAIT' &&
        task.attempt < task.maxAttempts &&
        task.retryNotBefore &&
        Date.parse(task.retryNotBefore) <= now.getTime()
      ) {
        const dispatchId = dispatchIdOf(task.runId, task.taskKey, task.attempt + 1);
        if (!outbox.some((o) => o.dispatchId === dispatchId)) {
          redispatched += 1;
          events.push(dispatchRequest(task.runId, task.taskKey, task.attempt + 1));
        }
      }
      if (task.state === 'READY' && task.readyAt && now.getTime() - Date.parse(task.readyAt) > STUCK_READY_MS)
        redispatched += 1;
      if (task.state === 'DISPATCHED') {
        const dispatchId = dispatchIdOf(task.runId, task.taskKey, task.attempt);
        const row = outbox.find((o) => o.dispatchId === dispatchId);
        const version = String(row?.rowVersion ?? '');
        if (
          row?.status === 'CREATED' &&
          isValid(version) &&
          now.getTime() - decodeTime(version) > STUCK_DISPATCH_MS
        )
          stuckDispatches.push({ run, task, outbox: row });
      }
    }
  }
  // A long legitimate backlog (a rate-limited queue) lists many: the oldest are looked at first, since
  // Cloud Tasks delivers those first. A failure costs only its own dispatch.
  stuckDispatches.sort((a, b) => (String(a.outbox.rowVersion) < String(b.outbox.rowVersion) ? -1 : 1));
  await mapLimit(stuckDispatches.slice(0, STUCK_DISPATCHES_PER_TICK), 8, async ({ run, task, outbox }) => {
    const repaired = await (async () => {
      // Still in the queue (waiting its turn, or retried while its worker fails): Cloud Tasks delivers it.
      if (await deps.tasks.exists(DISPATCH_QUEUE, String(outbox.cloudTaskId))) return null;
      // Created again this often already and never started: the attempt fails, and its retry policy decides.
      if (Number(outbox.repairs ?? 0) >= MAX_DISPATCH_REPAIRS) {
        undelivered += 1;
        repairs.push({ data: antiEntropyFailure(task, 'dispatch_undelivered') });
        return null;
      }
      return repairStuckDispatch(
        deps,
        scope,
        run,
        task,
        { dispatchId: String(outbox.dispatchId), rowVersion: String(outbox.rowVersion) },
        now.getTime(),
      );
    })().catch((error: unknown) => {
      deps.log.warn('stuck dispatch not created again; the next tick retries', {
        dispatchId: outbox.dispatchId,
        error: String(error),
      });
      return null;
    });
    if (repaired) {
      redispatched += 1;
      repairs.push(repaired);
    }
  });
  if (events.length || repairs.length)
    await ledgerFor(deps, scope).append([...events.map((data) => ({ data })), ...repairs]);
  // Outbox rows and ready tasks a lost controller run left behind get the dispatcher's normal treatment.
  const ledger = ledgerFor(deps, scope);
  await reconcileDispatches(
    deps,
    scope,
    state as FoldState,
    { tasks: state.tasks.keys() },
    async (events) => {
      await ledger.append(events.map((data) => ({ data })));
    },
  ).catch((error: unknown) =>
    deps.log.error('sweeper could not repair dispatches; the next tick retries', { error: String(error) }),
  );
  return { heartbeatTimeouts, redispatched, undelivered };
}

/**
 * The sweeper's failure of a task's current attempt (`code`: `heartbeat_timeout`, its worker went
 * silent; `dispatch_undelivered`, its dispatch never started however often it was created again):
 * retryable, so the task's retry policy decides what follows.
 */
function antiEntropyFailure(task: TaskRow, code: 'heartbeat_timeout' | 'dispatch_undelivered'): EventData {
  const message = `${code}_anti_entropy`;
  return {
    type: 'task_finished',
    runId: task.runId,
    taskKey: task.taskKey,
    attempt: task.attempt,
    attemptId: task.attemptId ?? '',
    workerId: 'anti-entropy',
    outcome: 'failed',
    errorMessage: message,
    error: {
      category: 'TIMEOUT',
      failureClass: 'TIMEOUT',
      code,
      classifiedBy: 'platform',
      retryCategory: 'A',
      message,
      retryable: true,
    },
    retryReason: code,
  };
}

/** The folded retry timer of a task waiting for its retry, read from the shard its timer id names. */
async function retryTimerOf(snapshot: ProjectionSnapshot, task: TaskRow): Promise<Row | undefined> {
  if (task.state !== 'RETRY_WAIT' || !task.retryNotBefore) return undefined;
  const timerId = retryTimerIdOf(task.runId, task.taskKey, task.attempt, Date.parse(task.retryNotBefore));
  return (await snapshot.rowsOf('timers', timerId)).find((row) => row.timerId === timerId);
}

async function nothingPending(deps: Dependencies, scope: Scope): Promise<boolean> {
  return (await deps.documents.count(pendingCollection(scope))) === 0;
}
