import { getRequestListener } from '@hono/node-server';
import { registerHttpFunction } from '../../shared/http/functionsFramework.ts';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { createApiApp } from './app.ts';

const deps = dependencies();
registerHttpFunction('api', getRequestListener(createApiApp(deps).fetch), {
  log: deps.log,
  ids: deps.ids,
  maxBodyBytes: deps.config.maxBodyBytes,
});
