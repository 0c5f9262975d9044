import type { Command } from 'commander';
import { apiCall, JSON_ALWAYS, JSON_FLAG, printJson, printTable, workspacePath } from './apiCall.ts';

/** `arco runs …`, `arco rerun`, `arco cancel` and `arco manifests …`: runs and their step manifests. */
export function registerRunCommands(program: Command) {
  const runs = program.command('runs').description('Runs of the workspace');
  runs
    .command('ls')
    .description('Runs, newest first')
    .option('--state <state>', 'PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLING, CANCELLED')
    .option('--pipeline <name>', 'only this pipeline’s runs')
    .option(
      '--partition <key>',
      'only runs of this partition: 2026-11-30, date=2026-11-30 or date=…|region=eu',
    )
    .option('--limit <n>', '1–200', '20')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const params = new URLSearchParams({
        limit: o.limit,
        ...(o.state ? { state: o.state } : {}),
        ...(o.pipeline ? { pipeline: o.pipeline } : {}),
        ...(o.partition ? { partitionKey: o.partition } : {}),
      });
      const { runs: items } = await apiCall<{ runs: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/runs?${params}`,
      );
      printTable(items, ['runId', 'state', 'createdAt', 'completedAt', 'taskCount', 'tasksFailed'], o.json);
    });
  runs
    .command('show <runId>')
    .description('A run and its tasks: state, attempts, failure class and retry category, lineage')
    .option('--json', 'print JSON', false)
    .action(async (runId: string, o) => {
      const run = await apiCall<{ state: string; tasks: Array<Record<string, unknown>> }>(
        'GET',
        `${await workspacePath()}/runs/${runId}`,
      );
      if (o.json) return void process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      process.stdout.write(`run ${runId}: ${run.state}\n`);
      printTable(
        run.tasks,
        [
          'taskKey',
          'state',
          'attempt',
          'failureClass',
          'retryCategory',
          'errorMessage',
          'deltaTable',
          'deltaVersion',
        ],
        false,
      );
    });
  program
    .command('rerun <runId>')
    .description('Start a new run from a failed one (category B): only the failed steps and what they feed')
    // What triage and the retry refusal print; rerunning from the failure is the only mode of this command.
    .option('--from-failure', 'rerun from the failure (the default, accepted as triage prints it)')
    .option(...JSON_FLAG)
    .action(async (runId: string, o) => {
      const rerun = await apiCall<{ runId: string; created?: boolean }>(
        'POST',
        `${await workspacePath()}/runs/${runId}/rerun`,
        { mode: 'fromFailure' },
      );
      if (o.json) printJson(rerun);
      // The API answers 200 `created: false` with the rerun an earlier identical request started.
      else if (rerun.created === false)
        process.stdout.write(`run ${rerun.runId} (rerun of ${runId}, started earlier)\n`);
      else process.stdout.write(`new run ${rerun.runId} (rerun of ${runId})\n`);
    });
  program
    .command('retry <runId>')
    .description('Retry failed tasks in place (same run id): category A freely, C only with --cause-fixed')
    .option(
      '--task <key>',
      'a failed task to retry (repeatable; default: every failed task)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--cause-fixed', 'you fixed the cause of a category C failure', false)
    .option('--reason <text>', 'what was fixed (required with --cause-fixed)')
    .option(...JSON_FLAG)
    .action(async (runId: string, o) => {
      const answer = await apiCall<{ state: string; retriedTaskKeys: string[] }>(
        'POST',
        `${await workspacePath()}/runs/${runId}/retry`,
        {
          ...(o.task ? { taskKeys: o.task } : {}),
          ...(o.causeFixed ? { causeFixed: true } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        },
      );
      if (o.json) printJson(answer);
      else
        process.stdout.write(
          `run ${runId}: ${answer.state}; retrying ${answer.retriedTaskKeys.join(', ')}\n`,
        );
    });
  program
    .command('cancel <runId>')
    .description('Ask a run to stop (workers see it on their next heartbeat)')
    .option('--reason <text>', 'why')
    .option(...JSON_FLAG)
    .action(async (runId: string, o) => {
      const answer = await apiCall<{ state: string }>(
        'POST',
        `${await workspacePath()}/runs/${runId}/cancel`,
        o.reason ? { reason: o.reason } : {},
      );
      if (o.json) printJson(answer);
      else process.stdout.write(`run ${runId}: ${answer.state}\n`);
    });

  const manifests = program
    .command('manifests')
    .description('Per-step run manifests (written by the platform, immutable)');
  manifests
    .command('ls')
    .description('The step manifests of a run, and which are still missing')
    .requiredOption('--run <runId>', 'run id')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const answer = await apiCall<{ manifests: Array<Record<string, unknown>>; missing: string[] }>(
        'GET',
        `${await workspacePath()}/runs/${o.run}/manifests`,
      );
      printTable(answer.manifests, ['taskKey', 'state', 'manifestState', 'status', 'manifestPath'], o.json);
      if (!o.json && answer.missing.length) process.stdout.write(`missing: ${answer.missing.join(', ')}\n`);
    });
  manifests
    .command('get')
    .description('Print one step (or attempt) manifest')
    .requiredOption('--asset <key>', 'asset key')
    .option(
      '--partition <key>',
      'the partition: 2026-11-30, date=2026-11-30 or date=…|region=eu (omit for an unpartitioned asset)',
    )
    .requiredOption('--run <runId>', 'run id')
    .option('--attempt <n>', 'an attempt manifest instead of the step’s')
    .option(...JSON_ALWAYS)
    .action(async (o) => {
      const params = new URLSearchParams({
        assetKey: o.asset,
        ...(o.partition ? { partitionKey: o.partition } : {}),
        runId: o.run,
        ...(o.attempt ? { attempt: o.attempt } : {}),
      });
      printJson(await apiCall('GET', `${await workspacePath()}/manifests/step?${params}`));
    });
}
