import { describe, expect, it } from 'vitest';
import type { RunRow, TaskRow } from '../../shared/orchestration/run/evolve.ts';
import { classifyFailure, retryCategory } from '../../shared/orchestration/run/failureClassification.ts';
import { triageRun } from '../../shared/orchestration/run/triage.ts';

const run = (labels: Record<string, string> = {}): RunRow =>
  ({
    runId: 'RUN1',
    state: 'FAILED',
    triggeredAt: '2026-11-23T05:00:00.000Z',
    completedAt: '2026-11-23T05:10:00.000Z',
    labels: { 'arco.pipeline': 'live', 'arco.partition': 'date=d:2026-11-23', ...labels },
  }) as unknown as RunRow;

/** A failed task as the platform records it: the worker's error, classified once at completion. */
function failedTask(
  message: string,
  extra: { category?: string; failureClass?: string } = {},
  asOfMode = 'now',
): TaskRow {
  const classification = classifyFailure({ message, ...extra });
  return {
    runId: 'RUN1',
    taskKey: 'demo.features',
    assetKey: 'demo.features',
    partitionKey: 'date=d:2026-11-23',
    state: 'FAILED',
    attempt: 3,
    maxAttempts: 3,
    completedAt: '2026-11-23T05:09:00.000Z',
    lastFailure: {
      attempt: 3,
      retryable: classification.retryable,
      message,
      failureClass: classification.failureClass,
      ...(classification.code ? { code: classification.code } : {}),
      ...(classification.signature ? { signature: classification.signature } : {}),
      retryCategory: retryCategory(classification, 'run_scoped', asOfMode),
    },
  } as unknown as TaskRow;
}

/** Runbook 003's triage flowchart and its list of failure signatures, one row each. */
const CASES: Array<[string, string, Record<string, string>, string, string, RegExp, string]> = [
  [
    'network/DNS',
    'Temporary failure in name resolution (feeds.example.com)',
    {},
    'TRANSIENT_NETWORK',
    'A',
    /check the endpoint answers, then retry/,
    'arco retry RUN1',
  ],
  ['TLS', 'SSL handshake timed out', {}, 'TRANSIENT_NETWORK', 'A', /backoff and jitter/, 'arco retry RUN1'],
  [
    'missing input',
    "FileNotFoundError: [Errno 2] No such file: 'features/date=2026-11-23'",
    {},
    'MISSING_INPUT',
    'A',
    /rerun the upstream step/,
    'arco rerun RUN1 --from-failure',
  ],
  [
    'run id mismatch',
    'Requested run=01J… missing under /data/features_minutes_v1/',
    {},
    'MISSING_INPUT',
    'C',
    /run id propagation defect/,
    'arco rerun RUN1 --from-failure',
  ],
  [
    'schema drift',
    'missing required columns [tenure_days]',
    {},
    'CONTRACT_VIOLATION',
    'C',
    /contract regression.*do not retry blindly/,
    'arco rerun RUN1 --from-failure',
  ],
  [
    'permission denied',
    'PermissionError: [Errno 13] Permission denied',
    {},
    'PERMISSION',
    'C',
    /fix ownership\/IAM/,
    'arco retry RUN1 --cause-fixed --reason "granted access"',
  ],
  [
    'port in use',
    'OSError: address already in use (0.0.0.0:8501)',
    {},
    'SERVICE_CONFLICT',
    'C',
    /remove the duplicate service or trigger/,
    '',
  ],
  [
    'stale input (fixed as-of)',
    'Roster snapshot is 30h old',
    { 'arco.as_of_mode': 'pretip' },
    'STALE_INPUT',
    'C',
    /re-run with the as-of mode you meant/,
    'pipeline run --pipeline live --start 2026-11-23 --end 2026-11-23 --as-of-mode pretip',
  ],
  [
    'stale input (live)',
    'Roster snapshot is 30h old',
    { 'arco.as_of_mode': 'now' },
    'STALE_INPUT',
    'B',
    /refresh the upstream/,
    'pipeline run --pipeline live --start 2026-11-23 --end 2026-11-23',
  ],
];

describe('arco triage walks runbook 003’s flowchart deterministically', () => {
  it.each(CASES)('%s', (_name, message, labels, failureClass, category, explanation, command) => {
    const task = failedTask(message, {}, labels['arco.as_of_mode'] ?? 'now');
    const verdict = triageRun(run(labels), [task]);
    expect(verdict).toMatchObject({ verdict: 'actionable', root: { failureClass, retryCategory: category } });
    expect(verdict.proposal.explanation).toMatch(explanation);
    expect(verdict.proposal.command ?? '').toBe(command);
    expect(verdict.doNot).toContain('do not delete or edit partitions or manifests to get unstuck');
    if (category === 'C') expect(verdict.doNot).toContain('do not retry blindly: fix the cause first');
    // Same input, same verdict.
    expect(triageRun(run(labels), [task])).toEqual(verdict);
  });

  it('turns an in-place retry into a new run for a step that publishes, and reports non-failures plainly', () => {
    const verdict = triageRun(run(), [failedTask('ECONNRESET')], () => 'publishes');
    expect(verdict.proposal).toMatchObject({ kind: 'new_run', command: 'arco rerun RUN1 --from-failure' });
    expect(triageRun({ ...run(), state: 'SUCCEEDED' } as RunRow, []).verdict).toBe('no_failure');
    expect(triageRun({ ...run(), state: 'RUNNING' } as RunRow, []).verdict).toBe('in_progress');
  });

  it('classifies in the spec’s order: worker class, platform class, signature, category, else UNKNOWN', () => {
    expect(classifyFailure({ failureClass: 'PERMISSION', message: 'ECONNRESET' }).failureClass).toBe(
      'PERMISSION',
    );
    expect(classifyFailure({ message: 'ECONNRESET' }, 'DATA_QUALITY').failureClass).toBe('DATA_QUALITY');
    expect(classifyFailure({ message: 'socket hang up' })).toMatchObject({
      failureClass: 'TRANSIENT_NETWORK',
      retryable: true,
      signature: 'connection',
    });
    expect(classifyFailure({ message: 'boom', category: 'CONFIGURATION' })).toMatchObject({
      failureClass: 'CONFIGURATION',
      retryable: false,
    });
    expect(classifyFailure({ message: 'boom' })).toMatchObject({ failureClass: 'UNKNOWN', retryable: true });
    expect(retryCategory({ failureClass: 'TRANSIENT_NETWORK' }, 'publishes')).toBe('B');
  });
});
