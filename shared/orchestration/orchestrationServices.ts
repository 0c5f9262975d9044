import { scopedObjectStore } from '../adapters/scopedObjectStore.ts';
import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { Compactor } from './compactor.ts';
import { reconcileDispatches } from './dispatchController.ts';
import { Ledger } from './ledger.ts';
import { writeStepManifests } from './stepManifests.ts';
import { ProjectionReader } from './projectionReader.ts';

/** The state-store pieces bound to one workspace. */
export function compactorFor(deps: Dependencies, scope: Scope): Compactor {
  return new Compactor({
    objects: scopedObjectStore(deps.objects, scope),
    documents: deps.documents,
    clock: deps.clock,
    ids: deps.ids,
    failpoints: deps.failpoints,
    log: deps.log,
    scope,
    // Post-fold controllers: dispatch what became ready, then write the manifests of what finished
    // (a failure of either is retried by the next publish or the sweeper; nothing is lost).
    afterPublish: async (state, runIds) => {
      await reconcileDispatches(deps, scope, state, runIds);
      await writeStepManifests(deps, scope, state, runIds);
    },
  });
}

export function ledgerFor(deps: Dependencies, scope: Scope): Ledger {
  return new Ledger({
    objects: scopedObjectStore(deps.objects, scope),
    documents: deps.documents,
    publisher: deps.publisher,
    ids: deps.ids,
    clock: deps.clock,
    log: deps.log,
    scope,
  });
}

export function readerFor(deps: Dependencies, scope: Scope): ProjectionReader {
  return new ProjectionReader(scopedObjectStore(deps.objects, scope), `${scope.tenant}/${scope.workspace}`);
}
