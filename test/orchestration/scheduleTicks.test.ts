import { describe, expect, it } from 'vitest';
import { dueTicks, parseSchedule } from '../../shared/orchestration/schedule/scheduleTicks.ts';

const iso = (r: ReturnType<typeof dueTicks>) => ('ticks' in r ? r.ticks.map((t) => t.toISOString()) : r);
const daily = (cronExpression: string, timezone: string, extra = {}) => ({
  cronExpression,
  timezone,
  catchupWindowMinutes: 0,
  maxCatchupTicks: 10,
  ...extra,
});

describe('schedule tick evaluation (spec §14.2)', () => {
  it('evaluates the cron in its time zone across a spring-forward gap and a repeated autumn hour', () => {
    // Europe/Berlin skips 02:00–03:00 on 2026-03-29: the 02:30 job runs once that day, at 03:30 CEST.
    expect(
      iso(
        dueTicks(
          daily('30 2 * * *', 'Europe/Berlin', { catchupWindowMinutes: 5 * 1440 }),
          '2026-03-27T01:30:00.000Z',
          new Date('2026-03-30T12:00:00Z'),
        ),
      ),
    ).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    // America/New_York repeats 01:00–02:00 on 2026-11-01: an hourly job does not fire twice for 01:00.
    expect(
      iso(
        dueTicks(
          daily('0 * * * *', 'America/New_York'),
          '2026-11-01T04:00:00.000Z',
          new Date('2026-11-01T08:00:00Z'),
        ),
      ),
    ).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z']);
  });

  it('bounds catch-up by the window and by maxCatchupTicks, oldest missed ticks first', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    // Down for two days: only the last 24 h (default window) and at most 3 ticks.
    expect(
      iso(dueTicks(daily('0 * * * *', 'UTC', { maxCatchupTicks: 3 }), '2026-11-21T12:00:00.000Z', now)),
    ).toEqual(['2026-11-22T13:00:00.000Z', '2026-11-22T14:00:00.000Z', '2026-11-22T15:00:00.000Z']);
    expect(iso(dueTicks(daily('0 * * * *', 'UTC', { catchupWindowMinutes: 120 }), undefined, now))).toEqual([
      '2026-11-23T11:00:00.000Z',
      '2026-11-23T12:00:00.000Z',
    ]);
    // Nothing twice: the last scheduled tick is excluded.
    expect(iso(dueTicks(daily('0 * * * *', 'UTC'), '2026-11-23T12:00:00.000Z', now))).toEqual([]);
    // Six fields: seconds first.
    expect(
      iso(
        dueTicks(
          daily('*/20 * * * * *', 'UTC'),
          '2026-11-23T11:59:00.000Z',
          new Date('2026-11-23T11:59:45Z'),
        ),
      ),
    ).toEqual(['2026-11-23T11:59:20.000Z', '2026-11-23T11:59:40.000Z']);
  });

  it('names what is wrong with an invalid cron or time zone', () => {
    expect(parseSchedule('99 * * * *', 'UTC')).toEqual({
      error: expect.stringContaining('invalid cron expression'),
    });
    expect(parseSchedule('0 * * * *', 'Mars/Olympus')).toEqual({ error: 'unknown time zone Mars/Olympus' });
    expect(parseSchedule('0 * *', 'UTC')).toEqual({
      error: 'cron expression must have 5 or 6 fields, got 3',
    });
  });
});
