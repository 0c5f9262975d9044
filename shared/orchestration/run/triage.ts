import type { RunRow, TaskRow } from './evolve.ts';
import { publicRunState, publicTaskState } from './publicStates.ts';
import { stepManifestPath } from '../pipeline/stepManifests.ts';

/**
 * `arco triage {runId}` (pipeline-ops spec §7): the runbook's flowchart as a deterministic function of a
 * run and its tasks. The root failure is the earliest failed task (by completion time, then key); its
 * stored class and category pick the evidence to show, the one command to run, and what not to do.
 */
export interface TriageVerdict {
  runId: string;
  pipeline?: string;
  partition?: string;
  state: string;
  verdict: 'no_failure' | 'in_progress' | 'cancelled' | 'actionable';
  root?: Record<string, unknown>;
  evidence: Array<{ check: string; result: string; detail: string }>;
  proposal: { category?: string; kind: string; command?: string; explanation: string };
  doNot: string[];
  otherFailures: Array<{ taskKey: string; failureClass?: string }>;
  skipped: Array<{ taskKey: string; upstreamTaskKey?: string }>;
  waiting?: Array<{
    taskKey: string;
    attempt: number;
    maxAttempts: number;
    failureClass?: string;
    nextAttemptAt?: string;
  }>;
}

const NEVER_DELETE = 'do not delete or edit partitions or manifests to get unstuck';

interface Action {
  kind: TriageVerdict['proposal']['kind'];
  command?: string;
  explanation: string;
}

/** The proposal per class (spec §7.1 step 4), before the publishing-step rule of step 5. */
function actionFor(
  failureClass: string,
  code: string | undefined,
  run: RunRow,
  root: TaskRow,
  pipeline?: string,
  partitionDay?: string,
): Action {
  const id = run.runId;
  const day = partitionDay ?? 'D';
  const endpoint = /(?:https?:\/\/)?([a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)/i.exec(
    root.lastFailure?.message ?? '',
  )?.[1];
  switch (failureClass) {
    case 'TRANSIENT_NETWORK':
      return {
        kind: 'retry_in_place',
        command: `arco retry ${id}`,
        explanation: `network error${endpoint ? ` reaching ${endpoint}` : ''}: check the endpoint answers, then retry (the platform already retried with backoff and jitter); if it persists, mark it as an upstream outage`,
      };
    case 'TIMEOUT':
    case 'INFRASTRUCTURE':
      return {
        kind: 'retry_in_place',
        command: `arco retry ${id}`,
        explanation: 'the runtime failed, not the step logic: retry the task in the same run',
      };
    case 'MISSING_INPUT':
      if (code === 'run_id_mismatch')
        return {
          kind: 'fix_then_retry',
          command: `arco rerun ${id} --from-failure`,
          explanation: `run id propagation defect in step ${root.taskKey}: it asked for another run's data; fix the step, then rerun from the failure`,
        };
      if (code === 'source_gap')
        return {
          kind: 'fix_then_retry',
          explanation:
            'the source has no history at this as-of: backfill the source history, or declare missingInputPolicy proceed for that input',
        };
      return {
        kind: 'repair_upstream',
        command: `arco rerun ${id} --from-failure`,
        explanation:
          'a required input partition is missing: check the upstream step manifests for this partition and run id, rerun the upstream step(s) for the same partition, then retry',
      };
    case 'CONTRACT_VIOLATION':
      return {
        kind: 'fix_then_retry',
        command: `arco rerun ${id} --from-failure`,
        explanation: `contract regression reaching ${root.taskKey} (schema drift / missing columns): inspect the upstream output schema in its manifest; do not retry blindly; fix and deploy, then rerun from the failure`,
      };
    case 'DATA_QUALITY':
      return {
        kind: 'fix_then_retry',
        command: `arco rerun ${id} --from-failure`,
        explanation: 'a blocking validation failed: fix the data or the check, then rerun',
      };
    case 'PERMISSION':
      return {
        kind: 'fix_then_retry',
        command: `arco retry ${id} --cause-fixed --reason "granted access"`,
        explanation:
          'the identity may not read or write the target: fix ownership/IAM (e.g. gcloud storage buckets add-iam-policy-binding gs://BUCKET --member=serviceAccount:SA --role=roles/storage.objectAdmin), then retry',
      };
    case 'CONFIGURATION':
      return {
        kind: 'fix_then_retry',
        explanation: 'bad parameters or definition: fix the definition or parameters, then start a new run',
      };
    case 'STALE_INPUT':
      return run.labels['arco.as_of_mode'] && run.labels['arco.as_of_mode'] !== 'now'
        ? {
            kind: 'fix_then_retry',
            command: `pipeline run${pipeline ? ` --pipeline ${pipeline}` : ''} --start ${day} --end ${day} --as-of-mode pretip`,
            explanation:
              'the run used data too old (or newer than) its as-of: re-run with the as-of mode you meant, or backfill the source history',
          }
        : {
            kind: 'new_run',
            command: `pipeline run${pipeline ? ` --pipeline ${pipeline}` : ''} --start ${day} --end ${day}`,
            explanation: 'a live run read stale data: refresh the upstream, then start a new run for the day',
          };
    case 'SERVICE_CONFLICT':
      return {
        kind: 'fix_then_retry',
        explanation:
          'two services or triggers compete for one resource (a port in use, a duplicate trigger): remove the duplicate service or trigger; data correctness is not affected, visibility is',
      };
    case 'POINTER_CONFLICT':
      return {
        kind: 'none',
        explanation:
          'another promotion moved the pointer first: no action if the newer promotion is right, otherwise arco pointer promote … --expected-sequence N',
      };
    default:
      return {
        kind: 'fix_then_retry',
        command: `arco retry ${id} --cause-fixed --reason "…"`,
        explanation: `unknown error: investigate (arco logs ${id} --task ${root.taskKey}); after a fix retry in place with --cause-fixed`,
      };
  }
}

export function triageRun(
  run: RunRow,
  tasks: TaskRow[],
  sideEffects: (assetKey: string) => string = () => 'run_scoped',
): TriageVerdict {
  const state = publicRunState(run);
  const base = {
    runId: run.runId,
    ...(run.labels['arco.pipeline'] ? { pipeline: run.labels['arco.pipeline'] } : {}),
    ...(run.labels['arco.partition'] ? { partition: run.labels['arco.partition'] } : {}),
    state,
    evidence: [],
    doNot: [NEVER_DELETE],
    otherFailures: [],
    skipped: [],
  };
  if (state === 'SUCCEEDED')
    return { ...base, verdict: 'no_failure', proposal: { kind: 'none', explanation: 'the run succeeded' } };
  if (state === 'CANCELLED')
    return {
      ...base,
      verdict: 'cancelled',
      proposal: {
        category: 'B',
        kind: 'new_run',
        explanation: 'an operator cancelled the run: start a new run if it is still wanted',
      },
    };
  if (state !== 'FAILED')
    return {
      ...base,
      verdict: 'in_progress',
      waiting: tasks
        .filter((t) => t.state === 'RETRY_WAIT')
        .map((t) => ({
          taskKey: t.taskKey,
          attempt: t.attempt,
          maxAttempts: t.maxAttempts,
          ...(t.lastFailure?.failureClass ? { failureClass: t.lastFailure.failureClass } : {}),
          ...(t.retryNotBefore ? { nextAttemptAt: t.retryNotBefore } : {}),
        })),
      proposal: { kind: 'wait', explanation: 'the run is still going; tasks waiting to retry are listed' },
    };
  const failed = tasks
    .filter((t) => t.state === 'FAILED')
    .sort(
      (a, b) =>
        String(a.completedAt).localeCompare(String(b.completedAt)) || a.taskKey.localeCompare(b.taskKey),
    );
  const root = failed[0]!;
  const failure = root.lastFailure ?? { retryable: false, attempt: root.attempt };
  const failureClass = failure.failureClass ?? 'UNKNOWN';
  const category = failure.retryCategory ?? 'C';
  const day = run.labels['arco.partition']?.split(':').pop();
  let action = actionFor(failureClass, failure.code, run, root, run.labels['arco.pipeline'], day);
  // Step 5: a publishing step keeps its failed run intact, so an in-place retry becomes a new run.
  if (
    category !== 'C' &&
    sideEffects(root.assetKey ?? root.taskKey) === 'publishes' &&
    action.kind === 'retry_in_place'
  )
    action = {
      kind: 'new_run',
      command: `arco rerun ${run.runId} --from-failure`,
      explanation: `${action.explanation}; the step publishes outside its run, so keep the failed run intact and rerun`,
    };
  const assetKey = root.assetKey ?? root.taskKey;
  return {
    ...base,
    verdict: 'actionable',
    root: {
      taskKey: root.taskKey,
      attempt: root.attempt,
      maxAttempts: root.maxAttempts,
      retries: Math.max(0, root.attempt - 1),
      failureClass,
      ...(failure.code ? { failureCode: failure.code } : {}),
      ...(failure.signature ? { signature: failure.signature } : {}),
      retryCategory: category,
      message: failure.message ?? root.errorMessage ?? '',
      manifestPath: stepManifestPath(assetKey, root.partitionKey, run.runId),
    },
    evidence: [
      {
        check: 'attempts',
        result: `${root.attempt} of ${root.maxAttempts}`,
        detail: failure.retryable
          ? 'automatic retries used up'
          : 'not retried automatically (class is not transient)',
      },
      {
        check: 'classification',
        result: failureClass,
        detail: failure.signature
          ? `matched signature ${failure.signature}`
          : `reported as ${failure.errorCategory ?? 'unknown category'}`,
      },
      { check: 'message', result: 'last error', detail: failure.message ?? root.errorMessage ?? '' },
    ],
    proposal: { category, ...action },
    doNot: [...(category === 'C' ? ['do not retry blindly: fix the cause first'] : []), NEVER_DELETE],
    otherFailures: failed.slice(1).map((t) => ({
      taskKey: t.taskKey,
      ...(t.lastFailure?.failureClass ? { failureClass: t.lastFailure.failureClass } : {}),
    })),
    skipped: tasks.filter((t) => publicTaskState(t) === 'SKIPPED').map((t) => ({ taskKey: t.taskKey })),
  };
}
