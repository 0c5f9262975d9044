import type { Command } from 'commander';
import { apiCall, CliError, JSON_ALWAYS, printTable, workspacePath } from './apiCall.ts';
import { readJsonFile } from './localFile.ts';

const json = (value: unknown) => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** `arco schedules|sensors|backfills|partitions …`: the automation API from the command line. */
export function registerAutomationCommands(program: Command) {
  const schedules = program.command('schedules').description('Cron schedules and their ticks');
  schedules
    .command('ls')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const { schedules: items } = await apiCall<{ schedules: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/schedules?limit=200`,
      );
      printTable(
        items,
        ['scheduleId', 'cronExpression', 'timezone', 'enabled', 'assetSelection', 'lastScheduledFor'],
        o.json,
      );
    });
  schedules
    .command('ticks <scheduleId>')
    .description('Recent ticks, newest first (skipped and failed ones with their reason)')
    .option('--status <status>', 'TRIGGERED, SKIPPED or FAILED')
    .option('--json', 'print JSON', false)
    .action(async (id: string, o) => {
      const { ticks } = await apiCall<{ ticks: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/schedules/${id}/ticks${o.status ? `?status=${o.status}` : ''}`,
      );
      printTable(ticks, ['scheduledFor', 'status', 'runId', 'skipReason', 'errorMessage'], o.json);
    });
  for (const action of ['enable', 'disable'] as const)
    schedules
      .command(`${action} <scheduleId>`)
      .description(
        `${action === 'enable' ? 'Resume' : 'Pause'} a schedule (paused ticks are recorded as skipped, never replayed)`,
      )
      .option(...JSON_ALWAYS)
      .action(async (id: string) =>
        json(await apiCall('POST', `${await workspacePath()}/schedules/${id}/${action}`, {})),
      );
  schedules
    .command('put <scheduleId>')
    .description('Create or change a schedule')
    .requiredOption('--cron <expression>', '5 fields, or 6 with seconds first')
    .requiredOption('--assets <keys>', 'comma-separated asset keys')
    .option('--timezone <zone>', 'IANA time zone', 'UTC')
    .option('--catchup-minutes <n>', 'catch-up window (0 = 24 h)', Number, 0)
    .option('--max-catchup <n>', 'ticks per evaluation', Number, 1)
    .option('--partition-from-tick <dimension>', 'run the tick’s day of this daily dimension')
    .option(...JSON_ALWAYS)
    .action(async (id: string, o) =>
      json(
        await apiCall('PUT', `${await workspacePath()}/schedules/${id}`, {
          cronExpression: o.cron,
          timezone: o.timezone,
          assetSelection: String(o.assets).split(','),
          catchupWindowMinutes: o.catchupMinutes,
          maxCatchupTicks: o.maxCatchup,
          ...(o.partitionFromTick ? { partitionFromTick: o.partitionFromTick } : {}),
        }),
      ),
    );

  const sensors = program
    .command('sensors')
    .description('Sensors declared in the manifest, and their evaluations');
  sensors
    .command('ls')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const { sensors: items } = await apiCall<{ sensors: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/sensors`,
      );
      printTable(items, ['sensorId', 'kind', 'status', 'cursor', 'lastEvaluationAt', 'stateVersion'], o.json);
    });
  sensors
    .command('evals <sensorId>')
    .option('--status <status>', 'TRIGGERED, NO_NEW_DATA, ERROR or SKIPPED_STALE_CURSOR')
    .option('--json', 'print JSON', false)
    .action(async (id: string, o) => {
      const { evals } = await apiCall<{ evals: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/sensors/${id}/evals${o.status ? `?status=${o.status}` : ''}`,
      );
      printTable(evals, ['evaluatedAt', 'evalId', 'status', 'runRequestsCount', 'errorMessage'], o.json);
    });
  sensors
    .command('evaluate <sensorId>')
    .description('Evaluate a sensor on a message now (the same evaluator a Pub/Sub delivery uses)')
    .option('--message-id <id>', 'deduplicates: the same id never triggers twice')
    .option(
      '--attribute <key=value>',
      'a message attribute (repeatable)',
      (v: string, p: Record<string, string> = {}) => ({
        ...p,
        [v.split('=')[0]!]: v.slice(v.indexOf('=') + 1),
      }),
    )
    .option(...JSON_ALWAYS)
    .action(async (id: string, o) =>
      json(
        await apiCall('POST', `${await workspacePath()}/sensors/${id}/evaluate`, {
          ...(o.messageId ? { messageId: o.messageId } : {}),
          ...(o.attribute ? { attributes: o.attribute } : {}),
        }),
      ),
    );

  const backfills = program
    .command('backfills')
    .description('Orchestration backfills of one asset over partitions');
  backfills
    .command('create')
    .description('A backfill over the days --start..--end, or over the partitions named by --partition')
    .requiredOption('--asset <key>', 'the asset to backfill')
    .option('--start <date>', 'first day, YYYY-MM-DD')
    .option('--end <date>', 'last day, YYYY-MM-DD')
    .option(
      '--partition <key>',
      'a partition instead of a range (repeatable): 2026-11-30, region=us east, date=…|region=eu',
      (v: string, p: string[] = []) => [...p, v],
    )
    .requiredOption('--key <clientRequestId>', 'idempotency key: the same key replays, never duplicates')
    .option('--chunk-size <n>', 'partitions per run', Number, 10)
    .option('--max-concurrent <n>', 'runs at once', Number, 2)
    .option(...JSON_ALWAYS)
    .action(async (o) => {
      if (!o.partition && !(o.start && o.end))
        throw new CliError('give --start and --end, or --partition (repeatable)');
      json(
        await apiCall('POST', `${await workspacePath()}/backfills`, {
          assetSelection: [o.asset],
          partitionSelector: o.partition
            ? { type: 'explicit', partitions: o.partition }
            : { type: 'range', start: o.start, end: o.end },
          chunkSize: o.chunkSize,
          maxConcurrentRuns: o.maxConcurrent,
          clientRequestId: o.key,
        }),
      );
    });
  backfills
    .command('ls')
    .option('--state <state>', 'RUNNING, PAUSED, CANCELING, SUCCEEDED, FAILED or CANCELED')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const { backfills: items } = await apiCall<{ backfills: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/backfills${o.state ? `?state=${o.state}` : ''}`,
      );
      printTable(items, ['backfillId', 'state', 'assetSelection', 'chunkCounts', 'createdAt'], o.json);
    });
  backfills
    .command('show <backfillId>')
    .option(...JSON_ALWAYS)
    .action(async (id: string) => json(await apiCall('GET', `${await workspacePath()}/backfills/${id}`)));
  for (const action of ['pause', 'resume', 'cancel'] as const)
    backfills
      .command(`${action} <backfillId>`)
      .option(...JSON_ALWAYS)
      .action(async (id: string) =>
        json(await apiCall('POST', `${await workspacePath()}/backfills/${id}/${action}`, {})),
      );
  backfills
    .command('retry-failed <backfillId>')
    .description('A new backfill over exactly the failed partitions of a FAILED one')
    .requiredOption('--key <retryRequestId>', 'idempotency key of the retry')
    .option(...JSON_ALWAYS)
    .action(async (id: string, o) =>
      json(
        await apiCall('POST', `${await workspacePath()}/backfills/${id}/retry-failed`, {
          retryRequestId: o.key,
        }),
      ),
    );

  program
    .command('partitions')
    .description('Partition status with lineage to the Delta version that materialised it')
    .option('--asset <key>', 'one asset')
    .option('--partition <key>', 'only this partition: 2026-11-30, date=2026-11-30 or date=…|region=eu')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const params = new URLSearchParams({
        limit: '200',
        ...(o.asset ? { assetKey: o.asset } : {}),
        ...(o.partition ? { partitionKey: o.partition } : {}),
      });
      const { partitions } = await apiCall<{ partitions: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/partitions?${params}`,
      );
      printTable(
        partitions,
        [
          'assetKey',
          'partitionKey',
          'lastAttemptOutcome',
          'lastMaterializationRunId',
          'deltaTable',
          'deltaVersion',
          'isStale',
        ],
        o.json,
      );
    });

  program
    .command('deploy <manifest.json>')
    .description('Deploy a code-location manifest (assets, schedules, sensors, pipelines)')
    .option(...JSON_ALWAYS)
    .action(async (file: string) => {
      const manifest = readJsonFile(file, 'manifest file');
      json(await apiCall('POST', `${await workspacePath()}/manifests`, manifest));
    });
}
