import { describe, expect, it } from 'vitest';
import { functionTargets } from '../../local/functionHost.ts';
import { CLOUD_EVENT_FUNCTIONS, FUNCTION_APPS } from '../../local/functionApps.ts';
import { gatewayRoute, gatewayRoutes } from '../../shared/http/gatewayRoutes.ts';
import { loadConfig } from '../../shared/runtime/config.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

/** Enough of Dependencies to build every app: building routes touches no adapter. */
function routeOnlyDependencies(localStack: boolean): Dependencies {
  const inert = new Proxy({}, { get: () => () => undefined });
  const log = { child: () => log } as unknown as Dependencies['log'];
  return {
    config: loadConfig({ ARCO_LOCAL_STACK: localStack ? '1' : '0' }),
    objects: inert,
    documents: inert,
    tasks: inert,
    clock: inert,
    ids: inert,
    failpoints: inert,
    tokens: inert,
    log,
  } as unknown as Dependencies;
}

/** `METHOD /path/{param} → function` for every route the functions' hono apps register. */
function codeRoutes(localStack: boolean): string[] {
  const deps = routeOnlyDependencies(localStack);
  const found = new Set<string>();
  for (const [backend, create] of Object.entries(FUNCTION_APPS)) {
    if (!localStack && CLOUD_EVENT_FUNCTIONS.has(backend)) continue; // deployed without HTTP routes
    for (const { method, path } of create(deps).routes) {
      if (method === 'ALL') continue; // middleware
      // A regex parameter with alternatives (`:action{pause|resume}`) is one gateway path per alternative.
      const alternatives = /:(\w+)\{([^}]+)\}/.exec(path);
      const paths = alternatives
        ? alternatives[2]!.split('|').map((alt) => path.replace(alternatives[0], alt))
        : [path];
      for (const p of paths) found.add(`${method} ${p.replace(/:(\w+)/g, '{$1}')} → ${backend}`);
    }
  }
  return [...found].sort();
}

const documentRoutes = (options: { withLocalOnly: boolean }) =>
  gatewayRoutes()
    .filter((r) => options.withLocalOnly || !r.localOnly)
    .map((r) => `${r.method} ${r.path} → ${r.backend}`)
    .sort();

describe('the gateway document (functions/openapi.json) and the functions agree', () => {
  it('names exactly the functions of functions/', () => {
    const backends = new Set(gatewayRoutes().map((r) => r.backend));
    expect([...backends].sort()).toEqual(functionTargets());
    expect(Object.keys(FUNCTION_APPS).sort()).toEqual(functionTargets());
  });

  it('on the local stack: every route in code is in the document with its function, and the reverse', () => {
    expect(codeRoutes(true)).toEqual(documentRoutes({ withLocalOnly: true }));
  });

  it('as deployed: the routes left without the local-only paths are exactly the deployed code routes', () => {
    expect(codeRoutes(false)).toEqual(documentRoutes({ withLocalOnly: false }));
  });

  it('matches a literal segment before a parameter, and HEAD as GET', () => {
    expect(gatewayRoute('GET', '/api/v1/workspaces/w/manifests/step')?.path).toBe(
      '/api/v1/workspaces/{workspaceId}/manifests/step',
    );
    expect(gatewayRoute('POST', '/api/v1/workspaces/w/runs')?.backend).toBe('run-trigger');
    expect(gatewayRoute('GET', '/api/v1/workspaces/w/runs')?.backend).toBe('api');
    expect(gatewayRoute('HEAD', '/healthz')?.backend).toBe('api');
    expect(gatewayRoute('GET', '/api/v1/workspaces/w/runs/r/nothing-here')).toBeUndefined();
  });

  it('refuses a document whose operation names no function', () => {
    expect(() =>
      gatewayRoutes({ paths: { '/x': { get: { 'x-google-backend': { address: 'https://elsewhere' } } } } }),
    ).toThrow(/names no function backend/);
  });
});
