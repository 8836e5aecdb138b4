import { DEFAULT_SERVICE, ROUTES, type HttpServiceName, type Route } from './routes';
import type { ServiceName } from './services';

export interface NginxConfigOptions {
  /** `host:port` nginx listens on (`[::]:8080` for IPv6). */
  readonly listen: string;
  /** The `host:port` of every replica of each service the routes send traffic to. */
  readonly upstreams: Readonly<Record<HttpServiceName, readonly string[]>> &
    Readonly<Partial<Record<ServiceName, readonly string[]>>>;
  /**
   * Absolute directory for everything nginx writes: pid file, error and access logs and
   * the request/response temp directories, so it runs as a non-root user. Start it with
   * `nginx -p <prefix> -e <prefix>/error.log -c <file>` so the error log compiled into
   * the binary is not opened either (nginx >= 1.19.5).
   */
  readonly prefix: string;
  /** `false` writes `daemon off;` (foreground, as in a container or under a supervisor). */
  readonly daemon?: boolean;
  /** Default 'auto' (one per core). */
  readonly workerProcesses?: number | 'auto';
  /** Each long-polling /sync holds two connections (client and upstream). Default 4096. */
  readonly workerConnections?: number;
  /** Largest request body; media uploads go through here. Default '100m'. */
  readonly clientMaxBodySize?: string;
  /**
   * How long nginx waits for a response; /sync long-polls for the client's `timeout`
   * (clients ask for up to 10 minutes). Default 660 seconds.
   */
  readonly proxyReadTimeoutSeconds?: number;
  /** Idle keep-alive connections kept per upstream in each worker. Default 32. */
  readonly keepalive?: number;
  /** Write an access log to `<prefix>/access.log`. Default false. */
  readonly accessLog?: boolean;
  /** Defaults to {@link ROUTES}, answered by {@link DEFAULT_SERVICE} when none matches. */
  readonly routes?: readonly Route[];
  readonly defaultService?: ServiceName;
}

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
// Characters that would end or escape an nginx directive are refused rather than quoted.
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const SAFE_SIZE = /^\d+[kKmMgG]?$/;

function upstreamName(service: string): string {
  return `axon_${service.replace(/-/g, '_')}`;
}

function checkHostPort(what: string, value: string): string {
  const match = LISTEN.exec(value);
  if (!match || Number(match[2]) > 65535) throw new Error(`${what}: expected host:port, got "${value}"`);
  return value;
}

function checkPath(what: string, value: string): string {
  if (!SAFE_PATH.test(value)) throw new Error(`${what}: expected an absolute path of [A-Za-z0-9._/-], got "${value}"`);
  return value;
}

function positiveInt(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${what}: expected a positive integer, got ${value}`);
  return value;
}

/**
 * Each nginx location and the service behind it. An Exact route is `location = /p`; a
 * Prefix route is `location = /p` plus `location ^~ /p/`, which together match what
 * Kubernetes' element-wise prefix matches (`/p`, `/p/...`, never `/px`). nginx prefers
 * `=` locations and then the longest `^~` prefix, as an Ingress prefers the longest path
 * and an Exact route on a tie; `^~` also keeps any regex location from taking over.
 */
function locations(routes: readonly Route[], defaultService: ServiceName): Map<string, ServiceName> {
  const exact = new Map<string, ServiceName>();
  const prefix = new Map<string, ServiceName>();
  const put = (map: Map<string, ServiceName>, key: string, service: ServiceName): void => {
    const existing = map.get(key);
    if (existing !== undefined && existing !== service) {
      throw new Error(`routes: two routes claim ${key} (${existing} and ${service})`);
    }
    map.set(key, service);
  };
  for (const route of routes) {
    const path = checkPath('route path', route.path);
    const service = route.service;
    if (route.match === 'exact') {
      put(exact, `= ${path}`, service);
      continue;
    }
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === '') {
      put(prefix, '/', service);
      continue;
    }
    put(prefix, `^~ ${trimmed}/`, service);
    // An Exact route on the same path wins the tie (Ingress rule), so it keeps `= /p`.
    if (!routes.some((r) => r.match === 'exact' && r.path === trimmed)) put(exact, `= ${trimmed}`, service);
  }
  if (!prefix.has('/')) prefix.set('/', defaultService);
  return new Map([...exact, ...prefix]);
}

/**
 * A complete nginx.conf that routes like the Ingress rendered from the same table: for
 * running the distributed services behind one address without Kubernetes (local
 * clusters, Complement, benchmarks). Upstream host names are resolved when nginx starts.
 */
export function renderNginxConfig(options: NginxConfigOptions): string {
  const prefix = checkPath('prefix', options.prefix).replace(/\/+$/, '');
  if (prefix === '') throw new Error('prefix: "/" is not a private directory');
  const listen = checkHostPort('listen', options.listen);
  const routes = options.routes ?? ROUTES;
  const byLocation = locations(routes, options.defaultService ?? DEFAULT_SERVICE);
  const workerProcesses = options.workerProcesses ?? 'auto';
  if (workerProcesses !== 'auto') positiveInt('workerProcesses', workerProcesses);
  const workerConnections = positiveInt('workerConnections', options.workerConnections ?? 4096);
  const keepalive = positiveInt('keepalive', options.keepalive ?? 32);
  const readTimeout = positiveInt('proxyReadTimeoutSeconds', options.proxyReadTimeoutSeconds ?? 660);
  const bodySize = options.clientMaxBodySize ?? '100m';
  if (!SAFE_SIZE.test(bodySize)) throw new Error(`clientMaxBodySize: expected a size like 100m, got "${bodySize}"`);

  const services = [...new Set(byLocation.values())].sort();
  const upstreamBlocks = services.map((service) => {
    const servers = options.upstreams[service] ?? [];
    if (servers.length === 0) throw new Error(`upstreams.${service}: at least one host:port is needed (routes send traffic there)`);
    return [
      `    upstream ${upstreamName(service)} {`,
      ...servers.map((s) => `        server ${checkHostPort(`upstreams.${service}`, s)};`),
      `        keepalive ${keepalive};`,
      '    }',
    ].join('\n');
  });

  // Longest first reads like the matching rule; nginx itself does not care about order.
  const sorted = [...byLocation].sort(([a], [b]) => b.length - a.length || a.localeCompare(b));
  const locationBlocks = sorted.map(([location, service]) =>
    [`        location ${location} {`, `            proxy_pass http://${upstreamName(service)};`, '        }'].join('\n'),
  );

  return [
    '# Rendered by renderNginxConfig (@axon/contracts-routes) from the Axon routing table.',
    ...(options.daemon === false ? ['daemon off;'] : []),
    `worker_processes ${workerProcesses};`,
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log warn;`,
    '',
    'events {',
    `    worker_connections ${workerConnections};`,
    '}',
    '',
    'http {',
    `    access_log ${options.accessLog ? `${prefix}/access.log` : 'off'};`,
    `    client_body_temp_path ${prefix}/client_body_temp;`,
    `    proxy_temp_path ${prefix}/proxy_temp;`,
    `    fastcgi_temp_path ${prefix}/fastcgi_temp;`,
    `    uwsgi_temp_path ${prefix}/uwsgi_temp;`,
    `    scgi_temp_path ${prefix}/scgi_temp;`,
    '    server_tokens off;',
    `    client_max_body_size ${bodySize};`,
    '',
    '    proxy_http_version 1.1;',
    // Empty Connection header: keep upstream connections alive instead of `close`.
    '    proxy_set_header Connection "";',
    '    proxy_set_header Host $host;',
    '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '    proxy_connect_timeout 5s;',
    `    proxy_read_timeout ${readTimeout}s;`,
    `    proxy_send_timeout ${readTimeout}s;`,
    // A replica that refuses or drops connections: try the next one. nginx never resends
    // a non-idempotent request (POST) once it reached an upstream.
    '    proxy_next_upstream error timeout;',
    '',
    ...upstreamBlocks.flatMap((block) => [block, '']),
    '    server {',
    `        listen ${listen};`,
    '',
    ...locationBlocks,
    '    }',
    '}',
    '',
  ].join('\n');
}
