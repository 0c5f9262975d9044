import type { Command } from 'commander';
import { apiCall, CliError, workspacePath } from './apiCall.ts';

/** `data:analytics.orders` → the asset key (model pointers are not available yet). */
function assetOf(ref: string): string {
  if (!ref.startsWith('data:'))
    throw new CliError(
      `name a data pointer as data:<assetKey> (model pointers are not available yet): ${ref}`,
    );
  return ref.slice('data:'.length);
}

const print = (value: unknown) => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** `arco pointer show|history|promote|rollback data:{asset} --partition D` (pipeline-ops spec §5.6). */
export function registerPointerCommands(program: Command) {
  const pointer = program
    .command('pointer')
    .description(
      '“Current” data pointers: show, history, promote, rollback (compare-and-swap, append-only history)',
    );
  const query = (ref: string, partition: string) =>
    `assetKey=${encodeURIComponent(assetOf(ref))}&partitionKey=${encodeURIComponent(partition)}`;
  pointer
    .command('show <ref>')
    .description('The current pointer of an asset partition')
    .requiredOption('--partition <date>', 'YYYY-MM-DD (or a canonical partition key)')
    .action(async (ref: string, o) =>
      print(await apiCall('GET', `${await workspacePath()}/pointers/data?${query(ref, o.partition)}`)),
    );
  pointer
    .command('history <ref>')
    .description('Every move of the pointer, newest first')
    .requiredOption('--partition <date>', 'YYYY-MM-DD')
    .action(async (ref: string, o) => {
      const { entries } = await apiCall<{
        entries: Array<{
          sequence: number;
          action: string;
          runId: string;
          promotedAt: string;
          promotedBy: string;
          reason?: string;
        }>;
      }>('GET', `${await workspacePath()}/pointers/data/history?${query(ref, o.partition)}`);
      for (const e of entries)
        process.stdout.write(
          `${e.sequence}  ${e.action.padEnd(8)}  run=${e.runId}  ${e.promotedAt}  by ${e.promotedBy}${e.reason ? `  (${e.reason})` : ''}\n`,
        );
    });
  pointer
    .command('promote <ref>')
    .description(
      'Point the partition at a run whose step succeeded (refuses an older as-of unless --allow-older)',
    )
    .requiredOption('--partition <date>', 'YYYY-MM-DD')
    .requiredOption('--run <runId>', 'the run to promote')
    .option('--expected-sequence <n>', 'only if the pointer is still at this sequence', Number)
    .option('--allow-older', 'allow a run with an older as-of than the current one', false)
    .option('--reason <text>', 'why, for the history')
    .action(async (ref: string, o) => {
      const moved = await apiCall<{
        sequence: number;
        runId: string;
        previous?: { sequence: number; runId: string };
      }>('POST', `${await workspacePath()}/pointers/data/promote`, {
        assetKey: assetOf(ref),
        partitionKey: o.partition,
        runId: o.run,
        ...(o.expectedSequence !== undefined ? { expectedSequence: o.expectedSequence } : {}),
        ...(o.allowOlder ? { allowOlder: true } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      });
      process.stdout.write(
        `${ref} ${o.partition}: sequence ${moved.previous?.sequence ?? 0} (run ${moved.previous?.runId ?? '-'}) → ${moved.sequence} (run ${moved.runId})\n`,
      );
    });
  pointer
    .command('rollback <ref>')
    .description('Restore an earlier target atomically (a forward move; history keeps everything)')
    .requiredOption('--partition <date>', 'YYYY-MM-DD')
    .requiredOption('--reason <text>', 'why, for the history')
    .option('--to-sequence <n>', 'the history entry to restore (default: the previous one)', Number)
    .option('--to-run <runId>', 'the most recent entry of this run')
    .option('--expected-sequence <n>', 'only if the pointer is still at this sequence', Number)
    .action(async (ref: string, o) => {
      const moved = await apiCall<{
        sequence: number;
        runId: string;
        previous?: { sequence: number; runId: string };
      }>('POST', `${await workspacePath()}/pointers/data/rollback`, {
        assetKey: assetOf(ref),
        partitionKey: o.partition,
        reason: o.reason,
        ...(o.toSequence !== undefined ? { toSequence: o.toSequence } : {}),
        ...(o.toRun ? { toRunId: o.toRun } : {}),
        ...(o.expectedSequence !== undefined ? { expectedSequence: o.expectedSequence } : {}),
      });
      process.stdout.write(
        `${ref} ${o.partition}: rolled back from sequence ${moved.previous?.sequence} (run ${moved.previous?.runId}) → ${moved.sequence} (run ${moved.runId})\n`,
      );
    });
}
