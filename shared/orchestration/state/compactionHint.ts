import type { TaskQueue } from '../../adapters/taskQueue.ts';
import { SCOPE_ID_PATTERN, type Scope } from '../../auth/principal.ts';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { COMPACTION_HINT_QUEUE } from '../../runtime/resources.ts';

/**
 * What an append tells the compactor (the body of a Cloud Task to `{compactorUrl}/hint`): which
 * workspace, and the pending batch with its ledger paths, so the compactor folds exactly those events
 * without searching for them (its periodic scans are the safety net for lost hints). A hint without
 * a batch asks for a pass over whatever is pending.
 */
export interface CompactionHint {
  tenant: string;
  workspace: string;
  batchId?: string;
  paths?: string[];
  /** The batch's events as canonical JSON, when small (saves reading them back). */
  eventsJson?: string;
}

/** Sends one hint; the ledger calls it after the batch is durable. */
export type HintSender = (hint: CompactionHint) => Promise<void>;

/** Hints as Cloud Tasks (unnamed: every batch is its own hint) to the compactor function. */
export function cloudTasksHintSender(
  tasks: TaskQueue,
  config: Pick<RuntimeConfig, 'compactorUrl' | 'tasksServiceAccount'>,
): HintSender {
  return async (hint) => {
    await tasks.enqueue({
      queue: COMPACTION_HINT_QUEUE,
      url: `${config.compactorUrl}/hint`,
      body: hint,
      oidcServiceAccount: config.tasksServiceAccount,
    });
  };
}

/** The hint in a request body, or null when it names no valid workspace (such a hint is dropped). */
export function parseCompactionHint(body: unknown): (CompactionHint & Scope) | null {
  const hint = body as Partial<CompactionHint> | null;
  if (!hint || !SCOPE_ID_PATTERN.test(hint.tenant ?? '') || !SCOPE_ID_PATTERN.test(hint.workspace ?? ''))
    return null;
  const paths = Array.isArray(hint.paths) && hint.paths.every((p) => typeof p === 'string') ? hint.paths : [];
  return {
    tenant: hint.tenant!,
    workspace: hint.workspace!,
    ...(typeof hint.batchId === 'string' && paths.length ? { batchId: hint.batchId, paths } : {}),
    ...(typeof hint.eventsJson === 'string' ? { eventsJson: hint.eventsJson } : {}),
  };
}
