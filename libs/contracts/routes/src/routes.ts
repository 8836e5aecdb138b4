import type { ServiceName } from './services';

/**
 * How a route's path is compared with a request path, as Kubernetes Ingress `pathType`:
 * - `exact`: the whole path, case-sensitively;
 * - `prefix`: element by element after splitting on `/`, so `/_matrix/key` matches
 *   `/_matrix/key` and `/_matrix/key/v2/server` but not `/_matrix/keys`.
 *
 * https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types
 */
export type RouteMatch = 'exact' | 'prefix';

export interface Route {
  /** Starts with `/`, no trailing `/`, no query. */
  readonly path: string;
  readonly match: RouteMatch;
  readonly service: ServiceName;
}

/** The service that answers every path no route claims (with M_UNRECOGNIZED when it has no handler). */
export const DEFAULT_SERVICE = 'client-api' satisfies ServiceName;

/**
 * Which service answers each public HTTP path in distributed mode. The Helm chart's
 * Ingress (through `helm/axon/files/routes.json`, written by `npm run routes`) and the
 * nginx configuration from {@link renderNginxConfig} are both rendered from this table.
 * Overlapping entries are fine: the longest matching path wins, as in an Ingress.
 */
export const ROUTES = [
  // /sync is exact: /_matrix/client/v3/sync/... does not exist and belongs to nobody.
  { path: '/_matrix/client/v3/sync', match: 'exact', service: 'sync' },
  { path: '/_matrix/client/r0/sync', match: 'exact', service: 'sync' },
  { path: '/_matrix/client/v3/presence', match: 'prefix', service: 'sync' },
  { path: '/_matrix/client/r0/presence', match: 'prefix', service: 'sync' },
  { path: '/_matrix/federation', match: 'prefix', service: 'federation-receiver' },
  { path: '/_matrix/key', match: 'prefix', service: 'federation-receiver' },
  { path: '/_matrix/media', match: 'prefix', service: 'media' },
  { path: '/_matrix/client/v1/media', match: 'prefix', service: 'media' },
  { path: '/_matrix/client', match: 'prefix', service: 'client-api' },
  { path: '/_synapse/admin', match: 'prefix', service: 'client-api' },
  { path: '/.well-known/matrix', match: 'prefix', service: 'client-api' },
] as const satisfies readonly Route[];

/** The services that answer public HTTP requests: those {@link ROUTES} or the default send traffic to. */
export type HttpServiceName = (typeof ROUTES)[number]['service'] | typeof DEFAULT_SERVICE;

export const HTTP_SERVICE_NAMES: readonly HttpServiceName[] = [
  ...new Set<HttpServiceName>([DEFAULT_SERVICE, ...ROUTES.map((r) => r.service)]),
];

/** `/a/b/` and `/a/b` are the same prefix; `/` stays `/`. */
function trimTrailingSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** Whether `route` matches `path` (a request path without query), with Ingress semantics. */
export function routeMatches(route: Pick<Route, 'path' | 'match'>, path: string): boolean {
  if (route.match === 'exact') return path === route.path;
  const prefix = trimTrailingSlashes(route.path);
  if (prefix === '/') return path.startsWith('/');
  // Element-wise: the request continues with a `/` (or ends) where the prefix ends.
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The route that answers `path` among `routes`, as an Ingress controller picks it: the
 * longest matching path; on a tie an exact route before a prefix one. `undefined` when
 * none matches (the default backend then answers). A `?query` or `#fragment` is ignored.
 */
export function matchRoute<R extends Pick<Route, 'path' | 'match'>>(path: string, routes: readonly R[]): R | undefined {
  const bare = path.replace(/[?#].*$/s, '');
  let best: R | undefined;
  let bestLength = -1;
  for (const route of routes) {
    if (!routeMatches(route, bare)) continue;
    const length = route.match === 'exact' ? route.path.length : trimTrailingSlashes(route.path).length;
    if (length > bestLength || (length === bestLength && route.match === 'exact' && best?.match !== 'exact')) {
      best = route;
      bestLength = length;
    }
  }
  return best;
}

/**
 * The service that answers a request for `path` in distributed mode. The path is
 * compared as sent (no percent-decoding or `//` merging), as Kubernetes describes it.
 */
export function routeFor(path: string): HttpServiceName {
  return matchRoute(path, ROUTES)?.service ?? DEFAULT_SERVICE;
}
