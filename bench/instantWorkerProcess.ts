/** The benchmarks' instant worker in a process of its own: reports its port, then every event, over IPC. */
import type { AddressInfo } from 'node:net';
import { serveInstantWorker } from './instantWorker.ts';

const server = await serveInstantWorker((event) => process.send?.(event));
process.send?.({ port: (server.address() as AddressInfo).port });
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
