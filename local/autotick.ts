import { FirestoreDocumentStore } from '../shared/adapters/firestoreDocumentStore.ts';
import { PubSubPublisher } from '../shared/adapters/pubsubPublisher.ts';
import type { Scope } from '../shared/auth/principal.ts';
import { WORKSPACE_REGISTRY } from '../shared/orchestration/manifestStore.ts';
import { AUTOMATION_TICKS_TOPIC } from '../shared/runtime/resources.ts';

const TICK_EVERY_MS = 5000;

/**
 * The local stand-in for Cloud Scheduler: every few seconds it publishes, as the scheduler jobs do in
 * GCP, one tick message `{tenant, workspace}` to the automation ticks topic for every workspace that
 * deployed a manifest; the push subscription delivers it to the `automation` CloudEvent function.
 * `ARCO_AUTOTICK=0` turns it off so tests drive every tick (`POST /internal/automation/tick`).
 */
export function startAutotick(): NodeJS.Timeout {
  const documents = new FirestoreDocumentStore();
  const publisher = new PubSubPublisher();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const { data: scope } of await documents.query<Scope>(WORKSPACE_REGISTRY))
        await publisher.publish(AUTOMATION_TICKS_TOPIC, { tenant: scope.tenant, workspace: scope.workspace });
    } catch {
      // The next tick tries again; a tick is only ever a nudge.
    } finally {
      busy = false;
    }
  }, TICK_EVERY_MS);
  timer.unref();
  return timer;
}
