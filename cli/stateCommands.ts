import type { Command } from 'commander';
import { CliError, JSON_ALWAYS, printJson } from './apiCall.ts';

/** Internal calls to the compactor: ARCO_ORCH_COMPACTOR_URL and ARCO_INTERNAL_TOKEN (runbook 004 §2). */
async function compactorCall(path: string, body: unknown) {
  const base = process.env.ARCO_ORCH_COMPACTOR_URL;
  const token = process.env.ARCO_INTERNAL_TOKEN;
  if (!base)
    throw new CliError(
      'ARCO_ORCH_COMPACTOR_URL is not set: `source .arco/stack.env` (local stack) or export it',
    );
  if (!token)
    throw new CliError(
      'ARCO_INTERNAL_TOKEN is not set: export ARCO_INTERNAL_TOKEN=$(npx arco token --internal --tenant T --workspace W)',
    );
  const response = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }).catch((error: Error) => {
    throw new CliError(`cannot reach ${base}: ${error.message}`);
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new CliError(`${response.status} ${String(parsed.code ?? '')}: ${String(parsed.message ?? '')}`);
  printJson(parsed);
}

export function registerStateCommands(program: Command) {
  program
    .command('rebuild <rebuildManifestPath>')
    .description(
      'Replay the ledger objects listed in a rebuild manifest (state/orchestration/rebuilds/….json) into the projections',
    )
    .option(...JSON_ALWAYS)
    .action((rebuildManifestPath: string) =>
      compactorCall('/rebuild', { rebuild_manifest_path: rebuildManifestPath }),
    );
  program
    .command('compact')
    .description('Fold every pending append batch of the workspace now (normally a Pub/Sub hint does this)')
    .option(...JSON_ALWAYS)
    .action(() => compactorCall('/compact', {}));
}
