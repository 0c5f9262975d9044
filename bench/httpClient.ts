import { Agent, request } from 'node:http';

/**
 * The benchmarks' own HTTP clients (the instant worker's callbacks, the load generator's requests):
 * `send(method, url, headers, body?)` resolves with the status and the body as text; it rejects on a
 * connection error. node:http with kept-alive connections rather than fetch: these clients share the
 * machine's 2 cores (and, for the load generator, the event loop of the stack's local router) with
 * what they measure, and fetch (undici) costs about twice the CPU per request.
 */
export function benchHttpClient() {
  const agent = new Agent({ keepAlive: true });
  const send = (method: string, url: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method,
          agent,
          headers: {
            ...headers,
            ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  return { send, close: () => agent.destroy() };
}
