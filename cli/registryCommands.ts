import type { Command } from 'commander';
import { apiCall, JSON_ALWAYS, printTable } from './apiCall.ts';
import { readJsonFile } from './localFile.ts';

const BASE = '/data-contract-registry/v1';
const json = (value: unknown) => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
const schemaFrom = (file: string) => readJsonFile(file, 'schema file') as object;

/** `arco registry …`: the Data Contract Registry (runbook 002) from the command line. */
export function registerRegistryCommands(program: Command) {
  const registry = program
    .command('registry')
    .description('Data contracts: datasets × layers, versions, diffs, compatibility, subscriptions');
  registry
    .command('datasets')
    .option('--namespace <ns>', 'exact namespace')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const { items } = await apiCall<{ items: Array<Record<string, unknown>> }>(
        'GET',
        `${BASE}/datasets?page_size=200${o.namespace ? `&namespace=${encodeURIComponent(o.namespace)}` : ''}`,
      );
      printTable(items, ['dataset_id', 'namespace', 'name', 'owner', 'status'], o.json);
    });
  registry
    .command('create-dataset')
    .requiredOption('--namespace <ns>', 'e.g. sap.mm')
    .requiredOption('--name <name>', 'e.g. mara')
    .requiredOption('--owner <team>', 'owning team')
    .option('--steward <email>', 'steward')
    .option(...JSON_ALWAYS)
    .action(async (o) =>
      json(
        await apiCall('POST', `${BASE}/datasets`, {
          namespace: o.namespace,
          name: o.name,
          owner: o.owner,
          ...(o.steward ? { steward: o.steward } : {}),
        }),
      ),
    );
  registry
    .command('versions <datasetId> <layer>')
    .option('--json', 'print JSON', false)
    .action(async (id: string, layer: string, o) => {
      const { items } = await apiCall<{ items: Array<Record<string, unknown>> }>(
        'GET',
        `${BASE}/datasets/${id}/layers/${layer}/versions?page_size=200`,
      );
      printTable(
        items,
        ['version', 'is_current', 'classification', 'breaking', 'created_by', 'created_at'],
        o.json,
      );
    });
  registry
    .command('export <datasetId> <layer> <version>')
    .description('Print a version (or `current`) with its schema')
    .option(...JSON_ALWAYS)
    .action(async (id: string, layer: string, version: string) =>
      json(await apiCall('GET', `${BASE}/datasets/${id}/layers/${layer}/versions/${version}`)),
    );
  registry
    .command('diff <datasetId> <layer>')
    .requiredOption('--from <v>', 'old version')
    .requiredOption('--to <v>', 'new version')
    .option(...JSON_ALWAYS)
    .action(async (id: string, layer: string, o) =>
      json(await apiCall('GET', `${BASE}/datasets/${id}/layers/${layer}/diff?from=${o.from}&to=${o.to}`)),
    );
  registry
    .command('check <datasetId> <layer> <schema.json>')
    .description('Classify a schema against the layer without storing anything')
    .option('--base <v>', 'compare with this version instead of the current one')
    .option(...JSON_ALWAYS)
    .action(async (id: string, layer: string, file: string, o) =>
      json(
        await apiCall('POST', `${BASE}/compatibility/check`, {
          dataset_id: id,
          layer,
          ...(o.base ? { base_version: Number(o.base) } : {}),
          schema_json: schemaFrom(file),
        }),
      ),
    );
  registry
    .command('ingest <datasetId> <layer> <schema.json>')
    .description(
      'Store a schema version; it becomes current when compatible (--no-promote freezes promotion)',
    )
    .option('--no-promote', 'set_current_if_compatible: false')
    .option(...JSON_ALWAYS)
    .action(async (id: string, layer: string, file: string, o) =>
      json(
        await apiCall('POST', `${BASE}/datasets/${id}/layers/${layer}/schemas`, {
          schema_json: schemaFrom(file),
          set_current_if_compatible: o.promote,
        }),
      ),
    );
  registry
    .command('subscriptions')
    .option('--dataset <id>', 'dataset id')
    .option('--layer <layer>', 'layer')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const q = new URLSearchParams({
        ...(o.dataset ? { dataset_id: o.dataset } : {}),
        ...(o.layer ? { layer: o.layer } : {}),
      });
      const { items } = await apiCall<{ items: Array<Record<string, unknown>> }>(
        'GET',
        `${BASE}/subscriptions?${q}`,
      );
      printTable(
        items,
        ['subscription_id', 'dataset_id', 'layer', 'consumer', 'required_compatibility', 'min_version'],
        o.json,
      );
    });
}
