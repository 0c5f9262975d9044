import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancelCompletion,
  canTransition,
  type ChunkState,
  chunksToFence,
  chunksToPlan,
  completionOf,
  normaliseSelector,
  publicBackfillState,
  totalChunks,
} from '../../shared/orchestration/backfill/backfillPlan.ts';

describe('backfill planning (spec §16)', () => {
  it('validates selectors with the spec messages and lists their partitions', () => {
    expect(normaliseSelector({ type: 'range', start: '2026-02-27', end: '2026-03-02' }).partitions).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(
      normaliseSelector({ type: 'filter', filters: { partition_start: '2026-01-01', end: '2026-01-02' } }),
    ).toEqual({
      selector: { type: 'filter', filters: { start: '2026-01-01', end: '2026-01-02' } },
      partitions: ['2026-01-01', '2026-01-02'],
    });
    const refused = (input: Record<string, unknown>) => () => normaliseSelector(input);
    expect(refused({ type: 'explicit', partitions: [] })).toThrow('partition selector cannot be empty');
    expect(refused({ type: 'range', start: '2026-1-1', end: '2026-01-02' })).toThrow(
      'partition selector bounds must use YYYY-MM-DD',
    );
    expect(refused({ type: 'range', start: '2026-01-03', end: '2026-01-02' })).toThrow(
      'partition selector start must be less than or equal to end',
    );
    expect(refused({ type: 'filter', filters: { region: 'eu' } })).toThrow(
      'filter selector supports only start/end bounds',
    );
    expect(
      refused({
        type: 'filter',
        filters: { start: '2026-01-01', partition_start: '2026-01-02', end: '2026-01-03' },
      }),
    ).toThrow('filter selector start bounds are conflicting');
    expect(refused({ type: 'filter', filters: { start: '2026-01-01' } })).toThrow(
      'filter selector requires start/end bounds',
    );
  });

  const STATES: ChunkState[] = ['PLANNED', 'RUNNING', 'SUCCEEDED', 'FAILED'];
  const progress = fc
    .record({
      total: fc.integer({ min: 1, max: 60 }),
      chunkSize: fc.integer({ min: 1, max: 7 }),
      maxConcurrentRuns: fc.integer({ min: 1, max: 5 }),
    })
    .chain((p) =>
      fc
        .array(fc.constantFrom(...STATES), { maxLength: totalChunks(p.total, p.chunkSize) })
        .map((states) => ({ ...p, state: 'RUNNING', chunks: new Map(states.map((s, i) => [i, s])) })),
    );

  it('never plans beyond maxConcurrentRuns, and plans the lowest unplanned chunks', () => {
    fc.assert(
      fc.property(progress, (p) => {
        const active = [...p.chunks.values()].filter((s) => s === 'PLANNED' || s === 'RUNNING').length;
        const plan = chunksToPlan(p);
        expect(active + plan.length).toBeLessThanOrEqual(Math.max(active, p.maxConcurrentRuns));
        const unplanned = Array.from({ length: totalChunks(p.total, p.chunkSize) }, (_, i) => i).filter(
          (i) => !p.chunks.has(i),
        );
        expect(plan).toEqual(unplanned.slice(0, Math.max(0, p.maxConcurrentRuns - active)));
      }),
    );
  });

  it('completes only when every chunk is terminal: SUCCEEDED if all succeeded, else FAILED', () => {
    fc.assert(
      fc.property(progress, (p) => {
        const done = completionOf(p);
        const states = [...p.chunks.values()];
        const allTerminal =
          p.chunks.size === totalChunks(p.total, p.chunkSize) &&
          states.every((s) => s === 'SUCCEEDED' || s === 'FAILED');
        expect(done).toBe(
          allTerminal ? (states.every((s) => s === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED') : null,
        );
        expect(chunksToPlan({ ...p, state: 'PAUSED' })).toEqual([]);
      }),
    );
  });

  it('fences every chunk a planner deciding on an older state could start concurrently with a cancel', () => {
    // `older` is what a planner read before the cancel: a subset of the chunks recorded now.
    const views = progress.chain((now) =>
      fc.subarray([...now.chunks.keys()]).chain((kept) =>
        fc
          .array(fc.constantFrom<ChunkState>('PLANNED', 'RUNNING', 'SUCCEEDED', 'FAILED'), {
            minLength: kept.length,
            maxLength: kept.length,
          })
          .map((states) => ({
            now: { ...now, state: 'CANCELING' },
            older: { ...now, state: 'RUNNING', chunks: new Map(kept.map((i, n) => [i, states[n]!])) },
          })),
      ),
    );
    fc.assert(
      fc.property(views, ({ now, older }) => {
        const fenced = new Set(chunksToFence(now));
        for (const index of chunksToPlan(older))
          expect(now.chunks.has(index) || fenced.has(index)).toBe(true);
        expect(fenced.size).toBeLessThanOrEqual(Math.max(now.maxConcurrentRuns, 1));
      }),
    );
  });

  it('is CANCELED only once every recorded chunk is terminal and every concurrent start is fenced', () => {
    fc.assert(
      fc.property(progress, fc.array(fc.nat(50), { maxLength: 2 }), (p, unfenced) => {
        const canceling = { ...p, state: 'CANCELING' };
        const active = [...p.chunks.values()].some((s) => s === 'PLANNED' || s === 'RUNNING');
        expect(cancelCompletion(canceling, unfenced)).toBe(!active && !unfenced.length ? 'CANCELED' : null);
        expect(cancelCompletion({ ...p, state: 'RUNNING' }, [])).toBeNull();
        expect(chunksToPlan(canceling)).toEqual([]);
        expect(completionOf(canceling)).toBeNull();
      }),
    );
  });

  it('cancels through CANCELING to CANCELED, and reads the old CANCELLED as CANCELED', () => {
    for (const from of ['PENDING', 'RUNNING', 'PAUSED']) {
      expect(canTransition(from, 'CANCELING')).toBe(true);
      expect(canTransition(from, 'CANCELED')).toBe(false);
    }
    expect(canTransition('CANCELING', 'CANCELED')).toBe(true);
    for (const to of ['RUNNING', 'PAUSED', 'CANCELING', 'SUCCEEDED', 'FAILED'])
      expect(canTransition('CANCELING', to)).toBe(false);
    for (const to of ['RUNNING', 'PAUSED', 'CANCELING']) expect(canTransition('CANCELED', to)).toBe(false);
    expect(publicBackfillState('CANCELLED')).toBe('CANCELED');
    expect(publicBackfillState('CANCELING')).toBe('CANCELING');
  });
});
