import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { dependencies, type Dependencies } from '../runtime/dependencies.ts';
import type { AppEnv } from './appEnv.ts';
import { registerHttpFunction } from './functionsFramework.ts';

/**
 * Registers the hono app `createApp` builds as the HTTP Cloud Function `target` (the folder name under
 * `functions/`, which is also the deployed entry point), with the process's dependencies and the
 * Functions Framework error handling of `registerHttpFunction`. What every HTTP function's index does.
 */
export function registerAppFunction(target: string, createApp: (deps: Dependencies) => Hono<AppEnv>): void {
  const deps = dependencies();
  registerHttpFunction(target, getRequestListener(createApp(deps).fetch), {
    log: deps.log,
    ids: deps.ids,
    maxBodyBytes: deps.config.maxBodyBytes,
  });
}
