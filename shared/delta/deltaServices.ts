import type { Scope } from '../auth/principal.ts';
import { scopedObjectStore } from '../adapters/scopedObjectStore.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { DeltaCommitCoordinator } from './deltaCommitCoordinator.ts';
import { DeltaTableCatalog } from './deltaTableCatalog.ts';
import { DeltaTables } from './deltaTables.ts';

/**
 * The Delta pieces bound to one workspace: nothing here can touch another workspace's objects. Table
 * catalog and coordinator state live in the Delta database (`deps.deltaDocuments`, Firestore database
 * `arco-delta` in GCP), which only the delta-commit function may use.
 */
export function deltaServices(deps: Dependencies, scope: Scope) {
  const objects = scopedObjectStore(deps.objects, scope);
  const catalog = new DeltaTableCatalog(deps.deltaDocuments, scope);
  const coordinator = new DeltaCommitCoordinator({
    objects,
    documents: deps.deltaDocuments,
    clock: deps.clock,
    failpoints: deps.failpoints,
    scope,
  });
  const tables = new DeltaTables(catalog, coordinator, objects, deps.ids, scope, () => deps.clock.now());
  return { objects, catalog, coordinator, tables };
}
