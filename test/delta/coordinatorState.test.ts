import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommitRequest,
  type CoordinatorState,
  clearRecovered,
  decideReservation,
  EMPTY_COORDINATOR,
  finalizeCommit,
  finalizeReplayed,
  type Inflight,
} from '../../shared/delta/coordinatorState.ts';

const TTL = 300_000;
const request = (key: string, readVersion: number): CommitRequest => ({
  key,
  read_version: readVersion,
  staged_path: `delta/staging/t/${key}.json`,
  staged_version: '1',
});
const inflight = (key: string, version: number, expiresAt: number): Inflight => ({
  commit_id: key,
  read_version: version - 1,
  version,
  staged_path: `delta/staging/t/${key}.json`,
  staged_version: '1',
  started_at_ms: expiresAt - TTL,
  expires_at_ms: expiresAt,
});

describe('coordinator decisions (pure)', () => {
  it('reserves latest+1 on an idle table and refuses a stale read_version', () => {
    const idle: CoordinatorState = { latest_version: 4, inflight: null };
    expect(decideReservation(idle, request('k', 4), 1000, TTL, false)).toMatchObject({
      kind: 'reserve',
      version: 5,
      state: { latest_version: 4, inflight: { commit_id: 'k', version: 5, expires_at_ms: 1000 + TTL } },
    });
    expect(decideReservation(idle, request('k', 3), 1000, TTL, false)).toMatchObject({
      kind: 'reject',
      reason: 'stale_read_version',
    });
    expect(decideReservation(EMPTY_COORDINATOR, request('k', -1), 0, TTL, false)).toMatchObject({
      kind: 'reserve',
      version: 0,
    });
  });

  it('resumes its own live reservation and refuses the same key with another body', () => {
    const state = { latest_version: 4, inflight: inflight('k', 5, 5000) };
    expect(decideReservation(state, request('k', 4), 1000, TTL, false)).toEqual({
      kind: 'resume',
      version: 5,
    });
    expect(
      decideReservation(state, { ...request('k', 4), staged_version: '2' }, 1000, TTL, false),
    ).toMatchObject({
      reason: 'idempotency_key_reused',
    });
    expect(decideReservation(state, request('k', 4), 6000, TTL, false)).toMatchObject({ kind: 'recover' });
  });

  it('makes other writers wait for a live reservation, unless its log is already written', () => {
    const state = { latest_version: 4, inflight: inflight('a', 5, 5000) };
    expect(decideReservation(state, request('b', 4), 1000, TTL, false)).toMatchObject({
      kind: 'reject',
      reason: 'commit_in_progress',
      retryAfterMs: 4000,
    });
    expect(decideReservation(state, request('b', 4), 1000, TTL, true)).toMatchObject({ kind: 'recover' });
    expect(decideReservation(state, request('b', 4), 5000, TTL, false)).toMatchObject({ kind: 'recover' });
  });

  it('finalizes only its own reservation, and replays clear only their own', () => {
    const mine = { latest_version: 4, inflight: inflight('k', 5, 5000) };
    expect(finalizeCommit(mine, 'k', 5)).toEqual({
      kind: 'write',
      state: { latest_version: 5, inflight: null },
    });
    expect(finalizeCommit(mine, 'x', 5)).toMatchObject({ kind: 'reject', reason: 'inflight_changed' });
    expect(finalizeCommit({ latest_version: 5, inflight: null }, 'k', 5)).toEqual({ kind: 'unchanged' });
    expect(finalizeReplayed(mine, 'x', 3)).toEqual({ kind: 'unchanged' });
    expect(finalizeReplayed({ latest_version: 4, inflight: null }, 'k', 5)).toEqual({
      kind: 'write',
      state: { latest_version: 5, inflight: null },
    });
    expect(clearRecovered(mine, inflight('k', 5, 5000), false)).toEqual({
      kind: 'write',
      state: { latest_version: 4, inflight: null },
    });
    expect(clearRecovered(mine, inflight('other', 5, 5000), true)).toEqual({ kind: 'unchanged' });
  });

  it('never lowers latest_version, moves it one version at a time, and reserves only latest+1', () => {
    type Step = { op: 'reserve' | 'finalize' | 'replay' | 'recover'; key: number; read: number; now: number };
    const step = fc.record({
      op: fc.constantFrom('reserve', 'finalize', 'replay', 'recover'),
      key: fc.integer({ min: 0, max: 2 }),
      read: fc.integer({ min: -1, max: 4 }),
      now: fc.integer({ min: 0, max: 2 * TTL }),
    }) as fc.Arbitrary<Step>;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let state: CoordinatorState = EMPTY_COORDINATOR;
        for (const s of steps) {
          const before = state;
          const key = `k${s.key}`;
          if (s.op === 'reserve') {
            const decision = decideReservation(state, request(key, s.read), s.now, TTL, false);
            if (decision.kind === 'reserve') {
              expect(decision.version).toBe(state.latest_version + 1);
              state = decision.state;
            }
          } else {
            const version = state.inflight?.version ?? state.latest_version;
            const change =
              s.op === 'finalize'
                ? finalizeCommit(state, key, version)
                : s.op === 'replay'
                  ? finalizeReplayed(state, key, version)
                  : state.inflight
                    ? clearRecovered(state, state.inflight, true)
                    : ({ kind: 'unchanged' } as const);
            if (change.kind === 'write') state = change.state;
          }
          expect(state.latest_version).toBeGreaterThanOrEqual(before.latest_version);
          expect(state.latest_version - before.latest_version).toBeLessThanOrEqual(1);
          if (state.inflight) expect(state.inflight.version).toBe(state.latest_version + 1);
        }
      }),
    );
  });

  it('keeps metadata_version at the newest version holding metaData, or drops it when unknown', () => {
    const reserve = (
      state: CoordinatorState,
      key: string,
      hasMetadata?: boolean,
      metadataVersion?: number,
    ) => {
      const decision = decideReservation(state, request(key, state.latest_version), 0, TTL, false, {
        hasMetadata,
        metadataVersion,
      });
      if (decision.kind !== 'reserve') throw new Error(decision.kind);
      return decision.state;
    };
    const write = (change: ReturnType<typeof finalizeCommit>) => {
      if (change.kind !== 'write') throw new Error(change.kind);
      return change.state;
    };
    let state = write(finalizeCommit(reserve(EMPTY_COORDINATOR, 'v0', true), 'v0', 0));
    expect(state).toEqual({ latest_version: 0, inflight: null, metadata_version: 0 });
    state = write(finalizeCommit(reserve(state, 'v1', false), 'v1', 1));
    expect(state).toEqual({ latest_version: 1, inflight: null, metadata_version: 0 });
    state = write(finalizeReplayed(reserve(state, 'v2', true), 'v2', 2));
    expect(state.metadata_version).toBe(2);
    const foreign = reserve(state, 'v3', false);
    state = write(clearRecovered(foreign, foreign.inflight!, true, true));
    expect(state).toEqual({ latest_version: 3, inflight: null });
    // A log search finds it again, and the reservation records what it found.
    expect(reserve(state, 'v4', false, 3).metadata_version).toBe(3);
    const legacy = reserve(state, 'v4');
    expect(legacy.inflight).not.toHaveProperty('has_metadata');
    expect(write(finalizeCommit(legacy, 'v4', 4))).not.toHaveProperty('metadata_version');
    const abandoned = reserve({ ...state, metadata_version: 2 }, 'v4', true);
    expect(write(clearRecovered(abandoned, abandoned.inflight!, false)).metadata_version).toBe(2);
  });

  it('never names a metadata_version that is not the newest metaData version it knows (model check)', () => {
    type Step = { op: 'reserve' | 'finalize' | 'replay' | 'own' | 'foreign' | 'abandon'; meta: boolean };
    const step = fc.record({
      op: fc.constantFrom('reserve', 'finalize', 'replay', 'own', 'foreign', 'abandon'),
      meta: fc.boolean(),
    }) as fc.Arbitrary<Step>;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let state: CoordinatorState = EMPTY_COORDINATOR;
        // What each written version holds: metaData, none, or unknown (a foreign log).
        const logs: Array<boolean | 'unknown'> = [];
        for (const s of steps) {
          const inflight = state.inflight;
          if (s.op === 'reserve') {
            const decision = decideReservation(state, request('k', state.latest_version), 0, TTL, false, {
              hasMetadata: state.latest_version < 0 ? true : s.meta,
            });
            if (decision.kind === 'reserve') state = decision.state;
            continue;
          }
          if (!inflight) continue;
          const change =
            s.op === 'finalize'
              ? finalizeCommit(state, inflight.commit_id, inflight.version)
              : s.op === 'replay'
                ? finalizeReplayed(state, inflight.commit_id, inflight.version)
                : clearRecovered(state, inflight, s.op !== 'abandon', s.op === 'foreign');
          if (change.kind !== 'write') continue;
          if (s.op !== 'abandon')
            logs[inflight.version] = s.op === 'foreign' ? 'unknown' : inflight.has_metadata!;
          state = change.state;
          const known = state.metadata_version;
          if (known === undefined) continue;
          expect(logs[known]).toBe(true);
          for (let v = known + 1; v <= state.latest_version; v += 1) expect(logs[v]).toBe(false);
        }
      }),
    );
  });
});
