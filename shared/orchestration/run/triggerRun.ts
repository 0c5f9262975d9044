import type { Scope } from '../../auth/principal.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { canonicalAssetKey, InvalidAssetKeyError } from '../assetKeys.ts';
import { type CodeLocationManifest, selectAssets } from '../codeLocationManifest.ts';
import { type EventData, envelope, type TaskDef } from '../state/events.ts';
import { ManifestStore } from '../manifestStore.ts';
import { ledgerFor, readerFor } from '../orchestrationServices.ts';
import {
  InvalidPartitionKeyError,
  canonicalPartitionKey,
  parsePartitionKey,
  renderPartitionKey,
  stringValue,
} from '../partitionKeys.ts';
import { publicRunState } from './publicStates.ts';
import { readReservation, reserveRunKey, type RunKeyReservation } from './runKeyReservation.ts';
import { type VisibilityStatus, waitUntilVisible } from '../state/visibility.ts';
import type { RunRow } from './evolve.ts';
import { ArcoError } from '../../core/arcoError.ts';

export interface TriggerRequest {
  selection: string[];
  includeUpstream?: boolean;
  includeDownstream?: boolean;
  partitionKey?: string;
  partitions?: Array<{ key: string; value: string }>;
  /** Several partitions in one run (a backfill chunk): one task per root and partition, roots only. */
  partitionKeys?: string[];
  runKey?: string;
  labels?: Record<string, string>;
}

export interface TriggerResponse {
  runId: string;
  planId: string;
  state: string;
  created: boolean;
  createdAt: string;
  visibility_status?: VisibilityStatus;
}

/** A refusal with its HTTP status and the spec's diagnostic details. */
export class TriggerError extends ArcoError {}

const RESERVED_LABELS = ['arco.parent_run_id', 'arco.rerun.kind'];
/** Labels only the platform sets: pipeline runs carry their pipeline, partition and as-of (pipeline-ops §1.1). */
const RESERVED_PREFIXES = ['arco.pipeline', 'arco.partition', 'arco.as_of_', 'arco.run_mode', 'arco.model'];

/** Who asked for a run: recorded on RunTriggered, never part of the fingerprint (run_key parity, §4.5). */
export type TriggerSource =
  | { manual: { userId: string } }
  | { cron: { scheduleId: string; tickId: string } }
  | { sensor: { sensorId: string; evalId: string } }
  | { backfill: { backfillId: string; chunkId: string } };

/** Resolves `partitionKey` / legacy `partitions` against the roots' partitioning (spec §2.3). */
export function resolvePartitionKey(
  request: TriggerRequest,
  manifest: CodeLocationManifest,
  roots: string[],
): string | undefined {
  if (request.partitionKey !== undefined && request.partitions !== undefined)
    throw new TriggerError('invalid_argument', 'use either partitionKey or partitions, not both');
  if (request.partitionKey === undefined && request.partitions === undefined) return undefined;
  const dims = manifest.assets.filter((a) => roots.includes(a.key)).map((a) => a.dimensions);
  const unpartitioned = roots.filter((_, i) => !dims[i]?.length);
  if (unpartitioned.length)
    throw new TriggerError(
      'invalid_argument',
      `partition key provided for unpartitioned asset: ${unpartitioned.join(', ')}`,
    );
  const expected = dims[0]!.map((d) => d.name);
  if (dims.some((d) => canonicalJson(d) !== canonicalJson(dims[0])))
    throw new TriggerError('invalid_argument', 'selected roots are partitioned differently');
  let key: string;
  try {
    if (request.partitionKey !== undefined) {
      // Every trigger path (API, schedules, sensors, backfills) takes keys as people write them.
      key = canonicalPartitionKey(request.partitionKey, dims[0]!);
    } else {
      const values = new Map(
        request.partitions!.map((p) => {
          const dimension = dims[0]!.find((d) => d.name === p.key);
          const isDay =
            dimension?.kind === 'time' &&
            dimension.granularity !== 'hour' &&
            /^\d{4}-\d{2}-\d{2}$/.test(p.value);
          return [p.key, isDay ? { tag: 'd' as const, value: p.value } : stringValue(p.value)];
        }),
      );
      key = renderPartitionKey(values);
      parsePartitionKey(key);
    }
  } catch (error) {
    if (error instanceof InvalidPartitionKeyError) throw new TriggerError('invalid_argument', error.message);
    throw error;
  }
  const got = [...parsePartitionKey(key).keys()].sort();
  if (canonicalJson(got) !== canonicalJson([...expected].sort()))
    throw new TriggerError(
      'invalid_argument',
      `partition dimensions must be [${expected.join(', ')}], got [${got.join(', ')}]`,
    );
  if (key.length > 1024)
    throw new TriggerError('invalid_argument', 'partitionKey is longer than 1024 characters');
  return key;
}

function taskDefs(
  manifest: CodeLocationManifest,
  roots: string[],
  request: TriggerRequest,
  partitionKey: string | undefined,
  partitionKeys: string[],
): TaskDef[] {
  if (partitionKeys.length > 1)
    return roots.flatMap((root) =>
      partitionKeys.map((key) => ({
        ...taskDefs(manifest, [root], { selection: [root] }, key, [])[0]!,
        key: `${root}[${key}]`,
        dependsOn: [],
      })),
    );
  const planned = selectAssets(
    manifest,
    roots,
    request.includeUpstream ?? false,
    request.includeDownstream ?? false,
  );
  const keys = new Set(planned.map((a) => a.key));
  return planned.map((asset) => ({
    key: asset.key,
    dependsOn: asset.dependencies.filter((d) => keys.has(d)),
    assetKey: asset.key,
    ...(partitionKey ? { partitionKey } : {}),
    maxAttempts: asset.retryPolicy.maxAttempts,
    heartbeatTimeoutSec: asset.heartbeatTimeoutSec,
    requiresVisibleOutput: true,
    initialBackoffSeconds: asset.retryPolicy.initialBackoffSeconds,
    maxBackoffSeconds: asset.retryPolicy.maxBackoffSeconds,
    ...(asset.workerUrl ? { workerUrl: asset.workerUrl } : {}),
    ...(Object.keys(asset.payload).length ? { payload: asset.payload } : {}),
  }));
}

/** One partition resolves as `partitionKey` does (so a one-partition chunk equals a manual trigger). */
function resolvePartitions(request: TriggerRequest, manifest: CodeLocationManifest, roots: string[]) {
  if (request.partitionKeys === undefined)
    return { partitionKey: resolvePartitionKey(request, manifest, roots), partitionKeys: [] as string[] };
  if (request.partitionKey !== undefined || request.partitions !== undefined)
    throw new TriggerError('invalid_argument', 'use either partitionKeys or partitionKey/partitions');
  if (request.partitionKeys.length === 0)
    throw new TriggerError('invalid_argument', 'partitionKeys cannot be empty');
  if (request.partitionKeys.length > 1 && (request.includeUpstream || request.includeDownstream))
    throw new TriggerError('invalid_argument', 'a run over several partitions plans its roots only');
  const keys = [
    ...new Set(
      request.partitionKeys.map((key) =>
        resolvePartitionKey({ ...request, partitionKeys: undefined, partitionKey: key }, manifest, roots)!,
      ),
    ),
  ].sort();
  return keys.length === 1
    ? { partitionKey: keys[0], partitionKeys: [] }
    : { partitionKey: undefined, partitionKeys: keys };
}

/** The trigger fingerprint (spec §3.2): normalised selection, flags, resolved partition key, labels. */
export function triggerFingerprint(
  roots: string[],
  request: TriggerRequest,
  partitionKey: string | undefined,
  partitionKeys: string[] = [],
): string {
  return sha256Hex(
    canonicalJson({
      selection: [...new Set(roots)].sort(),
      includeUpstream: request.includeUpstream ?? false,
      includeDownstream: request.includeDownstream ?? false,
      ...(partitionKey ? { partitionKey } : {}),
      ...(partitionKeys.length > 1 ? { partitionKeys } : {}),
      labels: request.labels ?? {},
    }),
  );
}

/**
 * POST /runs (spec §4.3): validates everything before reserving the run key (a 400 never consumes it),
 * reserves it in Firestore, then appends RunTriggered + PlanCreated with ids fixed by the reservation, so
 * a replay after a crash between the two steps re-appends the very same events.
 */
export async function triggerRun(
  deps: Dependencies,
  scope: Scope,
  source: TriggerSource,
  request: TriggerRequest,
  headerRunKey?: string,
  platformLabels: Record<string, string> = {},
): Promise<{ status: 200 | 201; body: TriggerResponse; fingerprint: string }> {
  if (!request.selection.length) throw new TriggerError('invalid_argument', 'selection cannot be empty');
  const reserved = Object.keys(request.labels ?? {}).filter(
    (k) => RESERVED_LABELS.includes(k) || RESERVED_PREFIXES.some((p) => k.startsWith(p)),
  );
  if (reserved.length)
    throw new TriggerError('invalid_argument', `reserved labels cannot be set: ${reserved.join(', ')}`);
  const runKey = request.runKey ?? headerRunKey;
  let roots: string[];
  try {
    roots = [...new Set(request.selection.map(canonicalAssetKey))].sort();
  } catch (error) {
    if (error instanceof InvalidAssetKeyError) throw new TriggerError('invalid_argument', error.message);
    throw error;
  }
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  if (!manifest)
    throw new TriggerError('invalid_argument', `no manifest deployed for workspace ${scope.workspace}`);
  const known = new Set(manifest.assets.map((a) => a.key));
  const unknown = roots.filter((r) => !known.has(r));
  if (unknown.length) throw new TriggerError('invalid_argument', `unknown asset keys: ${unknown.join(', ')}`);
  const { partitionKey, partitionKeys } = resolvePartitions(request, manifest, roots);
  const labels = { ...request.labels, ...platformLabels };
  const fingerprint = triggerFingerprint(roots, { ...request, labels }, partitionKey, partitionKeys);

  const started = await startRun(deps, scope, runKey, fingerprint, (runId, planId) => ({
    runTriggered: {
      type: 'run_triggered',
      runId,
      planId,
      trigger: source,
      rootAssets: roots,
      ...(runKey ? { runKey } : {}),
      labels,
      codeVersion: manifest.codeVersionId,
    },
    planCreated: {
      type: 'plan_created',
      runId,
      planId,
      tasks: taskDefs(manifest, roots, request, partitionKey, partitionKeys),
    },
  }));
  return { ...started, fingerprint };
}

/**
 * The reservation protocol shared by triggers and reruns (spec §4.3 steps 4–7): reserve the run key
 * (Firestore create-only), then append RunTriggered + PlanCreated with ids fixed by the reservation, so
 * a replay after a crash between the two steps re-appends the very same events.
 */
export async function startRun(
  deps: Dependencies,
  scope: Scope,
  runKey: string | undefined,
  fingerprint: string,
  events: (runId: string, planId: string) => { runTriggered: EventData; planCreated: EventData },
): Promise<{ status: 200 | 201; body: TriggerResponse }> {
  const startedAtMs = Date.now();
  const now = deps.clock.now();
  const runId = deps.ids.next(now.getTime());
  const planId = deps.ids.next(now.getTime());
  const reservation: RunKeyReservation = {
    runKey: runKey ?? '',
    runId,
    planId,
    eventId: deps.ids.next(now.getTime()),
    planEventId: deps.ids.next(now.getTime()),
    requestFingerprint: fingerprint,
    createdAt: now.toISOString(),
    ...events(runId, planId),
  };
  if (!runKey) return { status: 201, body: await appendRun(deps, scope, reservation, true, startedAtMs) };

  const existing = await readReservation(deps.documents, scope, runKey);
  const outcome = existing
    ? { created: false as const, existing }
    : await reserveRunKey(deps.documents, scope, reservation);
  if (outcome.created) {
    deps.failpoints.hit('run.after_reservation');
    return { status: 201, body: await appendRun(deps, scope, reservation, true, startedAtMs) };
  }
  const prior = outcome.existing;
  if (prior.requestFingerprint !== fingerprint)
    throw new TriggerError('conflict', `run_key ${runKey} was already used for a different request`, {
      conflictType: 'RUN_KEY_FINGERPRINT_MISMATCH',
      runKey,
      existingRunId: prior.runId,
      existingPlanId: prior.planId,
      existingFingerprint: prior.requestFingerprint,
      requestedFingerprint: fingerprint,
      existingCreatedAt: prior.createdAt,
    });
  return { status: 200, body: await appendRun(deps, scope, prior, false, startedAtMs) };
}

/** Appends (or re-appends, idempotently) the run's two events and reports the run as it now reads. */
async function appendRun(
  deps: Dependencies,
  scope: Scope,
  reservation: RunKeyReservation,
  created: boolean,
  startedAtMs: number,
): Promise<TriggerResponse> {
  const base = {
    runId: reservation.runId,
    planId: reservation.planId,
    created,
    createdAt: reservation.createdAt,
  };
  if (!created) {
    const snapshot = await readerFor(deps, scope).snapshot();
    const run = (await snapshot.rowsOf('runs', reservation.runId)).find(
      (r) => r.runId === reservation.runId,
    ) as RunRow | undefined;
    if (run) return { ...base, state: publicRunState(run) };
  }
  const at = new Date(reservation.createdAt);
  const events = [
    envelope({
      eventId: reservation.eventId,
      tenantId: scope.tenant,
      workspaceId: scope.workspace,
      timestamp: at,
      data: reservation.runTriggered,
    }),
    envelope({
      eventId: reservation.planEventId,
      tenantId: scope.tenant,
      workspaceId: scope.workspace,
      timestamp: at,
      data: reservation.planCreated,
    }),
  ];
  const { batchId } = await ledgerFor(deps, scope).appendEvents(events);
  const visibility = await waitUntilVisible(deps, scope, batchId, startedAtMs);
  return { ...base, state: 'PENDING', visibility_status: visibility };
}
