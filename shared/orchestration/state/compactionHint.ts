import type { TaskQueue } from '../../adapters/taskQueue.ts';
import { SCOPE_ID_PATTERN } from '../../auth/principal.ts';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { COMPACTION_HINT_QUEUE } from '../../runtime/resources.ts';
import { groupCommit } from '../../core/groupCommit.ts';
import type { PendingBatch } from './compactor.ts';

/**
 * What appends tell the compactor (the body of a Cloud Task to `{compactorUrl}/hint`): which
 * workspace, and the pending batches with their ledger paths (and their events, when small), so the
 * compactor folds exactly those events without searching for them (its periodic scans are the safety
 * net for lost hints). A hint without batches asks for a pass over whatever is pending.
 */
export interface CompactionHint {
  tenant: string;
  workspace: string;
  batches: PendingBatch[];
}

/** Sends one hint; the ledger calls it after the batch is durable. */
export type HintSender = (hint: CompactionHint) => Promise<void>;

/** The most batches, and inline event bytes, one coalesced hint carries (Cloud Tasks takes 1 MB bodies). */
const MAX_BATCHES_PER_HINT = 100;
const MAX_INLINE_BYTES_PER_HINT = 256 * 1024;

/** Hints as Cloud Tasks (unnamed: every hint is its own task) to the compaction function, coalesced. */
export function cloudTasksHintSender(
  tasks: TaskQueue,
  config: Pick<RuntimeConfig, 'compactorUrl' | 'tasksServiceAccount'>,
): HintSender {
  return coalescedHints(async (hint) => {
    await tasks.enqueue({
      queue: COMPACTION_HINT_QUEUE,
      url: `${config.compactorUrl}/hint`,
      body: hint,
      oidcServiceAccount: config.tasksServiceAccount,
    });
  });
}

/**
 * One hint in flight per workspace (a group commit): the first append's hint goes at once, and the
 * batches of appends made while it is being enqueued travel together in the next one. Under load that
 * is one Cloud Task (and one compaction request) for many callbacks; when idle it adds no wait.
 */
export function coalescedHints(send: HintSender): HintSender {
  const perWorkspace = groupCommit<PendingBatch[]>(async (key, groups) => {
    const [tenant, workspace] = key.split('/') as [string, string];
    await send({ tenant, workspace, batches: groups.flat() });
  }, hintGroupSize);
  return (hint) =>
    // A request for a scan names no batch: merged into another hint it would be lost.
    hint.batches.length ? perWorkspace(`${hint.tenant}/${hint.workspace}`, hint.batches) : send(hint);
}

/** How many waiting appends' batches fit in one hint. */
function hintGroupSize(queue: readonly PendingBatch[][]): number {
  let batches = 0;
  let bytes = 0;
  let count = 0;
  for (const group of queue) {
    const size = group.reduce((n, b) => n + (b.eventsJson?.length ?? 0), 0);
    if (count && (batches + group.length > MAX_BATCHES_PER_HINT || bytes + size > MAX_INLINE_BYTES_PER_HINT))
      break;
    batches += group.length;
    bytes += size;
    count += 1;
  }
  return count;
}

/**
 * The hint in a request body, or null when it names no valid workspace (such a hint is dropped).
 * Malformed batch entries are dropped (the compactor's scan finds their batches); the one-batch form
 * of earlier releases (`batchId`, `paths`, `eventsJson` at the top) is still read.
 */
export function parseCompactionHint(body: unknown): CompactionHint | null {
  const hint = body as (Partial<CompactionHint> & Partial<PendingBatch>) | null;
  if (!hint || !SCOPE_ID_PATTERN.test(hint.tenant ?? '') || !SCOPE_ID_PATTERN.test(hint.workspace ?? ''))
    return null;
  const entries: unknown[] = Array.isArray(hint.batches) ? hint.batches : hint.batchId ? [hint] : [];
  return { tenant: hint.tenant!, workspace: hint.workspace!, batches: entries.flatMap(pendingBatch) };
}

function pendingBatch(entry: unknown): PendingBatch[] {
  const { batchId, paths, eventsJson } = (entry ?? {}) as Partial<PendingBatch>;
  if (typeof batchId !== 'string' || !Array.isArray(paths) || !paths.length) return [];
  if (!paths.every((p) => typeof p === 'string')) return [];
  return [{ batchId, paths, ...(typeof eventsJson === 'string' ? { eventsJson } : {}) }];
}
