import { setTimeout as sleep } from 'node:timers/promises';
import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { LeaseBusyError } from './compactor.ts';
import type { AppendInput } from './ledger.ts';
import { pendingCollection } from './ledger.ts';
import { compactorFor, ledgerFor } from './orchestrationServices.ts';
import type { OrchestrationEvent } from './events.ts';

export type VisibilityStatus = 'visible' | 'persisted_not_visible';

/**
 * Waits (bounded) until an append batch is folded and published (spec README decision 6): it compacts
 * in-process when it can take the lease, else waits for whoever holds it. A batch is visible exactly
 * when its pending record is gone, since the compactor deletes it only after the pointer moved.
 */
export async function waitUntilVisible(
  deps: Dependencies,
  scope: Scope,
  batchId: string,
  timeoutMs = 2000,
): Promise<VisibilityStatus> {
  const deadline = Date.now() + timeoutMs;
  const pending = `${pendingCollection(scope)}/${batchId}`;
  while (Date.now() < deadline) {
    if (!(await deps.documents.get(pending))) return 'visible';
    try {
      await compactorFor(deps, scope).drain(Math.max(0, deadline - Date.now()));
    } catch (error) {
      if (!(error instanceof LeaseBusyError))
        deps.log.warn('in-request compaction failed', { error: String(error) });
      await sleep(25);
    }
  }
  return (await deps.documents.get(pending)) ? 'persisted_not_visible' : 'visible';
}

/** Appends durably, then waits for visibility: what every orchestration mutation does before it answers. */
export async function appendVisible(
  deps: Dependencies,
  scope: Scope,
  inputs: AppendInput[],
  timeoutMs = 2000,
): Promise<{ events: OrchestrationEvent[]; visibility_status: VisibilityStatus }> {
  const { events, batchId } = await ledgerFor(deps, scope).append(inputs);
  return { events, visibility_status: await waitUntilVisible(deps, scope, batchId, timeoutMs) };
}
