import { http } from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { dependencies } from '../../shared/runtime/dependencies.ts';
import { createCompactorApp } from './app.ts';

http('compactor', getRequestListener(createCompactorApp(dependencies()).fetch));
