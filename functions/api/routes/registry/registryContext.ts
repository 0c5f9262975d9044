import type { Context } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { TokenBucketLimiter } from '../../../../shared/http/tokenBucketLimiter.ts';
import { instrumentedDocumentStore } from '../../../../shared/registry/instrumentedDocumentStore.ts';
import { RegistryStore, type WriteContext } from '../../../../shared/registry/registryStore.ts';
import { SchemaCache } from '../../../../shared/registry/schemaCache.ts';
import type { Dependencies } from '../../../../shared/runtime/dependencies.ts';

/** What every registry route shares for the life of a function instance. */
export interface RegistryContext {
  deps: Dependencies;
  limiter: TokenBucketLimiter;
  cache: SchemaCache;
  /** The caller's workspace view of the registry. */
  store: (c: Context<AppEnv>) => RegistryStore;
  writeContext: (c: Context<AppEnv>) => WriteContext;
}

export function registryContext(deps: Dependencies): RegistryContext {
  const documents = instrumentedDocumentStore(deps.documents);
  const cache = new SchemaCache();
  return {
    deps,
    limiter: new TokenBucketLimiter(deps.clock),
    cache,
    store: (c) => new RegistryStore(documents, c.get('principal').scope!, deps.clock, cache),
    writeContext: (c) => ({ actor: c.get('principal').subject, correlationId: c.get('requestId') }),
  };
}
