/**
 * Which methods each route path answers, so that a request for a known path with another method
 * gets 405 and `Allow` (RFC 9110 §15.5.6), and OPTIONS gets `Allow`, instead of a 404 that says
 * the resource does not exist. Fastify's router answers 404 for both and keeps no reverse index;
 * find-my-way's own lookup is by method, so this keeps the paths it was given and matches them the
 * way the routes are written here (static segments and `:param` segments, no regex parameters).
 */
export class RouteMethods {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | string[]): void {
    let route = this.routes.get(url);
    if (!route) {
      route = { pattern: compile(url), methods: new Set() };
      this.routes.set(url, route);
    }
    for (const method of [methods].flat()) route.methods.add(method.toUpperCase());
    // Fastify answers HEAD for every GET route (exposeHeadRoutes).
    if (route.methods.has('GET')) route.methods.add('HEAD');
  }

  /** The methods answered at this request path (without its query), sorted; empty for an unknown path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: own } of this.routes.values()) {
      if (pattern.test(path)) for (const method of own) methods.add(method);
    }
    return [...methods].sort();
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/metrics/worker/:name/timeseries` → one segment per parameter; a trailing slash is ignored, as the router does. */
function compile(url: string): RegExp {
  const segments = url.replace(/\/+$/, '').split('/').map((segment) => {
    if (segment === '*') return '.*';
    return segment.startsWith(':') ? '[^/]+' : escape(segment);
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}
