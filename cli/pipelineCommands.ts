import { type Command, InvalidArgumentError, Option } from 'commander';
import { dayArgument } from './dayArgument.ts';
import type { summaryOf } from '../shared/orchestration/pipeline/pipelineBackfills.ts';
import { apiCall, CliExit, JSON_ALWAYS, JSON_FLAG, printJson, workspacePath } from './apiCall.ts';

interface Row {
  partition: string;
  status: string;
  action: string;
  runId?: string;
  durationMs?: number;
  failureClass?: string;
  retryCategory?: string;
  message?: string;
}

/** What `GET …/pipeline-backfills/{id}` answers: the live form of summary.json. */
type Summary = Omit<ReturnType<typeof summaryOf>, 'partitions'> & { partitions: Row[] };

const intIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`use an integer from ${min} to ${max}`);
  return n;
};
const param = (value: string, previous: Record<string, string> = {}) => {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('use key=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
};

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];
const FINAL_ROW = ['succeeded', 'failed', 'skipped_succeeded', 'skipped_no_event', 'held', 'cancelled'];

function elapsed(ms: number) {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One redrawn line on a terminal (spec §4.7): the bar, counts, and time. */
export function progressLine(summary: Summary, startedAt: number, width = 24): string {
  const c = summary.counts;
  const done = summary.partitions.filter((p) => FINAL_ROW.includes(p.status)).length;
  const filled = Math.round((done / Math.max(1, c.total!)) * width);
  return `${summary.pipeline} ${summary.range.start}..${summary.range.end} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${c.total}  ok ${c.succeeded}  skip ${c.skippedSucceeded! + c.skippedNoEvent!}  fail ${c.failed}  held ${c.held}  run ${c.running}  ${elapsed(Date.now() - startedAt)}`;
}

function printEnd(summary: Summary, ws: string) {
  const c = summary.counts;
  process.stdout.write(
    `\n${summary.state}: ${c.succeeded} succeeded, ${c.skippedSucceeded} already succeeded, ${c.failed} failed, ${c.held} held of ${c.total}\n`,
  );
  for (const g of summary.errorGroups.slice(0, 5))
    process.stdout.write(
      `  ${g.count}× ${g.failureClass} (category ${g.retryCategory}) ${g.partitions.join(', ')}: ${g.sampleMessage}\n`,
    );
  process.stdout.write(
    `summary: ${ws}/pipeline-backfills/${summary.backfillId}/summary (manifests/backfills/${summary.backfillId}/summary.json)\n`,
  );
  if (summary.nextCommand) process.stdout.write(`next: ${summary.nextCommand}\n`);
}

/**
 * Follows a pipeline backfill until it ends (spec §4.7): a live bar on a terminal, one line per partition
 * change otherwise; Ctrl-C detaches (the backfill continues) and exits 130.
 */
async function follow(ws: string, backfillId: string, json: boolean): Promise<number> {
  const started = Date.now();
  const tty = process.stdout.isTTY && !json;
  let detached = false;
  const onInterrupt = () => {
    detached = true;
  };
  process.once('SIGINT', onInterrupt);
  const seen = new Map<string, string>();
  let delay = 2000;
  try {
    for (;;) {
      const summary = await apiCall<Summary>('GET', `${ws}/pipeline-backfills/${backfillId}`);
      if (tty) process.stdout.write(`\r\x1b[2K${progressLine(summary, started)}`);
      else if (!json)
        for (const row of summary.partitions)
          if (seen.get(row.partition) !== row.status) {
            seen.set(row.partition, row.status);
            if (row.status !== 'pending')
              process.stdout.write(
                `${row.partition} ${row.status}${row.runId ? ` run=${row.runId}` : ''}${row.durationMs ? ` ${(row.durationMs / 1000).toFixed(1)}s` : ''}${row.failureClass ? ` ${row.failureClass}/${row.retryCategory}: ${row.message}` : ''}\n`,
              );
          }
      if (TERMINAL.includes(summary.state)) {
        if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else printEnd(summary, ws);
        return summary.counts.failed || summary.counts.held ? 2 : 0;
      }
      if (detached) {
        process.stdout.write(
          `\ndetached; backfill ${backfillId} continues.\nwatch:  arco pipeline backfill watch ${backfillId}\nresume: pipeline run --pipeline ${summary.pipeline} --start ${summary.range.start} --end ${summary.range.end} --resume\n`,
        );
        return 130;
      }
      const slept = Date.now();
      while (!detached && Date.now() - slept < delay) await new Promise((r) => setTimeout(r, 100));
      delay = Math.min(10_000, delay + 1000);
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** `arco pipeline …` (and the `pipeline` executable): daily pipelines over date ranges (spec §4). */
export function registerPipelineCommands(program: Command) {
  const pipeline = program
    .command('pipeline')
    .description('Run daily pipelines over date ranges, resume them, follow backfills');
  pipeline
    .command('run')
    .description(
      'Run the pipeline for every day from --start to --end (one run per day, at most --max-parallel at once)',
    )
    .requiredOption('--start <date>', 'first day, YYYY-MM-DD (or today/yesterday)', dayArgument)
    .requiredOption('--end <date>', 'last day, inclusive', dayArgument)
    .addOption(
      new Option('--pipeline <name>', 'pipeline name (default: the workspace’s default pipeline)').env(
        'ARCO_PIPELINE',
      ),
    )
    .addOption(
      new Option('--as-of-mode <mode>', 'what each day may know').choices([
        'now',
        'pretip',
        'lock',
        'custom',
      ]),
    )
    .option('--as-of-ts <rfc3339>', 'the as-of time for --as-of-mode custom')
    .option('--max-parallel <n>', 'runs (days) active at once, 1–64', intIn(1, 64))
    .option('--resume', 'skip days whose step manifests show success; rerun only what did not succeed', false)
    .option('--no-resume', 'always start new runs (the default)')
    .option('--force', 'with --resume: ignore manifests and run every day again', false)
    .option(
      '--retry-held',
      'with --resume: also retry days held for category C failures (the cause is fixed)',
      false,
    )
    .option('--dry-run', 'print the plan and create nothing', false)
    .option('--steps <keys>', 'comma-separated subset of the pipeline’s assets (or a namespace prefix)')
    .option('--param <key=value>', 'a run parameter (repeatable)', param)
    .option('--detach', 'create the runs and exit after printing the backfill id', false)
    .option('--json', 'machine output: the final summary (or the plan with --dry-run)', false)
    .action(async (o) => {
      const ws = await workspacePath();
      const body = {
        start: o.start,
        end: o.end,
        ...(o.asOfMode ? { asOfMode: o.asOfMode } : {}),
        ...(o.asOfTs ? { asOfTs: o.asOfTs } : {}),
        ...(o.maxParallel ? { maxParallel: o.maxParallel } : {}),
        resume: Boolean(o.resume),
        force: Boolean(o.force),
        retryHeld: Boolean(o.retryHeld),
        dryRun: Boolean(o.dryRun),
        ...(o.steps
          ? {
              steps: String(o.steps)
                .split(',')
                .map((s: string) => s.trim()),
            }
          : {}),
        ...(o.param ? { params: o.param } : {}),
      };
      const answer = await apiCall<{
        backfillId?: string;
        plan: { partitions?: Row[]; counts: Record<string, unknown> };
      }>('POST', `${ws}/pipelines/${encodeURIComponent(o.pipeline ?? '_default')}/runs`, body);
      if (o.dryRun) {
        if (o.json) process.stdout.write(`${JSON.stringify(answer.plan, null, 2)}\n`);
        else {
          for (const p of answer.plan.partitions ?? [])
            process.stdout.write(
              `${p.partition}  ${p.action}${p.message ? `  (${p.failureClass}: ${p.message})` : ''}\n`,
            );
          process.stdout.write(`${JSON.stringify((answer.plan.counts as { byAction: unknown }).byAction)}\n`);
        }
        return;
      }
      if (!o.json) process.stdout.write(`backfill ${answer.backfillId} started\n`);
      if (o.detach) return;
      throw new CliExit(await follow(ws, answer.backfillId!, o.json));
    });

  const backfill = pipeline.command('backfill').description('Inspect a pipeline backfill');
  backfill
    .command('status <backfillId>')
    .description('Counts and per-day rows of a backfill, as they are now')
    .option('--json', 'print JSON', false)
    .action(async (id: string, o) => {
      const ws = await workspacePath();
      const summary = await apiCall<Summary>('GET', `${ws}/pipeline-backfills/${id}`);
      if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        process.stdout.write(`${progressLine(summary, Date.now())}\n`);
        for (const p of summary.partitions)
          process.stdout.write(
            `${p.partition}  ${p.status}${p.runId ? `  run=${p.runId}` : ''}${p.failureClass ? `  ${p.failureClass}/${p.retryCategory}` : ''}\n`,
          );
      }
    });
  backfill
    .command('watch <backfillId>')
    .description('Follow a backfill until it ends (Ctrl-C detaches again)')
    .option('--json', 'print only the final summary, as JSON', false)
    .action(async (id: string, o) => {
      throw new CliExit(await follow(await workspacePath(), id, o.json));
    });
  backfill
    .command('summary <backfillId>')
    .description('Print the stored summary.json of a finished backfill')
    .option(...JSON_ALWAYS)
    .action(async (id: string) => {
      const ws = await workspacePath();
      printJson(await apiCall('GET', `${ws}/pipeline-backfills/${id}/summary`));
    });
  backfill
    .command('cancel <backfillId>')
    .description(
      'Start no more runs: the backfill is CANCELING until the runs already going finish, then CANCELED',
    )
    .option('--reason <text>', 'why')
    .option(...JSON_FLAG)
    .action(async (id: string, o) => {
      const ws = await workspacePath();
      const summary = await apiCall<Summary>(
        'POST',
        `${ws}/pipeline-backfills/${id}/cancel`,
        o.reason ? { reason: o.reason } : {},
      );
      if (o.json) return printJson(summary);
      process.stdout.write(
        `${id}: ${summary.state}; ${summary.counts.running} run(s) still finishing, ${summary.counts.cancelled} day(s) will not run\n`,
      );
    });
  pipeline
    .command('backfills')
    .description('List pipeline backfills, newest first')
    .option('--state <state>', 'RUNNING, CANCELING, SUCCEEDED, FAILED or CANCELED')
    .option(...JSON_FLAG)
    .action(async (o) => {
      const ws = await workspacePath();
      const { backfills } = await apiCall<{ backfills: Summary[] }>(
        'GET',
        `${ws}/pipeline-backfills${o.state ? `?state=${o.state}` : ''}`,
      );
      if (o.json) return printJson(backfills);
      for (const b of backfills)
        process.stdout.write(
          `${b.backfillId}  ${b.state}  ${b.pipeline} ${b.range.start}..${b.range.end}  ok ${b.counts.succeeded} fail ${b.counts.failed} held ${b.counts.held}\n`,
        );
      // An empty list is an answer, not an error (exit 1 is for usage and API errors).
      if (!backfills.length) process.stderr.write('no pipeline backfills yet\n');
    });
}
