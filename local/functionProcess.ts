/**
 * One function process of the local stack (see functionProcesses.ts): imports the modules of its plan,
 * which register their functions, and serves them on a loopback port through the Functions
 * Framework, the target named by the router's header. Tells the router its port, shares failpoint
 * counts and metrics with the other processes through it, and exits when the router is gone.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { metricsRegistry } from '../shared/observability/metrics.ts';
import { dependencies } from '../shared/runtime/dependencies.ts';
import { functionServers } from './functionHost.ts';
import {
  type FunctionProcessMessage,
  type FunctionProcessPlan,
  LOCAL_ONLY_HEADER,
  TARGET_HEADER,
} from './functionProcesses.ts';

const plan = JSON.parse(process.argv[2] ?? '{}') as FunctionProcessPlan;
const send = (message: FunctionProcessMessage) => {
  if (process.connected) process.send!(message);
};
for (const module of plan.modules) await import(pathToFileURL(module).href);
const serve = await functionServers();

const { failpoints } = dependencies();
failpoints.onFire = (name) => send({ type: 'failpoint_fired', name });
process.on('message', (message: FunctionProcessMessage) => {
  if (message.type === 'failpoint_fired') failpoints.consume(message.name);
  else if (message.type === 'failpoints_armed') {
    failpoints.replace(message.armed);
    send({ type: 'reply', id: message.id });
  } else if (message.type === 'metrics_request')
    void metricsRegistry
      .getMetricsAsJSON()
      .then((metrics) => send({ type: 'reply', id: message.id, metrics }));
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const ROUTER_HEADERS = new Set([TARGET_HEADER, LOCAL_ONLY_HEADER]);
const server = createServer((req, res) => {
  const target = String(req.headers[TARGET_HEADER] ?? '');
  const localOnly = req.headers[LOCAL_ONLY_HEADER] === '1';
  delete req.headers[TARGET_HEADER];
  delete req.headers[LOCAL_ONLY_HEADER];
  req.rawHeaders = req.rawHeaders.flatMap((value, i, raw) =>
    i % 2 === 0 && ROUTER_HEADERS.has(value.toLowerCase())
      ? []
      : i % 2 === 1 && ROUTER_HEADERS.has(raw[i - 1]!.toLowerCase())
        ? []
        : [value],
  );
  serve(target, localOnly, req, res);
});
// The router keeps its connections open for reuse; only it ever connects, so none is closed for idling.
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () =>
  send({ type: 'listening', port: (server.address() as AddressInfo).port }),
);
