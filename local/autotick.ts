import { FirestoreDocumentStore } from '../shared/adapters/firestoreDocumentStore.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import type { Scope } from '../shared/auth/principal.ts';
import { WORKSPACE_REGISTRY } from '../shared/orchestration/manifestStore.ts';

const TICK_EVERY_MS = 5000;

/**
 * The local stand-in for Cloud Scheduler: every few seconds, one automation tick with the real time for
 * every workspace that deployed a manifest. `ARCO_AUTOTICK=0` turns it off so tests drive every tick.
 */
export function startAutotick(apiUrl: string, secret: string): NodeJS.Timeout {
  const documents = new FirestoreDocumentStore();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const { data: scope } of await documents.query<Scope>(WORKSPACE_REGISTRY)) {
        const token = await mintLocalToken(secret, {
          internal: true,
          tenant: scope.tenant,
          workspace: scope.workspace,
          subject: 'autotick',
          ttlSeconds: 60,
        });
        await fetch(`${apiUrl}/internal/automation/tick`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ now: new Date().toISOString() }),
        }).then((r) => r.arrayBuffer());
      }
    } catch {
      // The next tick tries again; a tick is only ever a nudge.
    } finally {
      busy = false;
    }
  }, TICK_EVERY_MS);
  timer.unref();
  return timer;
}
