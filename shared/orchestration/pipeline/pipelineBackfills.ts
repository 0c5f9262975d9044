import type { Scope } from '../../auth/principal.ts';
import { scopedObjectStore } from '../../adapters/scopedObjectStore.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { movePointer, PointerError, readPointer } from './currentPointers.ts';
import type { RunRow, TaskRow } from '../run/evolve.ts';
import { ManifestStore } from '../manifestStore.ts';
import { readerFor } from '../orchestrationServices.ts';
import {
  type AsOfMode,
  choosePipeline,
  type PipelineDeclaration,
  PipelineDeclarationError,
} from './pipelineDeclarations.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import { readReservation } from '../run/runKeyReservation.ts';
import { plainPartitionFields } from '../run/runViews.ts';
import { publicRunState, publicTaskState } from '../run/publicStates.ts';
import { tickDay } from '../schedule/scheduleTicks.ts';
import { stepManifestPath } from './stepManifests.ts';
import { TriggerError, triggerRun } from '../run/triggerRun.ts';
import {
  asOfFor,
  decidePartition,
  isActive,
  PipelineRunError,
  type PartitionFacts,
  type PartitionRow,
  resolveDay,
  rootFailure,
  type RowStatus,
  sameAsOf,
} from './decide.ts';

/**
 * Pipeline runs over a range of days and resumable backfills (pipeline-ops spec §4): one decision per
 * partition (skip what manifests show succeeded, hold category C failures, rerun what is missing), at
 * most `maxParallel` runs at once, a summary artifact when done, and data pointers moved for the days
 * whose runs succeeded (every blocking check passed).
 */
export interface PipelineRunRequest {
  start: string;
  end: string;
  asOfMode?: AsOfMode;
  asOfTs?: string;
  maxParallel?: number;
  resume?: boolean;
  force?: boolean;
  retryHeld?: boolean;
  dryRun?: boolean;
  steps?: string[];
  params?: Record<string, string>;
  clientRequestId?: string;
}

export interface PipelineBackfill {
  backfillId: string;
  pipeline: string;
  range: { start: string; end: string };
  asOfMode: AsOfMode;
  asOfTs?: string;
  maxParallel: number;
  resume: boolean;
  force: boolean;
  retryHeld: boolean;
  steps: string[];
  params?: Record<string, string>;
  codeVersion: string;
  /**
   * CANCELING from the cancel until every run the backfill started has ended, then CANCELED. Documents
   * written before CANCELING existed say `RUNNING` with `cancelRequested`, or `CANCELLED` when settled;
   * `publicState` reads them as CANCELING and CANCELED.
   */
  state: 'RUNNING' | 'CANCELING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'CANCELLED';
  /** Set by cancel: no new runs start; the backfill is CANCELED once its active runs have ended. */
  cancelRequested?: { by: string; at: string; reason?: string };
  createdAt: string;
  finishedAt?: string;
  requestedBy: string;
  fingerprint: string;
  partitions: PartitionRow[];
}

export { PipelineRunError } from './decide.ts';

const TERMINAL_ROWS: RowStatus[] = [
  'succeeded',
  'failed',
  'skipped_succeeded',
  'skipped_no_event',
  'held',
  'cancelled',
];
/** States in which the controller still has work: runs to follow, days to start or cancel. */
const ACTIVE_STATES = ['RUNNING', 'CANCELING'];

/** The state the API, the CLI and summary.json show (see `PipelineBackfill.state` for older documents). */
export function publicState(b: Pick<PipelineBackfill, 'state' | 'cancelRequested'>) {
  if (b.state === 'CANCELLED') return 'CANCELED';
  if (b.state === 'RUNNING' && b.cancelRequested) return 'CANCELING';
  return b.state;
}

/** The run key of a day's run: a repeated start of the same day replays into the same run. */
const rowRunKey = (backfillId: string, row: PartitionRow) => `pipeline:${backfillId}:${row.partitionKey}`;

const collection = (scope: Scope) =>
  `tenants/${scope.tenant}/workspaces/${scope.workspace}/pipelineBackfills`;
export const summaryPath = (backfillId: string) => `manifests/backfills/${backfillId}/summary.json`;

/** Runs of the pipeline by partition, newest first (labels written when each run was created). */
async function runsByPartition(
  snapshot: ProjectionSnapshot,
  pipeline: string,
): Promise<Map<string, RunRow[]>> {
  const byPartition = new Map<string, RunRow[]>();
  const runs = ((await snapshot.rows('runs')) as unknown as RunRow[])
    .filter((r) => r.labels?.['arco.pipeline'] === pipeline)
    .sort((a, b) => (a.triggeredAt < b.triggeredAt ? 1 : -1));
  for (const run of runs) {
    const key = run.labels['arco.partition']!;
    byPartition.set(key, [...(byPartition.get(key) ?? []), run]);
  }
  return byPartition;
}

/** The tasks of one run (read only where a decision needs them: the planner, not the tick's busy check). */
const tasksOfRun = async (snapshot: ProjectionSnapshot, runId: string) =>
  ((await snapshot.rowsOf('tasks', runId)) as unknown as TaskRow[]).filter((t) => t.runId === runId);

/** Spec §4.3: one decision per partition from the manifests of earlier runs (known-key reads). */
export async function planPipelineRun(
  deps: Dependencies,
  scope: Scope,
  pipelineName: string | undefined,
  request: PipelineRunRequest,
) {
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  let pipeline: PipelineDeclaration;
  try {
    pipeline = choosePipeline(manifest?.pipelines ?? [], pipelineName);
  } catch (error) {
    if (error instanceof PipelineDeclarationError)
      throw new PipelineRunError(pipelineName ? 'not_found' : 'invalid_argument', error.message);
    throw error;
  }
  const now = deps.clock.now();
  const timezone = pipeline.timezone ?? 'UTC';
  const start = resolveDay(request.start, timezone, now);
  const end = resolveDay(request.end, timezone, now);
  if (start > end) throw new PipelineRunError('invalid_argument', `--start ${start} is after --end ${end}`);
  const mode = request.asOfMode ?? pipeline.asOf?.defaultMode ?? 'now';
  if ((mode === 'custom') !== (request.asOfTs !== undefined))
    throw new PipelineRunError('invalid_argument', 'give --as-of-ts exactly when --as-of-mode is custom');
  const steps = request.steps?.length
    ? pipeline.assets.filter((a) => request.steps!.some((s) => a === s || a.startsWith(`${s}.`)))
    : pipeline.assets;
  if (!steps.length)
    throw new PipelineRunError('invalid_argument', `--steps selects none of ${pipeline.assets.join(', ')}`);
  const maxParallel = request.maxParallel ?? pipeline.maxParallelDefault ?? 2;
  const days: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  if (days.length > 3660)
    throw new PipelineRunError('invalid_argument', 'a pipeline run covers at most 3660 days');
  const objects = scopedObjectStore(deps.objects, scope);
  const planSnapshot = await readerFor(deps, scope).snapshot();
  const history = await runsByPartition(planSnapshot, pipeline.name);

  const rows: PartitionRow[] = [];
  for (const day of days) {
    const partitionKey = `${pipeline.partitionDimension}=d:${day}`;
    const asOf = asOfFor(pipeline, mode, day, now, request.asOfTs);
    const past = history.get(partitionKey);
    const facts: PartitionFacts = { past };
    // What a resume decides on: the steps earlier runs at this as-of satisfied (their manifests say
    // success) and the root failure of the latest such run. Read only when a resume can use them.
    if ('ts' in asOf && request.resume && !request.force && past && !past.some(isActive)) {
      facts.satisfied = new Map();
      const earlier = past.filter((r) => sameAsOf(r, mode, asOf));
      for (const run of earlier)
        for (const task of await tasksOfRun(planSnapshot, run.runId)) {
          const asset = task.assetKey ?? task.taskKey;
          if (facts.satisfied.has(asset) || !steps.includes(asset) || task.state !== 'SUCCEEDED') continue;
          const stored = await objects.get(stepManifestPath(asset, task.partitionKey, run.runId));
          if (
            stored &&
            (JSON.parse(stored.bytes.toString('utf8')) as { status: string }).status === 'success'
          )
            facts.satisfied.set(asset, run.runId);
        }
      if (earlier[0]) facts.latestRootFailure = rootFailure(await tasksOfRun(planSnapshot, earlier[0].runId));
    }
    rows.push(decidePartition({ day, partitionKey, steps, mode, asOf, request }, facts));
  }
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.action] = (counts[r.action] ?? 0) + 1;
  return { pipeline, manifest: manifest!, mode, maxParallel, steps, start, end, rows, counts };
}

/** POST …/pipelines/{name}/runs: plan, then (unless a dry run) create the backfill and start its first runs. */
export async function startPipelineRun(
  deps: Dependencies,
  scope: Scope,
  pipelineName: string | undefined,
  request: PipelineRunRequest,
  requestedBy: string,
  headerKey?: string,
) {
  const plan = await planPipelineRun(deps, scope, pipelineName, request);
  if (request.dryRun)
    return {
      status: 200 as const,
      body: { plan: { partitions: plainPartitionFields(plan.rows), counts: { byAction: plan.counts } } },
    };
  const fingerprint = sha256Hex(
    canonicalJson({
      pipeline: plan.pipeline.name,
      start: plan.start,
      end: plan.end,
      steps: plan.steps,
      asOfMode: plan.mode,
      asOfTs: request.asOfTs ?? null,
      params: request.params ?? {},
      resume: request.resume ?? false,
      force: request.force ?? false,
      retryHeld: request.retryHeld ?? false,
      maxParallel: plan.maxParallel,
    }),
  );
  const key = request.clientRequestId ?? headerKey;
  const now = deps.clock.now();
  const backfillId = key
    ? `pb_${sha256Hex(`${requestedBy}|${key}`).slice(0, 24)}`
    : `pb_${deps.ids.next(now.getTime()).toLowerCase()}`;
  const backfill: PipelineBackfill = {
    backfillId,
    pipeline: plan.pipeline.name,
    range: { start: plan.start, end: plan.end },
    asOfMode: plan.mode,
    ...(request.asOfTs ? { asOfTs: request.asOfTs } : {}),
    maxParallel: plan.maxParallel,
    resume: request.resume ?? false,
    force: request.force ?? false,
    retryHeld: request.retryHeld ?? false,
    steps: plan.steps,
    ...(request.params ? { params: request.params } : {}),
    codeVersion: plan.manifest.codeVersionId,
    state: 'RUNNING',
    createdAt: now.toISOString(),
    requestedBy,
    fingerprint,
    partitions: plan.rows.map((r) => (r.action === 'wait' ? { ...r, status: 'pending' } : r)),
  };
  const created = await deps.documents.create(`${collection(scope)}/${backfillId}`, backfill);
  if (created.status === 'already_exists') {
    const existing = (await deps.documents.get<PipelineBackfill>(`${collection(scope)}/${backfillId}`))!.data;
    if (existing.fingerprint !== fingerprint)
      throw new PipelineRunError(
        'conflict',
        'this clientRequestId / Idempotency-Key was already used for another pipeline run',
        { existingBackfillId: backfillId },
      );
    return { status: 200 as const, body: accepted(existing) };
  }
  await advancePipelineBackfill(deps, scope, backfillId);
  return { status: 202 as const, body: accepted(backfill) };
}

const accepted = (b: PipelineBackfill) => ({
  backfillId: b.backfillId,
  state: publicState(b),
  createdAt: b.createdAt,
  plan: { counts: countsOf(b) },
});

export function countsOf(b: PipelineBackfill) {
  const n = (s: RowStatus) => b.partitions.filter((p) => p.status === s).length;
  return {
    total: b.partitions.length,
    attempted: b.partitions.filter((p) => p.runId && !['skipped_succeeded', 'held'].includes(p.status))
      .length,
    succeeded: n('succeeded'),
    failed: n('failed'),
    held: n('held'),
    skippedSucceeded: n('skipped_succeeded'),
    skippedNoEvent: n('skipped_no_event'),
    cancelled: n('cancelled'),
    running: n('running'),
    pending: n('pending'),
  };
}

export async function readPipelineBackfill(deps: Dependencies, scope: Scope, backfillId: string) {
  const found = await deps.documents.get<PipelineBackfill>(`${collection(scope)}/${backfillId}`);
  if (!found) throw new PipelineRunError('not_found', `pipeline backfill not found: ${backfillId}`);
  return found.data;
}

export async function listPipelineBackfills(deps: Dependencies, scope: Scope) {
  return (await deps.documents.query<PipelineBackfill>(collection(scope)))
    .map((d) => d.data)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}

/**
 * One controller pass over a backfill (spec §4.4): finished runs update their rows (and move the
 * pipeline's data pointers when they succeeded), pending rows start while fewer than `maxParallel` run,
 * and a backfill whose rows are all terminal finishes and writes its summary. The document moves by
 * compare-and-set; a pass that loses the race leaves the work to the next one, and run keys
 * (`pipeline:{backfillId}:{partition}`) make a repeated start a replay.
 */
export async function advancePipelineBackfill(
  deps: Dependencies,
  scope: Scope,
  backfillId: string,
  snapshotIn?: ProjectionSnapshot,
) {
  const path = `${collection(scope)}/${backfillId}`;
  const stored = await deps.documents.getVersioned<PipelineBackfill>(path);
  if (!stored || !ACTIVE_STATES.includes(stored.data.state)) return;
  const backfill = structuredClone(stored.data);
  const snapshot = snapshotIn ?? (await readerFor(deps, scope).snapshot());
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const pipeline = manifest?.pipelines?.find((p) => p.name === backfill.pipeline);
  const objects = scopedObjectStore(deps.objects, scope);
  const now = deps.clock.now();

  for (const row of backfill.partitions.filter((r) => r.status === 'running' && r.runId)) {
    const run = (await snapshot.rowsOf('runs', row.runId!)).find((r) => r.runId === row.runId) as
      RunRow | undefined;
    if (!run || isActive(run)) continue;
    const tasks = await tasksOfRun(snapshot, run.runId);
    row.durationMs = Date.parse(run.completedAt ?? now.toISOString()) - Date.parse(run.triggeredAt);
    if (publicRunState(run) === 'SUCCEEDED') {
      row.status = 'succeeded';
      for (const asset of (pipeline?.publish?.dataPointers ?? []).filter((a) => row.steps.includes(a))) {
        const task = tasks.find((t) => (t.assetKey ?? t.taskKey) === asset);
        if (!task || publicTaskState(task) !== 'SUCCEEDED') continue;
        try {
          await movePointer(
            objects,
            { kind: 'data', assetKey: asset, partitionKey: row.partitionKey },
            {
              runId: run.runId,
              manifestPath: stepManifestPath(asset, row.partitionKey, run.runId),
              outputs: task.deltaTable
                ? [{ name: asset, deltaTable: task.deltaTable, deltaVersion: task.deltaVersion }]
                : [],
              asOfTs: row.asOfTs,
              codeVersion: run.codeVersion ?? null,
            },
            { action: 'promote', by: `pipeline:${backfill.pipeline}`, at: now.toISOString() },
          );
        } catch (error) {
          // An older run never overwrites a newer promotion (the monotonic guard); a lost race retries next pass.
          if (!(error instanceof PointerError)) throw error;
          deps.log.info('data pointer not moved', {
            asset,
            partitionKey: row.partitionKey,
            runId: run.runId,
            reason: error.reason,
          });
        }
      }
    } else
      Object.assign(row, { status: run.cancelRequested ? 'cancelled' : 'failed', ...rootFailure(tasks) });
  }

  const history = await runsByPartition(snapshot, backfill.pipeline);
  // A day claimed by an earlier pass whose run id was not recorded (that pass lost its last write, or
  // stopped between claiming and starting): its run key says whether the run exists; if not, it is
  // started now, even under a cancel, since the day was claimed before the cancel and must not be lost.
  const toStart: PartitionRow[] = [];
  for (const row of backfill.partitions.filter((r) => r.status === 'running' && !r.runId)) {
    const reserved = await readReservation(deps.documents, scope, rowRunKey(backfillId, row));
    if (reserved) row.runId = reserved.runId;
    else toStart.push(row);
  }
  let active = backfill.partitions.filter((r) => r.status === 'running').length;
  // Models are resolved once per run start and pinned in its labels (spec §5.5): a pointer move during
  // the run does not change what the run uses.
  const pinned: Record<string, string> = {};
  for (const name of new Set(backfill.steps.flatMap((step) => pipeline?.steps?.[step]?.models ?? []))) {
    const model = await readPointer(objects, { kind: 'model', name });
    if (model && 'artifactUri' in model.pointer) {
      pinned[`arco.model.${name}`] = `${model.pointer.runId}@${model.pointer.sequence}`;
      pinned[`arco.model_uri.${name}`] = model.pointer.artifactUri;
    }
  }
  if (backfill.cancelRequested)
    for (const row of backfill.partitions.filter((r) => r.status === 'pending')) row.status = 'cancelled';
  for (const row of backfill.partitions.filter((r) => r.status === 'pending')) {
    if (active >= backfill.maxParallel) break;
    if (history.get(row.partitionKey)?.some((r) => isActive(r) && r.runId !== row.runId)) continue;
    // Claimed (running, no run id yet) before its run starts: a cancel that lands after this write sees
    // the day as running and waits for it; one that lands before makes this write fail, and nothing starts.
    Object.assign(row, { status: 'running', startedAt: now.toISOString() });
    toStart.push(row);
    active += 1;
  }

  const start = async (row: PartitionRow): Promise<Partial<PartitionRow>> => {
    try {
      const { body } = await triggerRun(
        deps,
        scope,
        { manual: { userId: `pipeline:${backfill.pipeline}` } },
        {
          selection: row.steps,
          partitionKey: row.partitionKey,
          runKey: rowRunKey(backfillId, row),
        },
        undefined,
        {
          'arco.pipeline': backfill.pipeline,
          'arco.partition': row.partitionKey,
          'arco.as_of_mode': backfill.asOfMode,
          'arco.as_of_ts': row.asOfTs,
          'arco.as_of_clamped': String(row.asOfClamped),
          'arco.run_mode':
            row.partition >= tickDay(now, pipeline?.timezone ?? 'UTC') && backfill.asOfMode === 'now'
              ? 'live'
              : 'backfill',
          'arco.pipeline_backfill_id': backfillId,
          ...pinned,
          ...(backfill.params ? { 'arco.pipeline_params': JSON.stringify(backfill.params) } : {}),
          ...(row.action === 'rerun_missing' && row.satisfiedBy?.length
            ? {
                'arco.pipeline_upstream': JSON.stringify(
                  Object.fromEntries(row.satisfiedBy.map((u) => [u.assetKey, u.runId])),
                ),
              }
            : {}),
          ...(row.parentRunId ? { 'arco.parent_run_id': row.parentRunId } : {}),
        },
      );
      return { runId: body.runId };
    } catch (error) {
      if (!(error instanceof TriggerError)) throw error;
      // The day's run key already names a run (started by an earlier pass with other pinned models):
      // that run is the day's run.
      if (error.details?.conflictType === 'RUN_KEY_FINGERPRINT_MISMATCH')
        return { runId: String(error.details.existingRunId) };
      return { status: 'held', failureClass: 'CONFIGURATION', retryCategory: 'C', message: error.message };
    }
  };

  if (backfill.partitions.every((r) => TERMINAL_ROWS.includes(r.status))) {
    backfill.state = backfill.cancelRequested
      ? 'CANCELED'
      : backfill.partitions.some((r) => r.status === 'failed' || r.status === 'held')
        ? 'FAILED'
        : 'SUCCEEDED';
    backfill.finishedAt = now.toISOString();
    const summary = JSON.stringify(summaryOf(backfill), null, 2);
    await objects.put(summaryPath(backfillId), summary, {
      ifGenerationMatch: 0,
      contentType: 'application/json',
    });
  }
  if ((await deps.documents.compareAndSet(path, backfill, stored.version)).status !== 'written') return;
  if (!toStart.length) return;
  const started = new Map<string, Partial<PartitionRow>>();
  for (const row of toStart) started.set(row.partition, await start(row));
  await recordStarts(deps, path, started);
}

/**
 * Writes the run ids (or refusals) of the days a pass started onto the rows that still wait for them.
 * Retried on a lost race (a cancel, another pass); if every try loses, the next pass finds the runs by
 * their run keys.
 */
async function recordStarts(deps: Dependencies, path: string, started: Map<string, Partial<PartitionRow>>) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await deps.documents.getVersioned<PipelineBackfill>(path);
    if (!stored) return;
    const next = structuredClone(stored.data);
    let changed = false;
    for (const row of next.partitions) {
      const patch = started.get(row.partition);
      if (!patch || row.status !== 'running' || row.runId) continue;
      Object.assign(row, patch);
      changed = true;
    }
    if (!changed) return;
    if ((await deps.documents.compareAndSet(path, next, stored.version)).status === 'written') return;
  }
}

/** Every running pipeline backfill of the workspace, once (the automation tick's pipeline controller). */
export async function advancePipelineBackfills(
  deps: Dependencies,
  scope: Scope,
  snapshot: ProjectionSnapshot,
) {
  // One equality query per state rather than `in`: the tick runs this for every workspace, and with an
  // `in` query each tick was markedly slower on the Firestore emulator.
  const running = (
    await Promise.all(
      ACTIVE_STATES.map((state) =>
        deps.documents.query<PipelineBackfill>(collection(scope), { where: [['state', '==', state]] }),
      ),
    )
  ).flat();
  for (const doc of running) await advancePipelineBackfill(deps, scope, doc.data.backfillId, snapshot);
  return { advanced: running.length };
}

const normalise = (message: string) =>
  message
    .toLowerCase()
    .replace(
      /[0-9a-hjkmnp-tv-z]{26}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{16,}\b/g,
      '<id>',
    )
    .replace(/run=\S+/g, 'run=<id>')
    .replace(/\d{4}-\d{2}-\d{2}/g, '<date>')
    .replace(/\d+/g, '<n>');

/** The summary artifact (spec §4.6), also the live shape of `GET …/pipeline-backfills/{id}`. */
export function summaryOf(b: PipelineBackfill) {
  const groups = new Map<
    string,
    {
      signature: string;
      failureClass: string;
      retryCategory: string;
      count: number;
      partitions: string[];
      sampleMessage: string;
    }
  >();
  for (const row of b.partitions.filter((r) => r.status === 'failed' || r.status === 'held')) {
    const signature = `${row.failureClass ?? 'UNKNOWN'}:${sha256Hex(normalise(row.message ?? '')).slice(0, 12)}`;
    const group = groups.get(signature) ?? {
      signature,
      failureClass: row.failureClass ?? 'UNKNOWN',
      retryCategory: row.retryCategory ?? 'C',
      count: 0,
      partitions: [],
      sampleMessage: row.message ?? '',
    };
    group.count += 1;
    group.partitions.push(row.partition);
    groups.set(signature, group);
  }
  const counts = countsOf(b);
  const unfinished = counts.failed + counts.held;
  const onlyHeld = counts.held > 0 && counts.failed === 0;
  return {
    summaryVersion: 'v1',
    backfillId: b.backfillId,
    pipeline: b.pipeline,
    range: b.range,
    asOfMode: b.asOfMode,
    ...(b.asOfTs ? { asOfTs: b.asOfTs } : {}),
    maxParallel: b.maxParallel,
    resume: b.resume,
    force: b.force,
    retryHeld: b.retryHeld,
    steps: b.steps,
    ...(b.params ? { params: b.params } : {}),
    codeVersion: b.codeVersion,
    state: publicState(b),
    createdAt: b.createdAt,
    ...(b.finishedAt ? { finishedAt: b.finishedAt } : {}),
    requestedBy: b.requestedBy,
    counts,
    // People read summary.json: its partition keys are plain (`date=2026-11-30`).
    partitions: plainPartitionFields(b.partitions.map(({ steps: _steps, ...row }) => row)),
    errorGroups: [...groups.values()].sort(
      (x, y) => y.count - x.count || x.signature.localeCompare(y.signature),
    ),
    ...(unfinished
      ? {
          nextCommand: `pipeline run --pipeline ${b.pipeline} --start ${b.range.start} --end ${b.range.end} --as-of-mode ${b.asOfMode}${b.asOfTs ? ` --as-of-ts ${b.asOfTs}` : ''} --max-parallel ${b.maxParallel} --resume${onlyHeld ? ' --retry-held' : ''}`,
        }
      : {}),
  };
}

/**
 * `POST …/pipeline-backfills/{id}/cancel` (spec §4.2): no new runs start, and the backfill is CANCELING
 * until every run it started (including one a concurrent pass claimed just before) has ended, then
 * CANCELED (a controller pass settles it). Cancelling a CANCELING backfill again changes nothing.
 */
export async function cancelPipelineBackfill(
  deps: Dependencies,
  scope: Scope,
  backfillId: string,
  by: string,
  reason?: string,
) {
  const path = `${collection(scope)}/${backfillId}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await deps.documents.getVersioned<PipelineBackfill>(path);
    if (!stored) throw new PipelineRunError('not_found', `pipeline backfill not found: ${backfillId}`);
    if (!ACTIVE_STATES.includes(stored.data.state))
      throw new PipelineRunError(
        'conflict',
        `pipeline backfill ${backfillId} is already ${publicState(stored.data)}`,
      );
    if (stored.data.cancelRequested) break;
    const next: PipelineBackfill = {
      ...stored.data,
      state: 'CANCELING',
      cancelRequested: { by, at: deps.clock.now().toISOString(), ...(reason ? { reason } : {}) },
    };
    if ((await deps.documents.compareAndSet(path, next, stored.version)).status === 'written') break;
  }
  await advancePipelineBackfill(deps, scope, backfillId);
  return summaryOf(await readPipelineBackfill(deps, scope, backfillId));
}
