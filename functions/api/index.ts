import { http } from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { createApiApp } from './app.ts';

http('api', getRequestListener(createApiApp(dependencies()).fetch));
