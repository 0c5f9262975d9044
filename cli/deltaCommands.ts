import type { Command } from 'commander';
import { apiCall, JSON_ALWAYS, printJson, printTable } from './apiCall.ts';

const TABLE_COLUMNS = ['table_id', 'name', 'latest_version', 'location', 'partition_columns'];

/** `arco delta …`: Delta tables and the commit coordinator's state (runbook 004 §1.1 and §1.3). */
export function registerDeltaCommands(program: Command) {
  const delta = program.command('delta').description('Delta tables and their commit coordinator');
  delta
    .command('tables')
    .description('List the workspace’s Delta tables, or find one by name')
    .option('--name <name>', 'exact table name, e.g. analytics.orders')
    .option('--json', 'print JSON', false)
    .action(async (options) => {
      const query = options.name ? `?name=${encodeURIComponent(options.name)}` : '';
      const { tables } = await apiCall<{ tables: Array<Record<string, unknown>> }>(
        'GET',
        `/api/v1/delta/tables${query}`,
      );
      printTable(tables, TABLE_COLUMNS, options.json);
    });
  delta
    .command('table <tableId>')
    .description('Show one table')
    .option('--json', 'print JSON', false)
    .action(async (tableId: string, options) => {
      printTable([await apiCall('GET', `/api/v1/delta/tables/${tableId}`)], TABLE_COLUMNS, options.json);
    });
  delta
    .command('coordinator <tableId>')
    .description(
      'Show {latest_version, inflight}: an inflight reservation means a commit is in progress or stuck',
    )
    .option(...JSON_ALWAYS)
    .action(async (tableId: string) => {
      printJson(await apiCall('GET', `/api/v1/delta/tables/${tableId}/coordinator`));
    });
}
