import { scopedObjectStore } from '../adapters/scopedObjectStore.ts';
import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { cloudTasksHintSender, type HintSender } from './state/compactionHint.ts';
import { Compactor } from './state/compactor.ts';
import { acknowledgementsStillNeeded, reconcileDispatches } from './run/dispatchController.ts';
import { Ledger } from './state/ledger.ts';
import { writeStepManifests } from './pipeline/stepManifests.ts';
import { ProjectionReader } from './state/projectionReader.ts';
import { WorkspaceScheduler } from './state/workspaceScheduler.ts';

/** One scheduler per workspace and set of dependencies (a process has one set, so one lease holder). */
const schedulers = new WeakMap<Dependencies, Map<string, WorkspaceScheduler>>();

/**
 * The workspace's scheduler in this process: folds hinted batches, runs the dispatch and manifest
 * controllers on its warm state, and publishes on the configured cadence. `drain()` and `rebuild()`
 * go through it, so nothing in one process races its own folding.
 */
export function compactorFor(deps: Dependencies, scope: Scope): WorkspaceScheduler {
  const key = `${scope.tenant}/${scope.workspace}`;
  let ofDeps = schedulers.get(deps);
  if (!ofDeps) schedulers.set(deps, (ofDeps = new Map()));
  let scheduler = ofDeps.get(key);
  if (!scheduler) {
    const compactor = new Compactor({
      ...compactorDeps(deps, scope),
      ledger: new Ledger(ledgerDeps(deps, scope)),
      // Controllers on each fold: dispatch what became ready, then write the manifests of what finished
      // (a failure of either is retried by the sweeper; nothing is lost).
      afterFold: async (state, changes, effects) => {
        await reconcileDispatches(
          deps,
          scope,
          state,
          { tasks: changes.get('tasks'), timers: changes.get('timers') },
          effects.append,
          (acks) => effects.defer((atPublish) => acknowledgementsStillNeeded(deps, scope, atPublish, acks)),
        ).catch((error: unknown) =>
          deps.log.error('dispatch controller failed; the sweeper repairs it', { error: String(error) }),
        );
        effects.background(
          writeStepManifests(deps, scope, state, [...(changes.get('tasks') ?? [])]).catch((error: unknown) =>
            // Not retried on its own: `GET …/runs/{id}/manifests` lists what is missing.
            deps.log.error('step manifests not written', { error: String(error) }),
          ),
        );
      },
    });
    scheduler = new WorkspaceScheduler(compactor, deps.clock, deps.log, {
      publishIntervalMs: deps.config.publishIntervalMs,
    });
    ofDeps.set(key, scheduler);
  }
  return scheduler;
}

/**
 * How the rebuild function runs a rebuild (`POST /compactor/rebuild`, runbook 004 §3): through this
 * process's scheduler of the workspace when there is one (the local stack hosts compaction in the same
 * process, and a lease of its own would only wait on that scheduler's), else with a compactor of its
 * own that has no controllers: it takes the workspace's lease for the replay alone, publishes and
 * lets go. So a rebuild instance never dispatches, writes step manifests or stays on as a second
 * scheduler (it holds no grants for that); what became ready is dispatched by the compaction function.
 * Throws LeaseBusyError (409, Retry-After) while a compaction holds the lease.
 */
export function rebuildWorkspace(deps: Dependencies, scope: Scope, rebuildManifestPath: string) {
  const scheduler = schedulers.get(deps)?.get(`${scope.tenant}/${scope.workspace}`);
  if (scheduler) return scheduler.rebuild(rebuildManifestPath);
  const compactor = new Compactor(compactorDeps(deps, scope));
  return compactor.rebuild(rebuildManifestPath).finally(() => compactor.forget());
}

/**
 * What every compactor of the workspace works with (its stores, clock, ids, failpoints and log, scoped
 * to `scope`); the scheduler's adds its controllers and ledger, a rebuild's or a benchmark's uses it as is.
 */
export function compactorDeps(deps: Dependencies, scope: Scope) {
  return {
    objects: scopedObjectStore(deps.objects, scope),
    documents: deps.documents,
    clock: deps.clock,
    ids: deps.ids,
    failpoints: deps.failpoints,
    log: deps.log,
    scope,
  };
}

function ledgerDeps(deps: Dependencies, scope: Scope) {
  return {
    objects: scopedObjectStore(deps.objects, scope),
    documents: deps.documents,
    ids: deps.ids,
    clock: deps.clock,
    log: deps.log,
    scope,
  };
}

/**
 * The ledger of one workspace. Each append hints the compactor unless `hint` is false (events no
 * decision waits on, folded by the compactor's periodic scan instead).
 */
export function ledgerFor(deps: Dependencies, scope: Scope, options: { hint?: boolean } = {}): Ledger {
  return new Ledger({
    ...ledgerDeps(deps, scope),
    ...(options.hint === false ? {} : { hints: hintSenderFor(deps) }),
  });
}

/** The process's hint sender for `deps` (one per set of dependencies), so that its appends' hints coalesce. */
const hintSenders = new WeakMap<Dependencies, HintSender>();
export function hintSenderFor(deps: Dependencies): HintSender {
  let sender = hintSenders.get(deps);
  if (!sender) hintSenders.set(deps, (sender = cloudTasksHintSender(deps.tasks, deps.config)));
  return sender;
}

export function readerFor(deps: Dependencies, scope: Scope): ProjectionReader {
  return new ProjectionReader(scopedObjectStore(deps.objects, scope), `${scope.tenant}/${scope.workspace}`);
}
