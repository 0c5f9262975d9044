import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { uuidv7FromName } from '../../shared/core/uuid.ts';
import { appendCommit } from '../../shared/delta/deltaAppender.ts';
import { deltaSchemaString, writeDataFile } from '../../shared/delta/deltaDataFiles.ts';
import { DeltaCommitError, type DeltaErrorReason } from '../../shared/delta/deltaCommitCoordinator.ts';
import { deltaServices } from '../../shared/delta/deltaServices.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { CallbackRefused, postCallback } from './callbackClient.ts';
import { DEMO_COLUMNS, demoRows, partitionValuesOf } from './demoMaterializer.ts';
import type { DispatchEnvelope } from './dispatchEnvelope.ts';

interface InjectedFailure {
  category?: string;
  failureClass?: string;
  code?: string;
  message?: string;
  retryable?: boolean;
}

export interface WorkerOutcome {
  outcome: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: Record<string, unknown>;
}

/**
 * The example worker: materialises a demo asset into a Delta table named after the asset (Parquet data
 * file + `add` through the commit coordinator) and reports the version it wrote. The idempotency key
 * and file names derive from the attempt, so a redelivered dispatch lands on the same version.
 * `payload.failUntilAttempt` / `payload.failWith` make it fail on purpose, for demos and tests.
 */
export async function runDispatch(deps: Dependencies, envelope: DispatchEnvelope): Promise<WorkerOutcome> {
  const workerId = `example-worker-${process.pid}`;
  try {
    await postCallback(envelope, 'started', { workerId });
  } catch (error) {
    if (error instanceof CallbackRefused) return { outcome: 'ABORTED' };
    throw error;
  }
  // Days listed in `failPartitions` fail on every attempt; days in `transientPartitions` fail the first
  // attempt with a DNS error, as a flaky upstream would (tests and demos of retries and backfills).
  const inList = (list: unknown) =>
    envelope.partitionKey !== undefined &&
    ((list as string[] | undefined) ?? []).some((p) => envelope.partitionKey!.endsWith(p));
  if (inList(envelope.payload.transientPartitions) && envelope.attempt === 1) {
    await postCallback(envelope, 'completed', {
      workerId,
      outcome: 'FAILED',
      error: {
        category: 'INFRASTRUCTURE',
        message: 'Temporary failure in name resolution (feeds.example.com)',
      },
    }).catch(() => undefined);
    return { outcome: 'FAILED' };
  }
  const failUntil = inList(envelope.payload.failPartitions)
    ? Number.MAX_SAFE_INTEGER
    : Number(envelope.payload.failUntilAttempt ?? 0);
  const finish = (body: Record<string, unknown>) =>
    postCallback(envelope, 'completed', { workerId, ...body }).catch((error: unknown) => {
      if (!(error instanceof CallbackRefused)) throw error;
    });
  if (envelope.attempt <= failUntil) {
    const failure = (envelope.payload.failWith ?? {}) as InjectedFailure;
    const error = {
      category: failure.category ?? 'INFRASTRUCTURE',
      message: failure.message ?? `injected failure on attempt ${envelope.attempt}`,
      ...(failure.failureClass ? { failureClass: failure.failureClass } : {}),
      ...(failure.code ? { code: failure.code } : {}),
      ...(failure.retryable !== undefined ? { retryable: failure.retryable } : {}),
    };
    await finish({ outcome: 'FAILED', error });
    return { outcome: 'FAILED' };
  }

  let output: Record<string, unknown>;
  try {
    output = await materialize(deps, envelope, inList);
  } catch (error) {
    // A refusal (the table exists with another definition, partition values that do not fit it) will
    // not get better on redelivery: report the attempt failed instead of failing the delivery forever.
    if (!(error instanceof DeltaCommitError) || !PERMANENT.has(error.reason)) throw error;
    await finish({ outcome: 'FAILED', error: { category: 'CONFIGURATION', message: error.message } });
    return { outcome: 'FAILED' };
  }
  await finish({ outcome: 'SUCCEEDED', output });
  return { outcome: 'SUCCEEDED', output };
}

/**
 * Refusals of the Delta coordinator that a redelivery would meet again; races (a taken log version,
 * contention on the coordinator, a stale read version) are retried by redelivery instead.
 */
const PERMANENT: ReadonlySet<DeltaErrorReason> = new Set([
  'table_exists',
  'invalid_location',
  'location_in_use',
  'invalid_table_definition',
  'invalid_partition_values',
  'invalid_payload',
]);

/** Writes the demo rows of the dispatch's asset and partition and commits them; returns the task output. */
async function materialize(
  deps: Dependencies,
  envelope: DispatchEnvelope,
  inList: (list: unknown) => boolean,
): Promise<Record<string, unknown>> {
  const scope = { tenant: envelope.tenantId, workspace: envelope.workspaceId };
  const { tables, coordinator } = deltaServices(deps, scope);
  const objects = scopedObjectStore(deps.objects, scope);
  const partitionValues = partitionValuesOf(envelope.partitionKey);
  const partitionColumns = Object.keys(partitionValues);
  const columns = [...DEMO_COLUMNS, ...partitionColumns.map((name) => ({ name, type: 'string' as const }))];
  const { table } = await tables.create({
    name: envelope.assetKey ?? envelope.taskKey,
    partition_columns: partitionColumns,
    schema_string: deltaSchemaString(columns),
  });
  const key = uuidv7FromName(`worker-commit:${envelope.attemptId}`);
  const rows = demoRows(envelope.assetKey ?? envelope.taskKey, envelope.partitionKey, envelope.runId).map(
    (r) => ({
      ...r,
      ...partitionValues,
    }),
  );
  const add = await writeDataFile(
    objects,
    table.root,
    columns,
    rows,
    partitionValues,
    envelope.attemptId,
    deps.clock.now().getTime(),
  );
  const actions = [
    { add },
    {
      commitInfo: {
        timestamp: deps.clock.now().getTime(),
        operation: 'WRITE',
        operationParameters: { runId: envelope.runId, attemptId: envelope.attemptId },
        engineInfo: 'arco-example-worker',
      },
    },
  ];
  const committed = await appendCommit(
    objects,
    coordinator,
    table,
    key,
    actions.map((a) => JSON.stringify(a)).join('\n'),
  );
  return {
    materializationId: envelope.attemptId,
    deltaTable: table.name,
    deltaVersion: committed.version,
    ...(envelope.partitionKey ? { deltaPartition: envelope.partitionKey } : {}),
    rowCount: rows.length,
    manifest: {
      inputs: [],
      outputs: [
        {
          name: table.name,
          uri: committed.delta_log_path,
          deltaVersion: committed.version,
          deltaTable: table.name,
          rowCount: rows.length,
        },
      ],
      checks: [
        {
          name: 'row_count_positive',
          kind: 'row_count',
          status: 'pass',
          blocking: true,
          observed: rows.length,
        },
        // `payload.schemaViolationPartitions`: the output misses a contracted column on those days.
        ...(inList(envelope.payload.schemaViolationPartitions)
          ? [
              {
                name: 'output_schema',
                kind: 'schema',
                status: 'fail',
                blocking: true,
                observed: ['id', 'value'],
                expected: ['id', 'value', 'amount'],
                message: 'missing required columns [amount]',
              },
            ]
          : []),
      ],
    },
  };
}
