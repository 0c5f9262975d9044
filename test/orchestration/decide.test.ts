import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideBackfillStateChange, decideRetryFailed } from '../../shared/orchestration/backfill/decide.ts';
import { decidePartition, resolveDay } from '../../shared/orchestration/pipeline/decide.ts';
import { canTransition } from '../../shared/orchestration/backfill/backfillPlan.ts';
import { decideCancel, decideRetry } from '../../shared/orchestration/run/decide.ts';
import type { RunRow, TaskRow } from '../../shared/orchestration/run/evolve.ts';
import { decideScheduleUpsert, type ScheduleInput } from '../../shared/orchestration/schedule/decide.ts';
import { decideSensorEvaluation } from '../../shared/orchestration/sensor/decide.ts';
import type { EventData } from '../../shared/orchestration/state/events.ts';
import { foldEvents } from '../../shared/orchestration/state/evolve.ts';
import { emptyState, type FoldState } from '../../shared/orchestration/state/projectionTables.ts';
import { eventFactory } from '../support/eventFactory.ts';

/** Folds decided events as the compactor would: what a decision appends is what the state becomes. */
const fold = (state: FoldState, decided: Array<{ data: EventData; idempotencyKey?: string }>) => {
  const events = eventFactory();
  return foldEvents(
    state,
    decided.map((d) => events.event(d.data, d.idempotencyKey ? { idempotencyKey: d.idempotencyKey } : {})),
  );
};

const run = (fields: Partial<RunRow>) => ({ runId: 'r1', state: 'RUNNING', ...fields }) as RunRow;
const failedTask = (taskKey: string, retryCategory: string, attempt = 1) =>
  ({ runId: 'r1', taskKey, state: 'FAILED', attempt, lastFailure: { retryCategory } }) as unknown as TaskRow;

describe('run decisions', () => {
  it('cancels a live run once, refuses an absent or ended one', () => {
    const command = { runId: 'r1', requestedBy: 'ops', reason: 'wrong input' };
    expect(() => decideCancel(command, undefined)).toThrow(expect.objectContaining({ code: 'not_found' }));
    for (const state of ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const)
      expect(() => decideCancel(command, run({ state }))).toThrow(
        expect.objectContaining({ code: 'conflict' }),
      );
    expect(decideCancel(command, run({ cancelRequested: true }))).toEqual([]);
    expect(decideCancel(command, run({}))).toEqual([
      { data: { type: 'run_cancel_requested', runId: 'r1', requestedBy: 'ops', reason: 'wrong input' } },
    ]);
  });

  it('retries category A at once, C only with an acknowledged cause, B never', () => {
    const failed = run({ state: 'FAILED' });
    const retry = (tasks: TaskRow[], extra = {}) =>
      decideRetry({ runId: 'r1', requestedBy: 'ops', ...extra }, { run: failed, tasks });
    expect(retry([failedTask('a', 'A', 2)]).events[0]!.data).toMatchObject({
      type: 'run_retry_requested',
      taskKeys: ['a'],
      attempts: [2],
      causeFixed: false,
    });
    expect(() => retry([failedTask('b', 'B')])).toThrow(
      expect.objectContaining({
        code: 'conflict',
        details: expect.objectContaining({ reason: 'retry_requires_new_run' }),
      }),
    );
    expect(() => retry([failedTask('c', 'C')])).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ reason: 'cause_not_acknowledged' }) }),
    );
    expect(() => retry([failedTask('c', 'C')], { causeFixed: true })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(retry([failedTask('c', 'C')], { causeFixed: true, reason: 'fixed the schema' }).taskKeys).toEqual([
      'c',
    ]);
    expect(() => retry([failedTask('a', 'A')], { taskKeys: ['a', 'zz'] })).toThrow(
      expect.objectContaining({ details: { reason: 'task_not_failed', taskKeys: ['zz'] } }),
    );
    expect(() =>
      decideRetry({ runId: 'r1', requestedBy: 'ops' }, { run: run({ state: 'SUCCEEDED' }), tasks: [] }),
    ).toThrow(expect.objectContaining({ details: { reason: 'run_not_failed' } }));
  });
});

describe('schedule decisions', () => {
  const daily: ScheduleInput = {
    cronExpression: '0 3 * * *',
    timezone: 'Europe/Paris',
    catchupWindowMinutes: 0,
    maxCatchupTicks: 1,
    assetSelection: ['raw.orders'],
    enabled: true,
  };

  it('refuses a cron or zone croner refuses and an empty selection, and writes nothing for no change', () => {
    expect(() => decideScheduleUpsert('s', { ...daily, cronExpression: 'every day' }, undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => decideScheduleUpsert('s', { ...daily, timezone: 'Mars/Olympus' }, undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => decideScheduleUpsert('s', { ...daily, assetSelection: [' '] }, undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(decideScheduleUpsert('s', daily, { ...daily, rowVersion: 'v1' })).toEqual([]);
  });

  it('keys each change by its settings and the version it replaces, so toggling back and forth is never deduplicated', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (toggles) => {
        let state = emptyState();
        let current: (ScheduleInput & { rowVersion?: string }) | undefined;
        for (const enabled of toggles) {
          const decided = decideScheduleUpsert('s', { ...daily, enabled }, current);
          state = fold(state, decided);
          const row = state.schedule_definitions.get('s');
          current = row as unknown as ScheduleInput & { rowVersion: string };
          expect(current?.enabled).toBe(enabled);
        }
      }),
    );
  });
});

describe('backfill decisions', () => {
  const STATES = ['PENDING', 'RUNNING', 'PAUSED', 'CANCELING', 'CANCELED', 'SUCCEEDED', 'FAILED'];

  it('moves a backfill exactly along the state machine, one state version at a time, as the fold applies it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...STATES),
        fc.constantFrom(...STATES),
        fc.nat(5),
        fc.option(fc.nat(5), { nil: undefined }),
        (from, to, version, expected) => {
          const row = { backfillId: 'b1', state: from, stateVersion: version, rowVersion: 'v0' };
          const command = { backfillId: 'b1', toState: to, changedBy: 'ops', expectedStateVersion: expected };
          const allowed = canTransition(from, to) && (expected === undefined || expected === version);
          if (!allowed) {
            expect(() => decideBackfillStateChange(command, row)).toThrow(
              expect.objectContaining({ code: 'conflict' }),
            );
            return;
          }
          const decided = decideBackfillStateChange(command, row);
          const state = emptyState() as { backfills: Map<string, unknown> } & FoldState;
          (state.backfills as Map<string, unknown>).set('b1', { tenantId: 't', workspaceId: 'w', ...row });
          expect(fold(state, decided).backfills.get('b1')).toMatchObject({
            state: to,
            stateVersion: version + 1,
          });
        },
      ),
    );
  });

  it('retries exactly the failed chunks of a FAILED backfill, under a key derived from the parent', () => {
    const parent = {
      state: 'FAILED',
      assetSelection: ['a'],
      chunkSize: 2,
      maxConcurrentRuns: 1,
      rowVersion: 'v0',
    };
    const chunks = [
      { state: 'FAILED', partitionKeys: ['2026-11-02', '2026-11-01'] },
      { state: 'SUCCEEDED', partitionKeys: ['2026-11-03'] },
      { state: 'FAILED', partitionKeys: ['2026-11-01'] },
    ];
    expect(decideRetryFailed('b1', 'try-2', parent, chunks)).toEqual({
      assetSelection: ['a'],
      partitionSelector: { type: 'explicit', partitions: ['2026-11-01', '2026-11-02'] },
      clientRequestId: 'backfill_retry:b1:try-2',
      chunkSize: 2,
      maxConcurrentRuns: 1,
    });
    expect(() => decideRetryFailed('b1', 'x', { ...parent, state: 'RUNNING' }, chunks)).toThrow(
      expect.objectContaining({ code: 'conflict' }),
    );
  });
});

describe('sensor decisions', () => {
  const pollAt = new Date('2026-11-30T12:00:00Z');

  it('records what an evaluation found: triggered, no new data, or an error when every run it asked for was refused', () => {
    const asked = { runKey: 'k1', assetSelection: ['raw.orders'] };
    expect(decideSensorEvaluation('s', { pollAt }, undefined, {}, []).status).toBe('NO_NEW_DATA');
    expect(decideSensorEvaluation('s', { pollAt }, undefined, {}, [{ ...asked, runId: 'r1' }]).status).toBe(
      'TRIGGERED',
    );
    expect(
      decideSensorEvaluation('s', { pollAt }, undefined, {}, [{ ...asked, error: 'refused' }]),
    ).toMatchObject({
      status: 'ERROR',
      errorMessage: 'refused',
    });
    expect(decideSensorEvaluation('s', { pollAt }, undefined, { error: 'evaluator down' }, [])).toMatchObject(
      {
        status: 'ERROR',
        errorMessage: 'evaluator down',
      },
    );
  });

  it("moves a poll sensor's cursor from the state it read, and never from a state that moved meanwhile", () => {
    fc.assert(
      fc.property(fc.nat(6), fc.string(), fc.boolean(), (version, cursorAfter, raced) => {
        const published = {
          sensorId: 's',
          cursor: 'c0',
          stateVersion: version,
          status: 'ACTIVE',
          rowVersion: 'v',
        };
        const { events } = decideSensorEvaluation('s', { pollAt }, published, { cursorAfter }, []);
        const state = emptyState();
        // A race: another evaluation moved the state after this one read it.
        const current = raced ? { ...published, cursor: 'c-other', stateVersion: version + 1 } : published;
        (state.sensor_state as Map<string, unknown>).set('s', {
          tenantId: 't',
          workspaceId: 'w',
          ...current,
        });
        const after = fold(state, events);
        expect(after.sensor_state.get('s')).toMatchObject(
          raced
            ? { cursor: 'c-other', stateVersion: version + 1 }
            : { cursor: cursorAfter, stateVersion: version + 1 },
        );
        expect([...after.sensor_evals.values()][0]).toMatchObject({
          status: raced ? 'skipped_stale_cursor' : 'NO_NEW_DATA',
        });
      }),
    );
  });
});

describe('pipeline decisions', () => {
  const asOf = { ts: '2026-11-29T06:00:00.000Z', clamped: false };
  const input = (request = {}) => ({
    day: '2026-11-29',
    partitionKey: 'date=d:2026-11-29',
    steps: ['raw', 'gold'],
    mode: 'now' as const,
    asOf,
    request: { resume: true, ...request },
  });
  const pastRun = (state: string) =>
    ({ runId: `r-${state}`, state, labels: {}, triggeredAt: '2026-11-29T07:00:00Z' }) as unknown as RunRow;

  it('decides each partition: new run, wait, skip, hold, rerun what is missing', () => {
    expect(decidePartition(input(), {}).action).toBe('new_run');
    expect(decidePartition(input(), { past: [pastRun('RUNNING')] })).toMatchObject({
      action: 'wait',
      runId: 'r-RUNNING',
    });
    const satisfied = new Map([
      ['raw', 'r-SUCCEEDED'],
      ['gold', 'r-SUCCEEDED'],
    ]);
    expect(decidePartition(input(), { past: [pastRun('SUCCEEDED')], satisfied })).toMatchObject({
      action: 'skip_succeeded',
      status: 'skipped_succeeded',
    });
    expect(decidePartition(input({ force: true }), { past: [pastRun('SUCCEEDED')], satisfied }).action).toBe(
      'new_run',
    );
    const failedC = {
      past: [pastRun('FAILED')],
      satisfied: new Map(),
      latestRootFailure: { retryCategory: 'C', message: 'drift' },
    };
    expect(decidePartition(input(), failedC)).toMatchObject({
      action: 'held',
      status: 'held',
      message: 'drift',
    });
    expect(decidePartition(input({ retryHeld: true }), failedC).action).toBe('new_run');
    expect(
      decidePartition(input(), { past: [pastRun('FAILED')], satisfied: new Map([['raw', 'r-FAILED']]) }),
    ).toMatchObject({ action: 'rerun_missing', steps: ['gold'], parentRunId: 'r-FAILED' });
    expect(decidePartition({ ...input(), asOf: { missing: 'skip' } }, {}).action).toBe('skipped_no_event');
    expect(decidePartition({ ...input(), asOf: { missing: 'error' } }, {})).toMatchObject({
      action: 'held',
      retryCategory: 'C',
      failureCode: 'as_of_unresolvable',
    });
  });
});

describe('resolveDay (the day of `pipeline run`, the checklist and `arco status --date`)', () => {
  const now = new Date('2026-12-01T03:00:00Z');
  it('resolves today and yesterday in the pipeline’s zone and keeps calendar days', () => {
    expect(resolveDay('today', 'UTC', now)).toBe('2026-12-01');
    expect(resolveDay('yesterday', 'UTC', now)).toBe('2026-11-30');
    expect(resolveDay('today', 'America/New_York', now)).toBe('2026-11-30');
    expect(resolveDay('2024-02-29', 'UTC', now)).toBe('2024-02-29');
    // 00:30 in New York the day after the 23-hour day of 2026-03-08: 24 h earlier is 2026-03-07.
    expect(resolveDay('yesterday', 'America/New_York', new Date('2026-03-09T04:30:00Z'))).toBe('2026-03-08');
    expect(resolveDay('yesterday', 'UTC', new Date('2026-03-01T00:00:00Z'))).toBe('2026-02-28');
  });
  it('refuses what is not a calendar day, including what Date.parse would roll over', () => {
    for (const bad of ['2026-13-45', '2026-02-30', '2025-02-29', 'banana', 'd:2026-12-01', '2026-1-01'])
      expect(() => resolveDay(bad, 'UTC', now), bad).toThrowError(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
  });
});
