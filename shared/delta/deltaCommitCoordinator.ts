import type { Clock } from '../adapters/clock.ts';
import type { DocumentStore } from '../adapters/documentStore.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { Scope } from '../auth/principal.ts';
import { canonicalJson } from '../core/canonicalJson.ts';
import type { Failpoints } from '../core/failpoints.ts';
import { sha256Hex } from '../core/hashing.ts';
import { UUID_V7 } from '../core/uuid.ts';
import {
  DeltaPayloadError,
  findMetaData,
  PartitionValuesError,
  type TableMetaData,
  validateAgainstTable,
  validateDeltaPayload,
} from './deltaActions.ts';
import { logPath, markerPath, stagingPrefix } from './deltaPaths.ts';
import {
  type CommitConflict,
  type CommitRequest,
  type CoordinatorState,
  clearRecovered,
  decideReservation,
  EMPTY_COORDINATOR,
  finalizeCommit,
  finalizeReplayed,
  type Inflight,
  type ReservationFacts,
  type StateChange,
} from './coordinatorState.ts';
import { ArcoError, type ErrorCode } from '../core/arcoError.ts';

export interface CommitResponse {
  version: number;
  delta_log_path: string;
}

interface IdempotencyMarker extends CommitResponse {
  idempotency_key: string;
  idempotency_key_hash: string;
  request_hash: string;
  committed_at_ms: number;
  read_version: number;
  staged_path: string;
  staged_version: string;
}

export type DeltaErrorReason =
  | CommitConflict
  | 'invalid_idempotency_key'
  | 'invalid_staged_path'
  | 'invalid_payload'
  | 'table_not_found'
  | 'staged_payload_not_found'
  | 'staged_version_mismatch'
  | 'staging_path_exists'
  | 'table_exists'
  | 'invalid_location'
  | 'location_in_use'
  | 'invalid_table_definition'
  | 'invalid_partition_values';

/**
 * A refusal of the coordinator; `code` and `reason` are the spec's A8 catalogue (`details` is
 * `{reason, …extra}`, and a `retryAfterMs` becomes the answer's Retry-After in whole seconds).
 */
export class DeltaCommitError extends ArcoError {
  constructor(
    code: Extract<ErrorCode, 'invalid_argument' | 'not_found' | 'conflict'>,
    readonly reason: DeltaErrorReason,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly retryAfterMs?: number,
  ) {
    super(
      code,
      message,
      { reason, ...extra },
      retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {},
    );
  }
}

export interface TableHandle {
  tableId: string;
  /** Scope-relative root of the table's files; `_delta_log/` lives under it. */
  root: string;
}

export interface CoordinatorDeps {
  /** Scoped to the caller's tenant/workspace. */
  objects: ObjectStore;
  documents: DocumentStore;
  clock: Clock;
  failpoints: Failpoints;
  scope: Scope;
  inflightTtlMs?: number;
  maxRounds?: number;
}

const TTL_MS = 300_000;
const MAX_ROUNDS = 16;

export const coordinatorDocPath = (scope: Scope, tableId: string) =>
  `tenants/${scope.tenant}/workspaces/${scope.workspace}/deltaCoordinators/${tableId}`;

/**
 * The API refusal of a payload that breaks the protocol or the table: 400 naming the line, the 0-based
 * action index, the action and its path. File actions that do not fit the table's partition columns are
 * `invalid_partition_values`; everything else is `invalid_payload`.
 */
export function payloadRefusal(error: DeltaPayloadError, what: string): DeltaCommitError {
  return new DeltaCommitError(
    'invalid_argument',
    error instanceof PartitionValuesError ? 'invalid_partition_values' : 'invalid_payload',
    `${what} is not a valid Delta commit for this table: ${error.message}`,
    error.details,
  );
}

export function requestHash(key: string, readVersion: number, stagedPath: string, payload: Buffer): string {
  return sha256Hex(
    canonicalJson({
      idempotency_key: key,
      read_version: readVersion,
      staged_path: stagedPath,
      staged_payload_sha256: sha256Hex(payload),
    }),
  );
}

/**
 * Multi-writer commits to one Delta table (state-and-delta spec A5). The coordinator record lives in
 * Firestore and changes only by compare-and-set on its update time (a Firestore precondition); the log entry and the idempotency marker are create-only
 * GCS objects. Every crash window converges: a replay with the same key resumes or recovers the
 * reservation, and any other writer rolls a stuck reservation forward before reserving its own.
 */
export class DeltaCommitCoordinator {
  private readonly ttlMs: number;
  private readonly maxRounds: number;

  constructor(private readonly deps: CoordinatorDeps) {
    this.ttlMs = deps.inflightTtlMs ?? TTL_MS;
    this.maxRounds = deps.maxRounds ?? MAX_ROUNDS;
  }

  private docPath(tableId: string) {
    return coordinatorDocPath(this.deps.scope, tableId);
  }

  async state(tableId: string): Promise<CoordinatorState> {
    return (
      (await this.deps.documents.get<CoordinatorState>(this.docPath(tableId)))?.data ?? EMPTY_COORDINATOR
    );
  }

  /** The committed answer for a key, if its marker exists. */
  async committed(tableId: string, key: string): Promise<CommitResponse | null> {
    const marker = await this.readMarker(tableId, key);
    return marker ? { version: marker.version, delta_log_path: marker.delta_log_path } : null;
  }

  /** Validates the key and the staged path, then answers from the marker if this key committed already. */
  async replay(tableId: string, request: CommitRequest): Promise<CommitResponse | null> {
    if (!UUID_V7.test(request.key))
      throw new DeltaCommitError(
        'invalid_argument',
        'invalid_idempotency_key',
        'Idempotency-Key must be a canonical lowercase UUIDv7',
      );
    if (!request.staged_path.startsWith(stagingPrefix(tableId)) || request.staged_path.includes('..'))
      throw new DeltaCommitError(
        'invalid_argument',
        'invalid_staged_path',
        `staged_path must start with ${stagingPrefix(tableId)}`,
      );
    const marker = await this.readMarker(tableId, request.key);
    if (!marker) return null;
    const sameShape =
      marker.read_version === request.read_version &&
      marker.staged_path === request.staged_path &&
      marker.staged_version === request.staged_version;
    if (!sameShape) {
      const payload = await this.deps.objects.get(request.staged_path);
      if (!payload)
        throw new DeltaCommitError('not_found', 'staged_payload_not_found', 'staged payload not found');
      if (
        requestHash(request.key, request.read_version, request.staged_path, payload.bytes) !==
        marker.request_hash
      )
        throw this.reused();
    }
    await this.changeState(tableId, (s) => finalizeReplayed(s, request.key, marker.version)).catch(() => {});
    return { version: marker.version, delta_log_path: marker.delta_log_path };
  }

  async commit(table: TableHandle, request: CommitRequest): Promise<CommitResponse> {
    const replayed = await this.replay(table.tableId, request);
    if (replayed) return replayed;
    const payload = await this.loadStaged(request.staged_path, request.staged_version);
    const text = payload.toString('utf8');
    try {
      validateDeltaPayload(text, request.read_version + 1);
    } catch (error) {
      if (error instanceof DeltaPayloadError) throw payloadRefusal(error, 'staged payload');
      throw error;
    }
    const hash = requestHash(request.key, request.read_version, request.staged_path, payload);
    const facts: ReservationFacts = { hasMetadata: findMetaData(text) !== null };
    let checkedAgainstTable = false;

    let version: number | undefined;
    for (let round = 0; round < this.maxRounds && version === undefined; round += 1) {
      const observed = await this.versionedState(table.tableId);
      const inflight = observed.state.inflight;
      const logExists = inflight
        ? (await this.deps.objects.head(logPath(table.root, inflight.version))) !== null
        : false;
      const decide = () =>
        decideReservation(
          observed.state,
          request,
          this.deps.clock.now().getTime(),
          this.ttlMs,
          logExists,
          facts,
        );
      let decision = decide();
      // Only a new reservation needs the table check: a resumed or recovered one passed it when it was
      // reserved. The metaData at read_version is immutable, so one check serves every round.
      if (decision.kind === 'reserve' && !checkedAgainstTable) {
        facts.metadataVersion = await this.checkAgainstTable(table, observed.state, text);
        checkedAgainstTable = true;
        decision = decide();
      }
      switch (decision.kind) {
        case 'reject':
          throw new DeltaCommitError(
            'conflict',
            decision.reason,
            decision.message,
            {},
            decision.retryAfterMs,
          );
        case 'recover': {
          const recovered = await this.recover(table, decision.inflight);
          if (decision.inflight.commit_id === request.key) {
            if (recovered && recovered.request_hash === hash) return recovered.response;
            throw this.reused();
          }
          continue;
        }
        case 'reserve': {
          const written = await this.deps.documents.compareAndSet(
            this.docPath(table.tableId),
            decision.state,
            observed.version,
          );
          if (written.status === 'precondition_failed') continue;
          this.deps.failpoints.hit('delta.after_reserve');
          version = decision.version;
          break;
        }
        case 'resume':
          version = decision.version;
          break;
      }
    }
    if (version === undefined)
      throw new DeltaCommitError('conflict', 'coordinator_contention', 'too many concurrent commits; retry');

    const response = { version, delta_log_path: logPath(table.root, version) };
    const written = await this.writeLog(response.delta_log_path, payload);
    if (!written) {
      await this.changeState(table.tableId, (s) =>
        clearRecovered(s, this.inflightOf(s, request.key, version), true, true),
      );
      throw new DeltaCommitError(
        'conflict',
        'log_version_taken',
        `version ${version} was written by another commit`,
      );
    }
    this.deps.failpoints.hit('delta.after_log');
    await this.writeMarker(table.tableId, request, hash, response);
    this.deps.failpoints.hit('delta.after_marker');
    await this.changeState(table.tableId, (s) => finalizeCommit(s, request.key, version));
    return response;
  }

  /**
   * Rolls a reservation forward (spec A5 step 3): its log is written from its own staged payload if
   * missing, its marker written, the record cleared. A log already holding other bytes is not
   * attributed to it ([D] foreign log guard). Returns the recovered commit's marker data, if any.
   */
  private async recover(
    table: TableHandle,
    inflight: Inflight,
  ): Promise<{ request_hash: string; response: CommitResponse } | null> {
    const path = logPath(table.root, inflight.version);
    const staged = await this.deps.objects.get(inflight.staged_path);
    const existing = await this.deps.objects.get(path);
    const stagedUsable = staged !== null && staged.generation === inflight.staged_version;
    if (!existing && !stagedUsable) {
      // Nothing was written at this version and it can no longer be: free the version, lose nothing.
      await this.changeState(table.tableId, (s) => clearRecovered(s, inflight, false));
      return null;
    }
    if (!existing) await this.writeLog(path, staged!.bytes);
    const logBytes = existing?.bytes ?? staged!.bytes;
    if (!stagedUsable || !logBytes.equals(staged!.bytes)) {
      await this.changeState(table.tableId, (s) => clearRecovered(s, inflight, true, true));
      return null;
    }
    const hash = requestHash(inflight.commit_id, inflight.read_version, inflight.staged_path, staged!.bytes);
    const response = { version: inflight.version, delta_log_path: path };
    await this.writeMarker(
      table.tableId,
      {
        key: inflight.commit_id,
        read_version: inflight.read_version,
        staged_path: inflight.staged_path,
        staged_version: inflight.staged_version,
      },
      hash,
      response,
    );
    await this.changeState(table.tableId, (s) => clearRecovered(s, inflight, true));
    return { request_hash: hash, response };
  }

  /**
   * Checks a syntactically valid payload against the table's metaData (its own metaData if it has one,
   * else the table's as of `state.latest_version`, the read_version being reserved): throws the API's
   * 400 (see payloadRefusal). Returns the version the table's metaData was found at, when it was
   * searched for, so the reservation can record it.
   */
  async checkAgainstTable(
    table: TableHandle,
    state: CoordinatorState,
    payload: string,
  ): Promise<number | undefined> {
    const own = findMetaData(payload) !== null;
    const found = own || state.latest_version < 0 ? null : await this.metaDataAt(table.root, state);
    try {
      validateAgainstTable(payload, found?.metaData ?? null);
    } catch (error) {
      if (error instanceof DeltaPayloadError) throw payloadRefusal(error, 'payload');
      throw error;
    }
    return found?.version;
  }

  /**
   * The table's metaData at `state.latest_version`: one read where the record knows which version last
   * changed it, else a backwards search of the log (known keys only; version 0 always holds one).
   */
  private async metaDataAt(
    root: string,
    state: CoordinatorState,
  ): Promise<{ metaData: TableMetaData; version: number }> {
    const known = state.metadata_version;
    const candidates = [
      ...(known !== undefined && known <= state.latest_version ? [known] : []),
      ...Array.from({ length: state.latest_version + 1 }, (_, i) => state.latest_version - i),
    ];
    for (const version of candidates) {
      const entry = await this.deps.objects.get(logPath(root, version));
      if (!entry) throw new Error(`log entry ${version} of ${root} is missing`);
      const metaData = findMetaData(entry.bytes.toString('utf8'));
      if (metaData) return { metaData, version };
    }
    throw new Error(`no metaData in the log of ${root} up to version ${state.latest_version}`);
  }

  private inflightOf(state: CoordinatorState, key: string, version: number): Inflight {
    return state.inflight?.commit_id === key && state.inflight.version === version
      ? state.inflight
      : ({ commit_id: '', version: -1 } as Inflight);
  }

  private reused() {
    return new DeltaCommitError(
      'conflict',
      'idempotency_key_reused',
      'this idempotency key was used for a different commit',
    );
  }

  private async loadStaged(stagedPath: string, stagedVersion: string): Promise<Buffer> {
    const staged = await this.deps.objects.get(stagedPath);
    if (!staged)
      throw new DeltaCommitError(
        'not_found',
        'staged_payload_not_found',
        `staged payload ${stagedPath} not found`,
      );
    if (staged.generation !== stagedVersion)
      throw new DeltaCommitError(
        'conflict',
        'staged_version_mismatch',
        'staged_version does not match the staged object',
        {
          expected: staged.generation,
          got: stagedVersion,
        },
      );
    return staged.bytes;
  }

  /** Create-only; true when the log at `path` holds exactly `payload` afterwards. */
  private async writeLog(path: string, payload: Buffer): Promise<boolean> {
    const result = await this.deps.objects.put(path, payload, { ifGenerationMatch: 0 });
    if (result.status === 'written') return true;
    const existing = await this.deps.objects.get(path);
    return existing !== null && existing.bytes.equals(payload);
  }

  private async readMarker(tableId: string, key: string): Promise<IdempotencyMarker | null> {
    const marker = await this.deps.objects.get(markerPath(tableId, key));
    return marker ? (JSON.parse(marker.bytes.toString('utf8')) as IdempotencyMarker) : null;
  }

  private async writeMarker(tableId: string, request: CommitRequest, hash: string, response: CommitResponse) {
    const marker: IdempotencyMarker = {
      idempotency_key: request.key,
      idempotency_key_hash: sha256Hex(request.key),
      request_hash: hash,
      ...response,
      committed_at_ms: this.deps.clock.now().getTime(),
      read_version: request.read_version,
      staged_path: request.staged_path,
      staged_version: request.staged_version,
    };
    // An existing marker is never overwritten: the first one fixes the answer for this key forever.
    await this.deps.objects.put(markerPath(tableId, request.key), canonicalJson(marker), {
      ifGenerationMatch: 0,
    });
  }

  private async versionedState(
    tableId: string,
  ): Promise<{ state: CoordinatorState; version: string | null }> {
    const document = await this.deps.documents.getVersioned<CoordinatorState>(this.docPath(tableId));
    return document
      ? { state: document.data, version: document.version }
      : { state: EMPTY_COORDINATOR, version: null };
  }

  /** Applies a pure state change by compare-and-set, re-reading and re-deciding when it loses a race. */
  private async changeState(tableId: string, change: (state: CoordinatorState) => StateChange) {
    for (let round = 0; round < this.maxRounds; round += 1) {
      const observed = await this.versionedState(tableId);
      const decided = change(observed.state);
      if (decided.kind === 'reject') throw new DeltaCommitError('conflict', decided.reason, decided.message);
      if (decided.kind === 'unchanged') return;
      const written = await this.deps.documents.compareAndSet(
        this.docPath(tableId),
        decided.state,
        observed.version,
      );
      if (written.status === 'written') return;
    }
    throw new DeltaCommitError('conflict', 'coordinator_contention', 'too many concurrent commits; retry');
  }
}
