import { getRequestListener } from '@hono/node-server';
import { registerHttpFunction } from '../../shared/http/functionsFramework.ts';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { createCompactorApp } from './app.ts';

const deps = dependencies();
registerHttpFunction('compactor', getRequestListener(createCompactorApp(deps).fetch), {
  log: deps.log,
  ids: deps.ids,
  maxBodyBytes: deps.config.maxBodyBytes,
});
