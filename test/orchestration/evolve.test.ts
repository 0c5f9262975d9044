import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldEvents } from '../../shared/orchestration/state/evolve.ts';
import {
  type EdgeRow,
  retryDelayMs,
  type RunRow,
  type TaskRow,
} from '../../shared/orchestration/run/evolve.ts';
import type { EventData, OrchestrationEvent, TaskDef } from '../../shared/orchestration/state/events.ts';
import {
  emptyState,
  type FoldState,
  keyOf,
  shardOfRow,
  TABLES,
} from '../../shared/orchestration/state/projectionTables.ts';
import { eventFactory } from '../support/eventFactory.ts';
import { retryAttribution } from '../../shared/orchestration/run/runViews.ts';
import {
  acknowledgementsStillNeeded,
  batchedDispatchEvents,
  dispatchRequest,
} from '../../shared/orchestration/run/dispatchController.ts';
import { ulid } from 'ulid';
import { cloudTaskName } from '../../shared/orchestration/run/dispatchIds.ts';

const task = (s: FoldState, run: string, key: string) => s.tasks.get(keyOf(run, key)) as TaskRow;
const run = (s: FoldState, id: string) => s.runs.get(id) as RunRow;
const plan: TaskDef[] = [
  {
    key: 'raw.orders',
    dependsOn: [],
    assetKey: 'raw.orders',
    partitionKey: 'date=2026-11-22',
    maxAttempts: 2,
  },
  {
    key: 'analytics.orders',
    dependsOn: ['raw.orders'],
    assetKey: 'analytics.orders',
    partitionKey: 'date=2026-11-22',
  },
  { key: 'analytics.report', dependsOn: ['analytics.orders'], assetKey: 'analytics.report' },
];

/** The events of one run whose tasks do what `script` says, in the order a healthy system emits them. */
function scenario(script: Record<string, Array<'ok' | 'fail' | 'fatal'>>) {
  const f = eventFactory();
  const events: OrchestrationEvent[] = [];
  const emit = (data: EventData) => {
    f.advance(1000);
    events.push(f.event(data));
  };
  emit({
    type: 'run_triggered',
    runId: 'r1',
    planId: 'p1',
    trigger: { manual: { userId: 'u' } },
    rootAssets: ['raw.orders'],
    runKey: 'k1',
  });
  emit({ type: 'plan_created', runId: 'r1', planId: 'p1', tasks: plan });
  for (const def of plan) {
    const outcomes = script[def.key] ?? [];
    outcomes.forEach((outcome, i) => {
      const attempt = i + 1;
      const attemptId = `att_${def.key}_${attempt}`;
      emit({
        type: 'dispatch_requested',
        runId: 'r1',
        taskKey: def.key,
        attempt,
        attemptId,
        workerQueue: 'q',
        dispatchId: `dispatch:r1:${def.key}:${attempt}`,
      });
      emit({ type: 'task_started', runId: 'r1', taskKey: def.key, attempt, attemptId, workerId: 'w' });
      emit({
        type: 'task_finished',
        runId: 'r1',
        taskKey: def.key,
        attempt,
        attemptId,
        workerId: 'w',
        outcome: outcome === 'ok' ? 'succeeded' : 'failed',
        ...(outcome === 'ok'
          ? { output: { deltaTable: def.key, deltaVersion: attempt + 10, deltaPartition: def.partitionKey } }
          : {
              error: {
                category: outcome === 'fatal' ? 'DATA_QUALITY' : 'INFRASTRUCTURE',
                message: `boom ${attempt}`,
              },
            }),
      });
    });
  }
  return events;
}

describe('evolve: task and run state machines', () => {
  it("spreads a run's task, edge and outbox rows over its slice count; rows of older runs keep 32 slices", () => {
    const events = scenario({
      'raw.orders': ['ok'],
      'analytics.orders': ['fail', 'ok'],
      'analytics.report': ['ok'],
    });
    const runRows = (s: FoldState) =>
      (['tasks', 'dep_satisfaction', 'dispatch_outbox'] as const).flatMap((table) =>
        [...s[table].values()].map((row) => ({ table, row })),
      );
    const done = foldEvents(emptyState(), events);
    expect(run(done, 'r1').taskSlices).toBe(1);
    const rows = runRows(done);
    expect(rows.map(({ row }) => row.runSlices)).toEqual(rows.map(() => 1));
    // A 3-task run is one slice per table.
    for (const table of ['tasks', 'dep_satisfaction'] as const)
      expect(new Set(rows.filter((r) => r.table === table).map((r) => shardOfRow(table, r.row))).size).toBe(
        1,
      );

    // A run planned before slice counts existed: its rows stay where readers of the 32-slice layout look.
    const planned = foldEvents(emptyState(), events.slice(0, 2));
    const { taskSlices: _dropped, ...olderRun } = run(planned, 'r1');
    const older = {
      ...planned,
      runs: new Map([['r1', olderRun]]),
      ...Object.fromEntries(
        (['tasks', 'dep_satisfaction'] as const).map((table) => [
          table,
          new Map(
            [...planned[table]].map(([key, row]) => {
              const { runSlices: _stripped, ...rest } = row;
              return [key, rest];
            }),
          ),
        ]),
      ),
    } as FoldState;
    const after = foldEvents(older, events.slice(2));
    expect(run(after, 'r1').state).toBe('SUCCEEDED');
    expect(runRows(after).filter(({ row }) => 'runSlices' in row)).toEqual([]);
    // The two placements have their own slice names (`r`), so a compactor of an earlier version sees a
    // layout it does not write and rewrites the table rather than keeping a copy where it never looks.
    const names = (s: FoldState) => runRows(s).map(({ table, row }) => shardOfRow(table, row));
    expect(names(done).every((name) => /\.u?r[0-9a-f]{2}$/.test(name))).toBe(true);
    expect(names(after).every((name) => /\.u?[0-9a-f]{2}$/.test(name))).toBe(true);
  });

  it('plans READY roots and BLOCKED dependents, then unblocks on success and completes the run', () => {
    const planned = foldEvents(emptyState(), scenario({}));
    expect(run(planned, 'r1')).toMatchObject({ state: 'RUNNING', tasksTotal: 3, runKey: 'k1' });
    expect(task(planned, 'r1', 'raw.orders')).toMatchObject({ state: 'READY', attempt: 0, depsTotal: 0 });
    expect(task(planned, 'r1', 'analytics.orders')).toMatchObject({ state: 'BLOCKED', depsTotal: 1 });

    const done = foldEvents(
      emptyState(),
      scenario({ 'raw.orders': ['ok'], 'analytics.orders': ['ok'], 'analytics.report': ['ok'] }),
    );
    expect(run(done, 'r1')).toMatchObject({ state: 'SUCCEEDED', tasksCompleted: 3, tasksSucceeded: 3 });
    expect(done.dispatch_outbox.size).toBe(0);
    const orders = task(done, 'r1', 'analytics.orders');
    expect(orders).toMatchObject({
      state: 'SUCCEEDED',
      deltaTable: 'analytics.orders',
      deltaVersion: 11,
      deltaPartition: 'date=2026-11-22',
    });
    expect(orders.executionLineageRef).toBe(
      '{"runId":"r1","taskKey":"analytics.orders","attempt":1,"deltaTable":"analytics.orders","deltaVersion":11,"deltaPartition":"date=2026-11-22"}',
    );
    const partition = done.partition_status.get(keyOf('analytics.orders', 'date=2026-11-22'))!;
    for (const field of ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'])
      expect(partition[field], field).toEqual(orders[field]);
  });

  it('retries a retryable failure with a deadline from the event id, then succeeds on attempt 2', () => {
    const events = scenario({ 'raw.orders': ['fail', 'ok'] });
    const afterFailure = foldEvents(emptyState(), events.slice(0, 5));
    const waiting = task(afterFailure, 'r1', 'raw.orders');
    expect(waiting).toMatchObject({
      state: 'RETRY_WAIT',
      attempt: 1,
      lastFailure: { attempt: 1, errorCategory: 'INFRASTRUCTURE', retryable: true },
    });
    const delay = Date.parse(waiting.retryNotBefore!) - Date.parse('2026-11-23T10:00:05Z');
    expect(delay).toBeGreaterThanOrEqual(27_000);
    expect(delay).toBeLessThanOrEqual(33_000);
    expect(delay).toBe(retryDelayMs(1, 30, 900, 'r1|raw.orders|1'));
    const after = foldEvents(emptyState(), events);
    expect(task(after, 'r1', 'raw.orders')).toMatchObject({
      state: 'SUCCEEDED',
      attempt: 2,
      retryReason: 'prior_attempt_failed',
    });
    expect(task(after, 'r1', 'analytics.orders').state).toBe('READY');
  });

  it('attributes a retry to the attempt it retries, also when the retry fails too (spec §11)', () => {
    const s = foldEvents(emptyState(), scenario({ 'raw.orders': ['fail', 'fatal'] }));
    const failed = task(s, 'r1', 'raw.orders');
    expect(failed).toMatchObject({ state: 'FAILED', attempt: 2, lastFailure: { attempt: 2 } });
    expect(retryAttribution(failed)).toEqual({
      retries: 1,
      attempt: 2,
      maxAttempts: failed.maxAttempts,
      reason: 'prior_attempt_failed',
      previousAttempt: { attempt: 1, errorCategory: 'INFRASTRUCTURE', message: 'boom 1' },
    });
  });

  it('keeps a waiting attempt’s own attribution until its retry is dispatched', () => {
    const previousOf = (script: Array<'ok' | 'fail'>) => {
      const t = task(
        foldEvents(emptyState(), scenario({ 'raw.orders': ['ok'], 'analytics.orders': script })),
        'r1',
        'analytics.orders',
      );
      return { state: t.state, attribution: retryAttribution(t) };
    };
    // Attempt 2 failed and waits for attempt 3: it is still attempt 2, which retried attempt 1.
    expect(previousOf(['fail', 'fail'])).toMatchObject({
      state: 'RETRY_WAIT',
      attribution: { attempt: 2, previousAttempt: { attempt: 1, message: 'boom 1' } },
    });
    expect(previousOf(['fail', 'fail', 'ok'])).toMatchObject({
      state: 'SUCCEEDED',
      attribution: { attempt: 3, retries: 2, previousAttempt: { attempt: 2, message: 'boom 2' } },
    });
  });

  it('fails for good on a non-retryable error and skips everything downstream, edge by edge', () => {
    const s = foldEvents(emptyState(), scenario({ 'raw.orders': ['fatal'] }));
    expect(task(s, 'r1', 'raw.orders').state).toBe('FAILED');
    expect(task(s, 'r1', 'analytics.orders').state).toBe('SKIPPED');
    expect(task(s, 'r1', 'analytics.report').state).toBe('SKIPPED');
    expect(s.dep_satisfaction.get(keyOf('r1', 'raw.orders', 'analytics.orders'))).toMatchObject({
      resolution: 'FAILED',
      satisfied: false,
    });
    expect(
      (s.dep_satisfaction.get(keyOf('r1', 'analytics.orders', 'analytics.report')) as EdgeRow).resolution,
    ).toBe('SKIPPED');
    expect(run(s, 'r1')).toMatchObject({
      state: 'FAILED',
      tasksFailed: 1,
      tasksSkipped: 2,
      tasksCompleted: 3,
    });
  });

  it('dedupes a repeated idempotency key for 30 days of event time after the event that recorded it', () => {
    const f = eventFactory();
    const trigger = (runId: string) =>
      f.event(
        { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: ['raw.orders'] },
        { idempotencyKey: 'trigger-once' },
      );
    const first = trigger('r1');
    f.advance(30 * 86_400_000 - 1);
    const withinWindow = trigger('r2');
    f.advance(1);
    const afterWindow = trigger('r3');
    // Whether a repeat folds depends on the events alone, so batching cannot change it.
    for (const state of [
      foldEvents(emptyState(), [first, withinWindow, afterWindow]),
      foldEvents(foldEvents(foldEvents(emptyState(), [first]), [withinWindow]), [afterWindow]),
    ]) {
      expect([...state.runs.keys()].sort()).toEqual(['r1', 'r3']);
      expect(state.idempotency_keys.get('trigger-once')).toMatchObject({ eventId: afterWindow.eventId });
    }
  });

  it('rejects a stale attempt without burning its idempotency key', () => {
    const f = eventFactory();
    const base = foldEvents(emptyState(), scenario({ 'raw.orders': ['fail', 'ok'] }).slice(0, 6));
    expect(task(base, 'r1', 'raw.orders')).toMatchObject({ state: 'DISPATCHED', attempt: 2 });
    f.advance(60_000);
    // Attempt 3 was never dispatched: a worker claiming it is stale (or lost), and must not burn the key
    // that the real attempt 3 will need.
    const stale = f.event({
      type: 'task_finished',
      runId: 'r1',
      taskKey: 'raw.orders',
      attempt: 3,
      attemptId: 'att_bogus',
      workerId: 'w',
      outcome: 'succeeded',
    });
    const after = foldEvents(base, [stale]);
    expect(task(after, 'r1', 'raw.orders').state).toBe('DISPATCHED');
    expect(after.idempotency_keys.has(stale.idempotencyKey)).toBe(false);
  });

  it('cancels what has not started and completes the run as CANCELLED', () => {
    const f = eventFactory('t', 'w', Date.parse('2026-11-23T11:00:00Z'));
    const s = foldEvents(emptyState(), [
      ...scenario({}),
      f.event({ type: 'run_cancel_requested', runId: 'r1', requestedBy: 'ops' }),
    ]);
    expect(run(s, 'r1')).toMatchObject({ state: 'CANCELLED', cancelRequested: true, tasksCancelled: 3 });
  });

  it('folds batched dispatch intents and acknowledgements as it folds them one by one', () => {
    const fanOut: TaskDef[] = Array.from({ length: 5 }, (_, i) => ({ key: `t${i}`, dependsOn: [] }));
    const requests = fanOut.map((def) => dispatchRequest('r1', def.key, 1));
    const acks: EventData[] = requests.map((r) => ({
      type: 'dispatch_enqueued',
      dispatchId: (r as { dispatchId: string }).dispatchId,
      cloudTaskId: `ct-${(r as { taskKey: string }).taskKey}`,
    }));
    const fold = (intents: EventData[], acknowledgements: EventData[]) => {
      const f = eventFactory();
      const trigger: EventData = {
        type: 'run_triggered',
        runId: 'r1',
        planId: 'p1',
        trigger: {},
        rootAssets: [],
      };
      const planned: EventData = { type: 'plan_created', runId: 'r1', planId: 'p1', tasks: fanOut };
      const events = [trigger, planned].map((data) => f.event(data));
      // The singles share their batch's time, so that rows stamped with the event time compare equal.
      f.advance(1000);
      events.push(...intents.map((data) => f.event(data)));
      f.advance(1000);
      events.push(...acknowledgements.map((data) => f.event(data)));
      const state = foldEvents(emptyState(), events);
      // Rows also record the id of the event that wrote them: compare without it.
      return {
        tasks: [...state.tasks.values()].map(({ rowVersion: _, ...row }) => row),
        outbox: [...state.dispatch_outbox.values()].map(({ rowVersion: _, ...row }) => row),
      };
    };
    const batchedIntents = batchedDispatchEvents(requests);
    const batchedAcks = batchedDispatchEvents(acks);
    expect(batchedIntents.map((e) => e.type)).toEqual(['dispatches_requested']);
    expect(batchedAcks.map((e) => e.type)).toEqual(['dispatches_enqueued']);
    const batched = fold(batchedIntents, batchedAcks);
    expect(batched.outbox.map((row) => row.status)).toEqual(Array(5).fill('CREATED'));
    expect(batched.tasks.map((row) => row.state)).toEqual(Array(5).fill('DISPATCHED'));
    expect(batched).toEqual(fold(requests, acks));
  });

  it("counts a dispatch's repairs, and never names its original Cloud Task again over a repair's", () => {
    const f = eventFactory();
    const at = (data: EventData, idempotencyKey?: string) => {
      f.advance(1000);
      return f.event(data, idempotencyKey ? { idempotencyKey } : {});
    };
    const dispatchId = 'dispatch:r1:t0:1';
    const ack = (cloudTaskId: string): EventData => ({ type: 'dispatch_enqueued', dispatchId, cloudTaskId });
    // As the sweeper keys a repair's acknowledgement: the first one's key would dedupe it.
    const repairAck = (cloudTaskId: string) => at(ack(cloudTaskId), `dispatch_repair_ack:${cloudTaskId}`);
    const original = cloudTaskName('d', dispatchId);
    const events = [
      at({ type: 'run_triggered', runId: 'r1', planId: 'p1', trigger: {}, rootAssets: [] }),
      at({ type: 'plan_created', runId: 'r1', planId: 'p1', tasks: [{ key: 't0', dependsOn: [] }] }),
      at(dispatchRequest('r1', 't0', 1)),
      at(ack(original)),
    ];
    const row = (extra: OrchestrationEvent[]) =>
      foldEvents(emptyState(), [...events, ...extra]).dispatch_outbox.get(dispatchId)!;
    expect(row([])).toMatchObject({ status: 'CREATED', cloudTaskId: original });
    expect(row([]).repairs).toBeUndefined();
    const repaired = [repairAck('d_repair1')];
    expect(row(repaired)).toMatchObject({ cloudTaskId: 'd_repair1', repairs: 1 });
    // The original's acknowledgement again, batched with another task's (its key is not the single one's).
    const late = at({
      type: 'dispatches_enqueued',
      dispatches: [
        { dispatchId, cloudTaskId: original },
        { dispatchId: 'dispatch:r1:other:1', cloudTaskId: 'd_other' },
      ],
    });
    expect(row([...repaired, late])).toMatchObject({ cloudTaskId: 'd_repair1', repairs: 1 });
    expect(row([...repaired, late, repairAck('d_repair2')])).toMatchObject({
      cloudTaskId: 'd_repair2',
      repairs: 2,
    });
  });

  it('writes only the acknowledgements that would still change something: not those of tasks that started since', () => {
    const f = eventFactory();
    const tasks: TaskDef[] = ['a', 'b', 'c'].map((key) => ({ key, dependsOn: [] }));
    const requests = tasks.map(
      (def) => dispatchRequest('r1', def.key, 1) as Extract<EventData, { type: 'dispatch_requested' }>,
    );
    const state = foldEvents(
      emptyState(),
      [
        { type: 'run_triggered', runId: 'r1', planId: 'p1', trigger: {}, rootAssets: [] },
        { type: 'plan_created', runId: 'r1', planId: 'p1', tasks },
        ...requests,
        // a started and c finished before the publish that writes the deferred acknowledgements.
        ...['a', 'c'].map((key, i) => ({
          type: 'task_started' as const,
          runId: 'r1',
          taskKey: key,
          attempt: 1,
          attemptId: requests[i * 2]!.attemptId,
          workerId: 'w',
        })),
        {
          type: 'task_completion_recorded',
          runId: 'r1',
          taskKey: 'c',
          attempt: 1,
          attemptId: requests[2]!.attemptId,
          outcome: 'SUCCEEDED',
        },
      ].map((data) => f.event(data as EventData)),
    );
    const acks: EventData[] = requests.map((r) => ({
      type: 'dispatch_enqueued',
      dispatchId: r.dispatchId,
      runId: 'r1',
      taskKey: r.taskKey,
      attempt: 1,
      cloudTaskId: `ct-${r.taskKey}`,
    }));
    const deps = { clock: { now: () => new Date(f.at() + 1000) }, ids: { next: () => ulid(f.at() + 1000) } };
    const scope = { tenant: 't', workspace: 'w' };
    expect(acknowledgementsStillNeeded(deps, scope, state, acks)).toEqual([acks[1]]);
    expect(acknowledgementsStillNeeded(deps, scope, state, [acks[0]!, acks[2]!])).toEqual([]);
    // Once b's acknowledgement is folded, a repeat of it changes nothing either.
    const acknowledged = foldEvents(state, [f.event(acks[1]!)]);
    expect(state.dispatch_outbox.get(requests[1]!.dispatchId)?.status).toBe('PENDING');
    expect(acknowledged.dispatch_outbox.get(requests[1]!.dispatchId)?.status).toBe('CREATED');
    expect(acknowledgementsStillNeeded(deps, scope, acknowledged, acks)).toEqual([]);
  });

  it('ignores unknown event types and leaves the input state untouched (pure)', () => {
    const base = foldEvents(emptyState(), scenario({}));
    const snapshot = JSON.stringify(TABLES.map((t) => [...base[t].entries()]));
    const f = eventFactory();
    const unknown = {
      ...f.event({ type: 'plan_created', runId: 'x', planId: 'x', tasks: [] }),
      data: { type: 'from_the_future' },
    } as unknown as OrchestrationEvent;
    foldEvents(base, [unknown, ...scenario({ 'raw.orders': ['ok'] })]);
    expect(JSON.stringify(TABLES.map((t) => [...base[t].entries()]))).toBe(snapshot);
    expect(foldEvents(base, [unknown])).toEqual(base);
  });
});

describe('retry backoff', () => {
  it('doubles from the initial delay up to the cap, spread by at most ±10 % per retry identity', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n) / 1000)).toEqual([
      30, 60, 120, 240, 480, 900, 900, 900,
    ]);
    const spread = Array.from({ length: 200 }, (_, i) => retryDelayMs(1, 30, 900, `run${i}|t|1`));
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(27_000);
    expect(Math.max(...spread)).toBeLessThanOrEqual(33_000);
    expect(new Set(spread).size).toBeGreaterThan(100);
    expect(retryDelayMs(3, 1, 5, 'x')).toBe(retryDelayMs(3, 1, 5, 'x'));
  });
});

describe('evolve: properties', () => {
  const asTables = (s: FoldState) =>
    Object.fromEntries(TABLES.map((t) => [t, [...s[t].entries()].sort(([a], [b]) => (a < b ? -1 : 1))]));
  const outcome = fc.constantFrom<'ok' | 'fail' | 'fatal'>('ok', 'fail', 'fatal');
  const scripts = fc.record({
    'raw.orders': fc.array(outcome, { maxLength: 2 }),
    'analytics.orders': fc.array(outcome, { maxLength: 2 }),
    'analytics.report': fc.array(outcome, { maxLength: 1 }),
  });

  it('folds any delivery order, with duplicates, to the same state once sorted by id', () => {
    fc.assert(
      fc.property(
        scripts,
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 6 }),
        (script, randoms, dupes) => {
          const events = scenario(script);
          const shuffled = [...events].sort(() => (randoms.next().value % 3) - 1);
          const duplicated = [...shuffled, ...dupes.map((i) => events[i % events.length]!)];
          expect(asTables(foldEvents(emptyState(), duplicated))).toEqual(
            asTables(foldEvents(emptyState(), events)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('folding in two batches equals folding in one, and re-folding changes nothing', () => {
    fc.assert(
      fc.property(scripts, fc.nat(), (script, cut) => {
        const events = scenario(script);
        const at = cut % (events.length + 1);
        const once = foldEvents(emptyState(), events);
        const twice = foldEvents(foldEvents(emptyState(), events.slice(0, at)), events.slice(at));
        expect(asTables(twice)).toEqual(asTables(once));
        expect(asTables(foldEvents(once, events))).toEqual(asTables(once));
      }),
      { numRuns: 150 },
    );
  });
});

describe('automation folds', () => {
  it('advances a poll sensor’s cursor only from the state version its evaluation read (compare-and-swap)', () => {
    const f = eventFactory();
    const poll = (pollEpoch: number, cursorAfter: string, expectedStateVersion: number): EventData => ({
      type: 'sensor_evaluated',
      sensorId: 'files',
      evalId: `files:poll:${pollEpoch}`,
      cursorAfter,
      expectedStateVersion,
      triggerSource: { poll: { pollEpoch }, pollEpoch },
      runRequests: [],
      status: 'NO_NEW_DATA',
    });
    const events = [poll(1, 'c1', 0), poll(2, 'c2', 1), poll(3, 'lost-race', 1), poll(2, 'c2', 1)].map(
      (d) => {
        f.advance(1000);
        return f.event(d);
      },
    );
    const state = foldEvents(emptyState(), events);
    expect(state.sensor_state.get('files')).toMatchObject({
      cursor: 'c2',
      stateVersion: 2,
      status: 'ACTIVE',
    });
    expect(state.sensor_evals.get('files:poll:3')).toMatchObject({ status: 'skipped_stale_cursor' });
    expect([...state.sensor_evals.keys()].sort()).toEqual(['files:poll:1', 'files:poll:2', 'files:poll:3']);
  });

  it('applies backfill transitions only from the state and version they name', () => {
    const f = eventFactory();
    const at = (d: EventData) => {
      f.advance(1000);
      return f.event(d);
    };
    const created: EventData = {
      type: 'backfill_created',
      backfillId: 'b1',
      clientRequestId: 'k',
      assetSelection: ['a'],
      partitionSelector: { type: 'explicit', partitions: ['p'] },
      totalPartitions: 1,
      chunkSize: 1,
      maxConcurrentRuns: 1,
    };
    const change = (fromState: string, toState: string, stateVersion: number): EventData => ({
      type: 'backfill_state_changed',
      backfillId: 'b1',
      fromState,
      toState,
      stateVersion,
    });
    const state = foldEvents(emptyState(), [
      at(created),
      at(change('RUNNING', 'PAUSED', 2)),
      at(change('RUNNING', 'CANCELLED', 3)),
      at(change('PAUSED', 'RUNNING', 4)),
      at(change('PAUSED', 'RUNNING', 3)),
    ]);
    expect(state.backfills.get('b1')).toMatchObject({ state: 'RUNNING', stateVersion: 3 });
  });

  it('cancels a backfill through CANCELING, counts a chunk planned concurrently, then CANCELED for good', () => {
    const f = eventFactory();
    const at = (d: EventData) => {
      f.advance(1000);
      return f.event(d);
    };
    const change = (fromState: string, toState: string, stateVersion: number): EventData => ({
      type: 'backfill_state_changed',
      backfillId: 'b1',
      fromState,
      toState,
      stateVersion,
    });
    const chunk = (index: number): EventData => ({
      type: 'backfill_chunk_planned',
      backfillId: 'b1',
      chunkId: `b1:${index}`,
      chunkIndex: index,
      partitionKeys: [`date=d:2026-11-0${index + 1}`],
      runKey: `backfill:b1:chunk:${index}`,
      requestFingerprint: 'f',
      runId: `r${index}`,
    });
    const created: EventData = {
      type: 'backfill_created',
      backfillId: 'b1',
      clientRequestId: 'k',
      assetSelection: ['a.b'],
      partitionSelector: { type: 'explicit', partitions: ['2026-11-01', '2026-11-02', '2026-11-03'] },
      totalPartitions: 3,
      chunkSize: 1,
      maxConcurrentRuns: 2,
    };
    const canceling = foldEvents(emptyState(), [
      at(created),
      at(chunk(0)),
      at(change('RUNNING', 'CANCELING', 2)),
      // The planner started chunk 1 before it saw the cancel; its record lands after the cancel.
      at(chunk(1)),
    ]);
    expect(canceling.backfills.get('b1')).toMatchObject({
      state: 'CANCELING',
      stateVersion: 2,
      plannedChunks: 2,
    });
    expect(canceling.backfill_chunks.get('b1:1')).toMatchObject({ runId: 'r1', state: 'PLANNED' });

    const canceled = foldEvents(canceling, [
      at(change('CANCELING', 'CANCELED', 3)),
      at(change('CANCELED', 'RUNNING', 4)),
      at(change('CANCELING', 'RUNNING', 4)),
    ]);
    expect(canceled.backfills.get('b1')).toMatchObject({ state: 'CANCELED', stateVersion: 3 });

    // A ledger from before CANCELING cancelled straight to CANCELLED: it folds to CANCELED.
    const legacy = foldEvents(emptyState(), [at(created), at(change('RUNNING', 'CANCELLED', 2))]);
    expect(legacy.backfills.get('b1')).toMatchObject({ state: 'CANCELED', stateVersion: 2 });
  });
});
