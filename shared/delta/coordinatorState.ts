/**
 * The per-table coordinator record and the pure decisions taken on it (state-and-delta spec A5–A6).
 * The I/O around them lives in deltaCommitCoordinator.ts; these functions only look at values.
 */
export interface Inflight {
  commit_id: string;
  read_version: number;
  version: number;
  staged_path: string;
  staged_version: string;
  started_at_ms: number;
  expires_at_ms: number;
  /** Whether the reserved payload holds a metaData action; absent in records written before it was kept. */
  has_metadata?: boolean;
}

export interface CoordinatorState {
  latest_version: number;
  inflight: Inflight | null;
  /**
   * The newest version ≤ latest_version whose log entry holds a metaData action, so a commit can be
   * checked against the table's metaData with one read. Absent when unknown (older records, or a
   * version written by a foreign log): readers then search the log backwards.
   */
  metadata_version?: number;
}

export const EMPTY_COORDINATOR: CoordinatorState = { latest_version: -1, inflight: null };

export interface CommitRequest {
  key: string;
  read_version: number;
  staged_path: string;
  staged_version: string;
}

export type CommitConflict =
  | 'idempotency_key_reused'
  | 'stale_read_version'
  | 'commit_in_progress'
  | 'log_version_taken'
  | 'coordinator_contention'
  | 'inflight_changed';

export type ReservationDecision =
  | { kind: 'reserve'; version: number; state: CoordinatorState }
  | { kind: 'resume'; version: number }
  | { kind: 'recover'; inflight: Inflight }
  | { kind: 'reject'; reason: CommitConflict; message: string; retryAfterMs?: number };

export const isLive = (inflight: Inflight, nowMs: number) => nowMs < inflight.expires_at_ms;

const stale = (state: CoordinatorState, request: CommitRequest): ReservationDecision => ({
  kind: 'reject',
  reason: 'stale_read_version',
  message: `read_version ${request.read_version} is stale: the table is at version ${state.latest_version}`,
});

/** What the coordinator learnt about a payload and its table before reserving (see decideReservation). */
export interface ReservationFacts {
  /** The payload holds a metaData action. */
  hasMetadata?: boolean;
  /** The version of the metaData the payload was checked against, when found by a log search. */
  metadataVersion?: number;
}

/** The state's metadata_version, or none: the field is omitted rather than stored as undefined. */
const withMetadataVersion = (state: CoordinatorState, version: number | undefined): CoordinatorState =>
  version === undefined ? state : { ...state, metadata_version: version };

/**
 * Where metadata_version stands once `inflight` is counted: its own version when it carried metaData,
 * unchanged when it did not, unknown when that is not known (an older record, or a foreign log).
 */
function metadataAfter(state: CoordinatorState, inflight: Inflight, ownLog: boolean): number | undefined {
  if (!ownLog || inflight.has_metadata === undefined) return undefined;
  return inflight.has_metadata ? inflight.version : state.metadata_version;
}

/**
 * Step 4 of the commit algorithm. `inflightLogExists` says whether the log of the current inflight
 * version is already written: such a reservation can be recovered at once, without waiting for its TTL.
 * `facts` are recorded with the reservation so that finalizing can keep metadata_version current.
 */
export function decideReservation(
  state: CoordinatorState,
  request: CommitRequest,
  nowMs: number,
  ttlMs: number,
  inflightLogExists: boolean,
  facts: ReservationFacts = {},
): ReservationDecision {
  const inflight = state.inflight;
  if (inflight) {
    const live = isLive(inflight, nowMs);
    if (inflight.commit_id === request.key) {
      if (!live) return { kind: 'recover', inflight };
      if (
        inflight.staged_path !== request.staged_path ||
        inflight.staged_version !== request.staged_version ||
        inflight.read_version !== request.read_version
      )
        return {
          kind: 'reject',
          reason: 'idempotency_key_reused',
          message: 'this idempotency key holds a reservation for a different request',
        };
      if (state.latest_version !== request.read_version) return stale(state, request);
      return { kind: 'resume', version: inflight.version };
    }
    if (live && !inflightLogExists)
      return {
        kind: 'reject',
        reason: 'commit_in_progress',
        message: `version ${inflight.version} is reserved by another commit; retry later`,
        retryAfterMs: inflight.expires_at_ms - nowMs,
      };
    return { kind: 'recover', inflight };
  }
  if (state.latest_version !== request.read_version) return stale(state, request);
  if (state.latest_version >= Number.MAX_SAFE_INTEGER - 1)
    return { kind: 'reject', reason: 'coordinator_contention', message: 'version overflow' };
  const version = state.latest_version + 1;
  return {
    kind: 'reserve',
    version,
    state: withMetadataVersion(
      {
        latest_version: state.latest_version,
        inflight: {
          commit_id: request.key,
          read_version: request.read_version,
          version,
          staged_path: request.staged_path,
          staged_version: request.staged_version,
          started_at_ms: nowMs,
          expires_at_ms: nowMs + ttlMs,
          ...(facts.hasMetadata !== undefined ? { has_metadata: facts.hasMetadata } : {}),
        },
      },
      facts.metadataVersion ?? state.metadata_version,
    ),
  };
}

export type StateChange =
  | { kind: 'unchanged' }
  | { kind: 'write'; state: CoordinatorState }
  | { kind: 'reject'; reason: CommitConflict; message: string };

/** Step 7: clear our own reservation and move latest_version up to our version. */
export function finalizeCommit(state: CoordinatorState, key: string, version: number): StateChange {
  if (!state.inflight && state.latest_version >= version) return { kind: 'unchanged' };
  if (state.inflight && state.inflight.commit_id !== key)
    return { kind: 'reject', reason: 'inflight_changed', message: 'another commit took the reservation' };
  const metadata = state.inflight ? metadataAfter(state, state.inflight, true) : undefined;
  return {
    kind: 'write',
    state: withMetadataVersion(
      { latest_version: Math.max(state.latest_version, version), inflight: null },
      metadata,
    ),
  };
}

/** Step 8: after a marker replay, make sure the replayed commit no longer blocks the table. */
export function finalizeReplayed(state: CoordinatorState, key: string, version: number): StateChange {
  if (!state.inflight)
    return state.latest_version >= version
      ? { kind: 'unchanged' }
      : { kind: 'write', state: { latest_version: version, inflight: null } };
  if (state.inflight.commit_id !== key) return { kind: 'unchanged' };
  return {
    kind: 'write',
    state: withMetadataVersion(
      { latest_version: Math.max(state.latest_version, version), inflight: null },
      metadataAfter(state, state.inflight, true),
    ),
  };
}

/**
 * Step 3d: a recovered reservation is cleared and its version counted, unless the record moved on
 * meanwhile. `rolledForward: false` abandons a reservation whose version was never written.
 * `foreignLog: true` says the version holds bytes other than the reservation's payload, whose metaData
 * is unknown here, so metadata_version is dropped.
 */
export function clearRecovered(
  state: CoordinatorState,
  inflight: Inflight,
  rolledForward: boolean,
  foreignLog = false,
): StateChange {
  if (state.inflight?.commit_id !== inflight.commit_id || state.inflight.version !== inflight.version)
    return { kind: 'unchanged' };
  const cleared = {
    latest_version: rolledForward ? Math.max(state.latest_version, inflight.version) : state.latest_version,
    inflight: null,
  };
  return {
    kind: 'write',
    state: withMetadataVersion(
      cleared,
      rolledForward ? metadataAfter(state, state.inflight, !foreignLog) : state.metadata_version,
    ),
  };
}
