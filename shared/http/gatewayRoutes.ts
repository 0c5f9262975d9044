import document from '../../functions/openapi.json' with { type: 'json' };

/**
 * One operation of the gateway document (`functions/openapi.json`, OpenAPI 2.0 as API Gateway takes
 * it): which function (`backend`, a folder of `functions/`) answers `method` on `path`.
 */
export interface GatewayRoute {
  /** Upper-case HTTP method. */
  method: string;
  /** The document's path template, `{name}` = one path segment. */
  path: string;
  backend: string;
  /** Marked `x-arco-local-only`: served by the local stack only, left out of the deployed gateway. */
  localOnly: boolean;
  pattern: RegExp;
  /** Literal segments: a literal beats a `{param}` in the same place, as in API Gateway's matching. */
  literals: number;
}

interface Operation {
  'x-google-backend'?: { address?: string };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** `${run_trigger_url}` → `run-trigger`: terraform substitutes each function's URL into the document. */
const BACKEND_ADDRESS = /^\$\{([a-z][a-z0-9_]*)_url\}$/;

const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

/** Every operation of a gateway document, most specific first. Throws on an operation with no backend. */
export function gatewayRoutes(
  doc: { paths: Record<string, Record<string, unknown>> } = document,
): GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const localOnly = item['x-arco-local-only'] === true;
    const pattern = new RegExp(
      `^${path
        .split('/')
        .map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : escape(segment)))
        .join('/')}$`,
    );
    const literals = path.split('/').filter((s) => s && !s.startsWith('{')).length;
    for (const method of HTTP_METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const address = BACKEND_ADDRESS.exec(operation['x-google-backend']?.address ?? '');
      if (!address)
        throw new Error(`gateway document: ${method.toUpperCase()} ${path} names no function backend`);
      routes.push({
        method: method.toUpperCase(),
        path,
        backend: address[1]!.replaceAll('_', '-'),
        localOnly,
        pattern,
        literals,
      });
    }
  }
  return routes.sort((a, b) => b.literals - a.literals);
}

const ROUTES = gatewayRoutes();

/**
 * The route that answers `method` on `path` (no query string), as the gateway matches it; `undefined`
 * when the document has none (the gateway answers 404 itself). `HEAD` matches a `GET`.
 */
export function gatewayRoute(
  method: string,
  path: string,
  routes: GatewayRoute[] = ROUTES,
): GatewayRoute | undefined {
  const wanted = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return routes.find((route) => route.method === wanted && route.pattern.test(path));
}
