import { DEFAULT_SERVICE, HTTP_SERVICE_NAMES, matchRoute, routeFor, ROUTES, type Route } from './routes';
import { SERVICE_NAMES } from './services';

describe('routeFor', () => {
  it.each([
    ['/_matrix/client/v3/sync', 'sync'],
    ['/_matrix/client/r0/sync', 'sync'],
    ['/_matrix/client/v3/sync?since=s72_4&timeout=30000', 'sync'],
    // Exact: anything longer falls back to the client API prefix.
    ['/_matrix/client/v3/sync/', 'client-api'],
    ['/_matrix/client/v3/syncing', 'client-api'],
    ['/_matrix/client/v3/presence/@alice:example.org/status', 'sync'],
    ['/_matrix/client/r0/presence/@alice:example.org/status', 'sync'],
    ['/_matrix/client/v3/presence', 'sync'],
    ['/_matrix/client/v3/presencex', 'client-api'],
    ['/_matrix/federation/v1/send/1234', 'federation-receiver'],
    ['/_matrix/federation', 'federation-receiver'],
    ['/_matrix/key/v2/server', 'federation-receiver'],
    ['/_matrix/key/v2/query', 'federation-receiver'],
    ['/_matrix/keys', 'client-api'],
    ['/_matrix/media/v3/download/example.org/abc', 'media'],
    ['/_matrix/media/v3/upload', 'media'],
    ['/_matrix/client/v1/media/thumbnail/example.org/abc?width=32', 'media'],
    ['/_matrix/client/v1/media', 'media'],
    ['/_matrix/client/v1/mediastore', 'client-api'],
    ['/_matrix/client/v1/login/get_token', 'client-api'],
    ['/_matrix/client/v3/login', 'client-api'],
    ['/_matrix/client/versions', 'client-api'],
    ['/_synapse/admin/v1/register', 'client-api'],
    ['/.well-known/matrix/client', 'client-api'],
    ['/.well-known/matrix/server', 'client-api'],
    // Nothing claims these: the default service answers (M_UNRECOGNIZED).
    ['/', 'client-api'],
    ['/_matrix/unknown', 'client-api'],
    ['/metrics', 'client-api'],
    // Paths are case-sensitive.
    ['/_MATRIX/client/v3/sync', 'client-api'],
    ['/_matrix/Federation/v1/version', 'client-api'],
  ])('%s -> %s', (path, service) => {
    expect(routeFor(path)).toBe(service);
  });
});

describe('matchRoute (Kubernetes Ingress path matching)', () => {
  // The cases of the Ingress documentation's "Examples" table, in its order.
  const cases: Array<[string, Route[], string, string | undefined]> = [
    ['prefix / matches everything', [{ path: '/', match: 'prefix', service: 'sync' }], '/anything/at/all', 'sync'],
    ['exact matches itself', [{ path: '/foo', match: 'exact', service: 'sync' }], '/foo', 'sync'],
    ['exact is not a prefix', [{ path: '/foo', match: 'exact', service: 'sync' }], '/bar', undefined],
    ['exact does not take a trailing slash', [{ path: '/foo', match: 'exact', service: 'sync' }], '/foo/', undefined],
    ['exact with a trailing slash needs it', [{ path: '/foo/', match: 'exact', service: 'sync' }], '/foo', undefined],
    ['prefix matches itself', [{ path: '/foo', match: 'prefix', service: 'sync' }], '/foo', 'sync'],
    ['prefix matches a trailing slash', [{ path: '/foo', match: 'prefix', service: 'sync' }], '/foo/', 'sync'],
    ['prefix trailing slash is ignored', [{ path: '/foo/', match: 'prefix', service: 'sync' }], '/foo', 'sync'],
    ['prefix is per element, not per character', [{ path: '/aaa/bb', match: 'prefix', service: 'sync' }], '/aaa/bbb', undefined],
    ['prefix element, deeper', [{ path: '/aaa/bbb', match: 'prefix', service: 'sync' }], '/aaa/bbb/ccc', 'sync'],
    ['prefix does not match a longer last element', [{ path: '/aaa/bbb', match: 'prefix', service: 'sync' }], '/aaa/bbbxyz', undefined],
    [
      'longest prefix wins',
      [
        { path: '/', match: 'prefix', service: 'media' },
        { path: '/aaa', match: 'prefix', service: 'sync' },
      ],
      '/aaa/ccc',
      'sync',
    ],
    [
      'exact wins a tie with prefix, whatever the order',
      [
        { path: '/foo', match: 'prefix', service: 'media' },
        { path: '/foo', match: 'exact', service: 'sync' },
      ],
      '/foo',
      'sync',
    ],
    [
      'the tied prefix still takes the rest',
      [
        { path: '/foo', match: 'exact', service: 'sync' },
        { path: '/foo', match: 'prefix', service: 'media' },
      ],
      '/foo/bar',
      'media',
    ],
    [
      'a longer prefix beats a shorter exact',
      [
        { path: '/a', match: 'exact', service: 'sync' },
        { path: '/a/b', match: 'prefix', service: 'media' },
      ],
      '/a/b/c',
      'media',
    ],
    ['no route matches', [{ path: '/foo', match: 'prefix', service: 'sync' }], '/bar', undefined],
  ];
  it.each(cases)('%s', (_name, routes, path, service) => {
    expect(matchRoute(path, routes)?.service).toBe(service);
  });
});

describe('ROUTES', () => {
  it('has absolute paths without trailing slash, query or duplicates', () => {
    for (const route of ROUTES) expect(route.path).toMatch(/^\/[A-Za-z0-9._/-]*[^/]$/);
    const keys = ROUTES.map((r) => `${r.match} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('names only known services, and the default is one of them', () => {
    for (const service of HTTP_SERVICE_NAMES) expect(SERVICE_NAMES).toContain(service);
    expect(HTTP_SERVICE_NAMES).toContain(DEFAULT_SERVICE);
    expect([...HTTP_SERVICE_NAMES].sort()).toEqual(['client-api', 'federation-receiver', 'media', 'sync']);
  });

  it('routes each entry to its own service (no entry is shadowed)', () => {
    for (const route of ROUTES) {
      expect(routeFor(route.path)).toBe(route.service);
      if (route.match === 'prefix') expect(routeFor(`${route.path}/x`)).toBe(route.service);
    }
  });
});
