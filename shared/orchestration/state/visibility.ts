import { setTimeout as sleep } from 'node:timers/promises';
import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { AppendInput } from './ledger.ts';
import { pendingCollection } from './ledger.ts';
import { ledgerFor } from '../orchestrationServices.ts';
import type { OrchestrationEvent } from './events.ts';

export type VisibilityStatus = 'visible' | 'persisted_not_visible';

/**
 * How long a mutation may take, from its start, before it answers anyway, ms: the time its append
 * took counts, so a busy stack answers `persisted_not_visible` at once rather than after a further wait.
 */
export const VISIBILITY_WAIT_MS = 50;
const POLL_MS = 20;
/**
 * The wait of the few answers that promise read-your-writes (a retry answers with the reopened run):
 * a little over one publish interval at the default cadence.
 */
export const READ_YOUR_WRITES_WAIT_MS = 2_500;

/**
 * Waits briefly for an append batch to be published (spec README decision 6): the request never
 * compacts; the compactor, woken by the append's hint, publishes on its cadence. A batch is visible
 * exactly when its pending record is gone, since the compactor deletes it only after the pointer moved.
 * `persisted_not_visible` means durable and about to be readable (within about a publish interval).
 * The wait ends `timeoutMs` after `startedAtMs` (epoch ms, when the mutation began).
 */
export async function waitUntilVisible(
  deps: Dependencies,
  scope: Scope,
  batchId: string,
  startedAtMs: number,
  timeoutMs = VISIBILITY_WAIT_MS,
): Promise<VisibilityStatus> {
  const deadline = startedAtMs + timeoutMs;
  const pending = `${pendingCollection(scope)}/${batchId}`;
  // A mutation that took its whole budget to become durable answers at once: under load a publish
  // within the budget is unlikely, and the look would cost a read per request.
  while (Date.now() < deadline) {
    if (!(await deps.documents.get(pending))) return 'visible';
    const left = deadline - Date.now();
    if (left > 0) await sleep(Math.min(POLL_MS, left));
  }
  return 'persisted_not_visible';
}

/** Appends durably, then waits briefly for visibility: what an orchestration mutation does before it answers. */
export async function appendVisible(
  deps: Dependencies,
  scope: Scope,
  inputs: AppendInput[],
  timeoutMs = VISIBILITY_WAIT_MS,
): Promise<{ events: OrchestrationEvent[]; visibility_status: VisibilityStatus }> {
  const startedAtMs = Date.now();
  const { events, batchId } = await ledgerFor(deps, scope).append(inputs);
  return { events, visibility_status: await waitUntilVisible(deps, scope, batchId, startedAtMs, timeoutMs) };
}
