import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * How the Cloud Tasks stand-in delivers one HTTP task: `deliver(url, method, headers, body,
 * deadlineMs)` resolves with the response status once the whole response is read, or 0 when the
 * target could not be reached, reset the connection or missed the dispatch deadline (as Cloud Tasks
 * counts such an attempt: failed, retried with backoff). Connections are kept alive per target.
 *
 * Node's `http` rather than `fetch`: under `npm run bench dag` fetch (undici and its web streams)
 * took about a quarter of the stand-ins' CPU, which the stack's other processes share on 2 cores.
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
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });
  return {
    deliver: (url, method, headers, body, deadlineMs) =>
      new Promise<number>((resolve) => {
        const secure = url.startsWith('https:');
        let settled = false;
        const settle = (status: number) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(status);
        };
        const outgoing = (secure ? httpsRequest : httpRequest)(
          url,
          {
            method,
            headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
            agent: secure ? https : http,
          },
          (response) => {
            response.on('error', () => settle(0));
            response.on('end', () => settle(response.statusCode ?? 0));
            response.resume();
          },
        );
        const deadline = setTimeout(() => {
          outgoing.destroy();
          settle(0);
        }, deadlineMs);
        outgoing.on('error', () => settle(0));
        outgoing.end(body);
      }),
    close() {
      http.destroy();
      https.destroy();
    },
  };
}
