import type { Principal } from '../auth/principal.ts';
import type { Logger } from '../observability/logger.ts';

/** Variables every request carries through the hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    principal: Principal;
  };
}
