import type { Command } from 'commander';
import { apiCall, CliError, JSON_ALWAYS, JSON_FLAG, printJson, workspacePath } from './apiCall.ts';

type Ref = { kind: 'data'; assetKey: string } | { kind: 'model'; name: string };

/** `data:analytics.orders` or `model:scorer`. */
function parseRef(ref: string): Ref {
  if (ref.startsWith('data:')) return { kind: 'data', assetKey: ref.slice('data:'.length) };
  if (ref.startsWith('model:')) return { kind: 'model', name: ref.slice('model:'.length) };
  throw new CliError(`name a pointer as data:<assetKey> or model:<name>, not ${ref}`);
}

const needPartition = (ref: Ref, partition?: string) => {
  if (ref.kind === 'data' && !partition)
    throw new CliError('a data pointer needs --partition (2026-11-30, or date=2026-11-30|region=eu)');
};

/** The API path of a pointer (and the query or body fields that name a data pointer). */
function where(ref: Ref, partition?: string) {
  needPartition(ref, partition);
  return ref.kind === 'data'
    ? {
        path: '/pointers/data',
        query: `?assetKey=${encodeURIComponent(ref.assetKey)}&partitionKey=${encodeURIComponent(partition!)}`,
        fields: { assetKey: ref.assetKey, partitionKey: partition },
      }
    : { path: `/pointers/models/${encodeURIComponent(ref.name)}`, query: '', fields: {} };
}

const meta = (value: string, previous: Record<string, string> = {}) => {
  const at = value.indexOf('=');
  if (at < 1) throw new CliError('use --meta key=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
};

interface Moved {
  sequence: number;
  runId: string;
  previous?: { sequence: number; runId: string };
}

const moved = (ref: string, m: Moved, verb: string) =>
  process.stdout.write(
    `${ref}: ${verb} sequence ${m.previous?.sequence ?? 0} (run ${m.previous?.runId ?? '-'}) → ${m.sequence} (run ${m.runId})\n`,
  );

/** `arco pointer show|history|promote|rollback data:{asset} --partition D | model:{name}` (spec §5.6). */
export function registerPointerCommands(program: Command) {
  const pointer = program
    .command('pointer')
    .description(
      '“Current” data and model pointers: show, history, promote, rollback (compare-and-swap, append-only history)',
    );
  pointer
    .command('show <ref>')
    .description('The current pointer (data:<asset> --partition D, or model:<name>)')
    .option('--partition <key>', 'a data pointer’s partition: 2026-11-30 or date=…|region=eu')
    .option(...JSON_ALWAYS)
    .action(async (ref: string, o) => {
      const w = where(parseRef(ref), o.partition);
      printJson(await apiCall('GET', `${await workspacePath()}${w.path}${w.query}`));
    });
  pointer
    .command('history <ref>')
    .description('Every move of the pointer, newest first')
    .option('--partition <key>', 'a data pointer’s partition: 2026-11-30 or date=…|region=eu')
    .option(...JSON_FLAG)
    .action(async (ref: string, o) => {
      const w = where(parseRef(ref), o.partition);
      const path = w.query ? `${w.path}/history${w.query}` : `${w.path}/history`;
      const answer = await apiCall<{
        entries: Array<{
          sequence: number;
          action: string;
          runId: string;
          promotedAt: string;
          promotedBy: string;
          reason?: string;
        }>;
      }>('GET', `${await workspacePath()}${path}`);
      if (o.json) return printJson(answer);
      for (const e of answer.entries)
        process.stdout.write(
          `${e.sequence}  ${e.action.padEnd(8)}  run=${e.runId}  ${e.promotedAt}  by ${e.promotedBy}${e.reason ? `  (${e.reason})` : ''}\n`,
        );
    });
  pointer
    .command('promote <ref>')
    .description('Point at a run (data: its step succeeded; model: an artifact with a meta.json)')
    .option('--partition <key>', 'a data pointer’s partition: 2026-11-30 or date=…|region=eu')
    .requiredOption('--run <runId>', 'the run to promote (for a model: its training/decision run)')
    .option('--artifact-uri <uri>', 'model artifact directory (must hold meta.json)')
    .option('--meta <key=value>', 'model metadata (repeatable)', meta)
    .option('--expected-sequence <n>', 'only if the pointer is still at this sequence', Number)
    .option('--allow-older', 'data: allow a run with an older as-of than the current one', false)
    .option('--reason <text>', 'why, for the history')
    .option(...JSON_FLAG)
    .action(async (refText: string, o) => {
      const ref = parseRef(refText);
      const w = where(ref, o.partition);
      if (ref.kind === 'model' && !o.artifactUri)
        throw new CliError('a model promotion needs --artifact-uri');
      const body = {
        ...w.fields,
        runId: o.run,
        ...(ref.kind === 'model' ? { artifactUri: o.artifactUri, ...(o.meta ? { meta: o.meta } : {}) } : {}),
        ...(o.expectedSequence !== undefined ? { expectedSequence: o.expectedSequence } : {}),
        ...(o.allowOlder ? { allowOlder: true } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      };
      const answer = await apiCall<Moved>('POST', `${await workspacePath()}${w.path}/promote`, body);
      if (o.json) printJson(answer);
      else moved(`${refText}${o.partition ? ` ${o.partition}` : ''}`, answer, 'promoted from');
    });
  pointer
    .command('rollback <ref>')
    .description('Restore an earlier target atomically (a forward move; history keeps everything)')
    .option('--partition <key>', 'a data pointer’s partition: 2026-11-30 or date=…|region=eu')
    .requiredOption('--reason <text>', 'why, for the history')
    .option('--to-sequence <n>', 'the history entry to restore (default: the previous one)', Number)
    .option('--to-run <runId>', 'the most recent entry of this run')
    .option('--expected-sequence <n>', 'only if the pointer is still at this sequence', Number)
    .option(...JSON_FLAG)
    .action(async (refText: string, o) => {
      const w = where(parseRef(refText), o.partition);
      const body = {
        ...w.fields,
        reason: o.reason,
        ...(o.toSequence !== undefined ? { toSequence: o.toSequence } : {}),
        ...(o.toRun ? { toRunId: o.toRun } : {}),
        ...(o.expectedSequence !== undefined ? { expectedSequence: o.expectedSequence } : {}),
      };
      const answer = await apiCall<Moved>('POST', `${await workspacePath()}${w.path}/rollback`, body);
      if (o.json) printJson(answer);
      else moved(`${refText}${o.partition ? ` ${o.partition}` : ''}`, answer, 'rolled back from');
    });
}
