import type { Principal } from '../auth/principal.ts';
import type { Logger } from '../observability/logger.ts';

/** Variables every request carries through the hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    principal: Principal;
    /** Set when an Idempotency-Key replay answered, so domain metrics do not move again. */
    replayed: boolean;
    /** The error body's code when the request failed, for the request's log line. */
    errorCode: string;
    /** Registry: time spent diffing and resolving schemas in this request. */
    diffMs: number;
  };
}
