import type { Checklist } from '../shared/orchestration/pipeline/pipelineChecklist.ts';
import type { Command } from 'commander';
import { apiCall, CliError, CliExit, workspacePath } from './apiCall.ts';
import { dayArgument } from './dayArgument.ts';

interface Triage {
  runId: string;
  state: string;
  verdict: string;
  root?: {
    taskKey: string;
    attempt: number;
    maxAttempts: number;
    failureClass: string;
    failureCode?: string;
    signature?: string;
    retryCategory: string;
    message: string;
    manifestPath: string;
  };
  evidence: Array<{ check: string; result: string; detail: string }>;
  proposal: { category?: string; kind: string; command?: string; explanation: string };
  doNot: string[];
  otherFailures: Array<{ taskKey: string; failureClass?: string }>;
  skipped: Array<{ taskKey: string }>;
}

/** The on-call card of spec §7.1: what failed, why, the evidence, the one command, and what not to do. */
function printCard(t: Triage) {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`run ${t.runId}: ${t.state} — ${t.verdict}`);
  if (t.root) {
    out(`failed step: ${t.root.taskKey} (attempt ${t.root.attempt} of ${t.root.maxAttempts})`);
    out(
      `class: ${t.root.failureClass}${t.root.failureCode ? `/${t.root.failureCode}` : ''}  category: ${t.root.retryCategory}${t.root.signature ? `  signature: ${t.root.signature}` : ''}`,
    );
    out(`error: ${t.root.message}`);
    out(`manifest: ${t.root.manifestPath}`);
    out('evidence:');
    for (const e of t.evidence) out(`  - ${e.check}: ${e.result} — ${e.detail}`);
  }
  out(`action (${t.proposal.category ?? '-'}): ${t.proposal.explanation}`);
  if (t.proposal.command) out(`run: ${t.proposal.command}`);
  for (const d of t.doNot) out(`do not: ${d.replace(/^do not /, '')}`);
  if (t.otherFailures.length)
    out(`also failed: ${t.otherFailures.map((f) => `${f.taskKey} (${f.failureClass ?? '?'})`).join(', ')}`);
  if (t.skipped.length) out(`skipped downstream: ${t.skipped.map((s) => s.taskKey).join(', ')}`);
}

/** The day of a pipeline partition as the API shows it (plain, one dimension: `date=2026-12-01`). */
const dayOf = (partition: string) => partition.slice(partition.indexOf('=') + 1);

/** The command that starts a pipeline's run of one day (runbook 003), for the partition given. */
function startDayCommand(pipeline: string, partition: string): string {
  const day = dayOf(partition);
  return `npx pipeline run --pipeline ${pipeline} --start ${day} --end ${day}`;
}

async function newestRunOf(ws: string, pipeline: string, date: string): Promise<string> {
  const checklist = await apiCall<Checklist>(
    'GET',
    `${ws}/pipelines/${encodeURIComponent(pipeline)}/partitions/${date}/checklist`,
  );
  if (!checklist.latestRun.runId)
    throw new CliError(
      `no run of ${pipeline} for ${dayOf(checklist.partition)}: give a run id, or start the day's run with \`${startDayCommand(pipeline, checklist.partition)}\``,
    );
  return checklist.latestRun.runId;
}

async function defaultPipeline(ws: string, name?: string): Promise<string> {
  if (name) return name;
  const { pipelines } = await apiCall<{ pipelines: Array<{ name: string; default?: boolean }> }>(
    'GET',
    `${ws}/pipelines`,
  );
  const chosen = pipelines.find((p) => p.default) ?? (pipelines.length === 1 ? pipelines[0] : undefined);
  if (!chosen)
    throw new CliError(
      `name a pipeline with --pipeline: ${pipelines.map((p) => p.name).join(', ') || 'none deployed'}`,
    );
  return chosen.name;
}

/** `arco triage` and `arco status`: the runbook's flowchart and its two-minute checklist. */
export function registerTriageCommands(program: Command) {
  program
    .command('triage [runId]')
    .description('Walk the runbook’s triage flowchart for a failed run: class, evidence, the safe action')
    .option('--pipeline <name>', 'with --date: triage the newest run of that partition')
    .option('--date <date>', 'YYYY-MM-DD, today or yesterday', dayArgument)
    .option('--apply', 'perform the proposed retry or rerun when it is category A or B', false)
    .option('--json', 'print JSON', false)
    .action(async (runId: string | undefined, o) => {
      const ws = await workspacePath();
      const id =
        runId ?? (o.date ? await newestRunOf(ws, await defaultPipeline(ws, o.pipeline), o.date) : undefined);
      if (!id) throw new CliError('give a run id, or --date (with --pipeline when there are several)');
      const triage = await apiCall<Triage>('GET', `${ws}/runs/${id}/triage`);
      if (o.json) process.stdout.write(`${JSON.stringify(triage, null, 2)}\n`);
      else printCard(triage);
      if (triage.verdict !== 'actionable') return;
      if (!o.apply) throw new CliExit(2);
      const category = triage.proposal.category;
      const command = triage.proposal.command ?? '';
      if (category === 'C' || !/^arco (retry|rerun) /.test(command)) {
        process.stderr.write(
          category === 'C'
            ? 'arco: refusing --apply for a category C failure: fix the cause first\n'
            : 'arco: nothing to apply automatically; follow the action above\n',
        );
        throw new CliExit(2);
      }
      if (command.startsWith('arco retry')) {
        const retried = await apiCall<{ state: string }>('POST', `${ws}/runs/${id}/retry`, {});
        process.stdout.write(`applied: run ${id} is ${retried.state} again\n`);
      } else {
        const rerun = await apiCall<{ runId: string; created?: boolean }>('POST', `${ws}/runs/${id}/rerun`, {
          mode: 'fromFailure',
        });
        process.stdout.write(
          rerun.created === false
            ? `applied earlier: run ${rerun.runId} is the rerun\n`
            : `applied: new run ${rerun.runId}\n`,
        );
      }
    });

  program
    .command('status')
    .description('The daily two-minute checklist: today’s run, failing tasks, manifests, current pointers')
    .option('--pipeline <name>', 'pipeline (default: the workspace’s default)')
    .option('--date <date>', 'YYYY-MM-DD, today or yesterday', dayArgument, 'today')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const ws = await workspacePath();
      const name = await defaultPipeline(ws, o.pipeline);
      const c = await apiCall<Checklist>(
        'GET',
        `${ws}/pipelines/${encodeURIComponent(name)}/partitions/${o.date}/checklist`,
      );
      if (o.json) process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
      else {
        const out = (line = '') => process.stdout.write(`${line}\n`);
        out(`${c.pipeline} ${c.partition}: ${c.verdict.toUpperCase()}`);
        out(
          `1. Did today's run succeed?  ${c.latestRun.state}${c.latestRun.runId ? ` (run ${c.latestRun.runId})` : ''}`,
        );
        if (!c.latestRun.runId) {
          // Runs of the pipeline's assets started otherwise (a trigger, a schedule of assets) are not
          // the pipeline's run of the day: say how to start one.
          out(
            `   no run of ${c.pipeline} for ${dayOf(c.partition)} yet: ${startDayCommand(c.pipeline, c.partition)}`,
          );
        }
        out(`2. What failed, and how many retries?${c.failingTasks.length ? '' : '  nothing'}`);
        for (const t of c.failingTasks)
          out(
            `   ${t.taskKey}: ${t.failureClass} (category ${t.retryCategory}), attempt ${t.attempt} of ${t.maxAttempts}${t.nextAttemptAt ? `, next at ${t.nextAttemptAt}` : ''}: ${t.errorMessage} → ${t.triageCommand}`,
          );
        out(
          `3. Do manifests exist for every step?  ${c.manifests.filter((m) => m.present).length}/${c.manifests.length}`,
        );
        for (const m of c.manifests.filter((x) => !x.present))
          out(`   missing: ${m.assetKey} (${m.manifestPath})`);
        out(`4. Were the current pointers updated?${c.pointers.length ? '' : '  (no published steps)'}`);
        for (const p of c.pointers)
          out(`   ${p.assetKey}: ${p.publishStatus}, run ${p.currentRunId ?? '-'} (sequence ${p.sequence})`);
      }
      if (c.verdict !== 'ok') throw new CliExit(2);
    });
}
