import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../adapters/objectStore.ts';
import {
  type CommitResponse,
  type DeltaCommitCoordinator,
  DeltaCommitError,
} from './deltaCommitCoordinator.ts';
import { stagingPrefix } from './deltaPaths.ts';
import type { DeltaTable } from './deltaTableCatalog.ts';

/**
 * Commits one payload to a table under a caller-chosen idempotency key, as a writer that may be retried
 * does: a key that committed before answers with its version; a key holding a reservation resumes it;
 * otherwise it commits at the latest version, retrying (same key) when other writers move the table.
 */
export async function appendCommit(
  objects: ObjectStore,
  coordinator: DeltaCommitCoordinator,
  table: DeltaTable,
  key: string,
  payload: string,
  maxRounds = 50,
): Promise<CommitResponse> {
  const done = await coordinator.committed(table.table_id, key);
  if (done) return done;
  const stagedPath = `${stagingPrefix(table.table_id)}${key}.json`;
  const put = await objects.put(stagedPath, payload, {
    ifGenerationMatch: 0,
    contentType: 'application/x-ndjson',
  });
  const stagedVersion =
    put.status === 'written' ? put.generation : (await objects.head(stagedPath))!.generation;
  for (let round = 0; round < maxRounds; round += 1) {
    const state = await coordinator.state(table.table_id);
    const readVersion =
      state.inflight?.commit_id === key ? state.inflight.read_version : state.latest_version;
    try {
      return await coordinator.commit(
        { tableId: table.table_id, root: table.root },
        { key, read_version: readVersion, staged_path: stagedPath, staged_version: stagedVersion },
      );
    } catch (error) {
      const retryable =
        error instanceof DeltaCommitError &&
        ['stale_read_version', 'commit_in_progress', 'coordinator_contention', 'inflight_changed'].includes(
          error.reason,
        );
      if (!retryable) throw error;
      await sleep(Math.min(1000, 20 * 2 ** Math.min(round, 6)) * (0.5 + Math.random()));
    }
  }
  throw new Error(`could not commit to ${table.name} after ${maxRounds} rounds`);
}
