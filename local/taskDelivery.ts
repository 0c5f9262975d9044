import { Agent as HttpAgent, type ClientRequest, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * How the Cloud Tasks stand-in delivers one HTTP task: `deliver(url, method, headers, body,
 * deadlineMs)` resolves with the response status once the whole response is read, or 0 when the
 * target could not be reached, reset the connection, missed the dispatch deadline or the request
 * could not even be made (a malformed URL or header): Cloud Tasks counts each as a failed attempt and
 * retries it with backoff. It never rejects. Redirects are not followed (a 3xx is a failed attempt),
 * unlike Cloud Tasks; the stack's own targets never redirect.
 *
 * Node's `http` rather than `fetch`: under `npm run bench dag` fetch (undici and its web streams)
 * took about a quarter of the stand-ins' CPU, which the stack's other processes share on 2 cores.
 * Connections are kept alive; a kept-alive connection the target closed meanwhile (a server's idle
 * timeout) is tried once more on a new one, as Node's documentation advises, not counted as a failure.
 */
export interface TaskDelivery {
  deliver(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    deadlineMs: number,
  ): Promise<number>;
  /** Closes the kept-alive connections. */
  close(): void;
}

export function taskDelivery(): TaskDelivery {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true }),
    'https:': new HttpsAgent({ keepAlive: true }),
  };
  return {
    deliver: (url, method, headers, body, deadlineMs) =>
      new Promise<number>((resolve) => {
        let outgoing: ClientRequest | undefined;
        let settled = false;
        const settle = (status: number) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(status);
        };
        const deadline = setTimeout(() => {
          outgoing?.destroy();
          settle(0);
        }, deadlineMs);
        const send = (afterReset: boolean) => {
          try {
            const target = new URL(url);
            const protocol = target.protocol as keyof typeof agents;
            if (!agents[protocol]) return settle(0);
            outgoing = (protocol === 'https:' ? httpsRequest : httpRequest)(
              target,
              {
                method,
                headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
                agent: agents[protocol],
              },
              (response) => {
                response.on('error', () => settle(0));
                response.on('end', () => settle(response.statusCode ?? 0));
                response.resume();
              },
            );
            const sent = outgoing;
            sent.on('error', (error: NodeJS.ErrnoException) => {
              if (!afterReset && sent.reusedSocket && error.code === 'ECONNRESET' && !settled) send(true);
              else settle(0);
            });
            sent.end(body);
          } catch {
            settle(0);
          }
        };
        send(false);
      }),
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
