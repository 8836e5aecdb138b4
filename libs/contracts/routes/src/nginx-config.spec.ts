import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig, type NginxConfigOptions } from './nginx-config';
import { HTTP_SERVICE_NAMES, ROUTES, routeFor, type HttpServiceName } from './routes';

const UPSTREAMS: NginxConfigOptions['upstreams'] = {
  'client-api': ['client-api-0:8008', 'client-api-1:8008'],
  sync: ['10.0.0.5:8008'],
  'federation-receiver': ['federation-receiver:8008'],
  media: ['[fd00::1]:8008'],
};

function render(extra: Partial<NginxConfigOptions> = {}): string {
  return renderNginxConfig({ listen: '0.0.0.0:8080', upstreams: UPSTREAMS, prefix: '/tmp/axon-nginx', ...extra });
}

/** `location <x>` -> the upstream its proxy_pass names. */
function locationsOf(conf: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of conf.matchAll(/location ([^{]+?) \{\s*proxy_pass http:\/\/(\S+);/g)) found.set(m[1]!, m[2]!);
  return found;
}

describe('renderNginxConfig', () => {
  it('has one location per exact route, two per prefix route, and / for the default service', () => {
    const expected = new Map<string, string>([['/', 'axon_client_api']]);
    for (const route of ROUTES) {
      const upstream = `axon_${route.service.replace(/-/g, '_')}`;
      expected.set(`= ${route.path}`, upstream);
      if (route.match === 'prefix') expected.set(`^~ ${route.path}/`, upstream);
    }
    expect(locationsOf(render())).toEqual(expected);
  });

  it('declares every routed upstream with its servers and keep-alive', () => {
    const conf = render({ keepalive: 8 });
    expect(conf).toContain(
      'upstream axon_client_api {\n        server client-api-0:8008;\n        server client-api-1:8008;\n        keepalive 8;\n    }',
    );
    expect(conf).toContain('upstream axon_sync {\n        server 10.0.0.5:8008;\n        keepalive 8;\n    }');
    expect(conf).toContain('server [fd00::1]:8008;');
    expect(conf.match(/upstream \S+ \{/g)).toHaveLength(HTTP_SERVICE_NAMES.length);
  });

  it('proxies with keep-alive, forwarded headers, long reads, retries on a dead replica and media-sized bodies', () => {
    const conf = render();
    for (const line of [
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_read_timeout 660s;',
      'proxy_next_upstream error timeout;',
      'client_max_body_size 100m;',
      'listen 0.0.0.0:8080;',
    ]) {
      expect(conf).toContain(line);
    }
  });

  it('keeps every file it writes under the prefix', () => {
    const conf = render({ prefix: '/run/axon/nginx/', accessLog: true });
    const paths = [...conf.matchAll(/^\s*(pid|error_log|access_log|\w+_temp_path) (\S+?)[ ;]/gm)];
    expect(paths.map((m) => m[1]).sort()).toEqual(
      ['access_log', 'client_body_temp_path', 'error_log', 'fastcgi_temp_path', 'pid', 'proxy_temp_path', 'scgi_temp_path', 'uwsgi_temp_path'],
    );
    for (const m of paths) expect(m[2]).toMatch(/^\/run\/axon\/nginx\/[a-z_]+(\.log|\.pid)?$/);
  });

  it('writes daemon off only when asked', () => {
    expect(render()).not.toContain('daemon');
    expect(render({ daemon: false })).toMatch(/^daemon off;$/m);
  });

  it('lets an exact route keep its path when a prefix route has the same one', () => {
    const conf = render({
      routes: [
        { path: '/a', match: 'prefix', service: 'media' },
        { path: '/a', match: 'exact', service: 'sync' },
      ],
    });
    expect(locationsOf(conf)).toEqual(
      new Map([
        ['= /a', 'axon_sync'],
        ['^~ /a/', 'axon_media'],
        ['/', 'axon_client_api'],
      ]),
    );
  });

  it.each<[string, Partial<NginxConfigOptions>, RegExp]>([
    ['a listen address without port', { listen: '0.0.0.0' }, /listen: expected host:port/],
    ['a relative prefix', { prefix: 'tmp/nginx' }, /prefix: expected an absolute path/],
    ['a prefix that would end the directive', { prefix: '/tmp/x; user root' }, /prefix/],
    ['the root directory as prefix', { prefix: '/' }, /not a private directory/],
    ['a routed service without replicas', { upstreams: { ...UPSTREAMS, media: [] } }, /upstreams.media: at least one/],
    ['an upstream that is not host:port', { upstreams: { ...UPSTREAMS, sync: ['sync'] } }, /upstreams.sync: expected host:port/],
    ['a bad body size', { clientMaxBodySize: '100 MB' }, /clientMaxBodySize/],
    [
      'two services claiming one path',
      {
        routes: [
          { path: '/a', match: 'exact', service: 'sync' },
          { path: '/a', match: 'exact', service: 'media' },
        ],
      },
      /two routes claim = \/a/,
    ],
  ])('refuses %s', (_name, extra, error) => {
    expect(() => render(extra)).toThrow(error);
  });
});

// The rendered file is checked by nginx itself and then served: requests for the
// routing table's paths reach the service routeFor names. Needs an nginx binary; CI
// installs one (nginx-light) and fails here without it.
const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const nginxMissing = `no nginx binary (looked in /usr/sbin, /usr/local/sbin, /usr/bin); install nginx-light to run the nginx tests`;
if (!NGINX && !process.env['CI']) console.warn(`nginx-config.spec: skipping the real nginx tests: ${nginxMissing}`);
const withNginx = NGINX || process.env['CI'] ? describe : describe.skip;

withNginx('the rendered config under real nginx', () => {
  let dir: string;
  beforeEach(() => {
    if (!NGINX) throw new Error(`CI requires nginx: ${nginxMissing}`);
    dir = mkdtempSync(join(tmpdir(), 'axon-nginx-'));
    // Run as root (CI containers), nginx's workers switch to `nobody` and must reach the prefix.
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes nginx -t', () => {
    const file = join(dir, 'nginx.conf');
    // nginx resolves upstream names while checking: names that resolve everywhere.
    const upstreams = { 'client-api': ['localhost:8008', '127.0.0.2:8008'], sync: ['127.0.0.1:8009'], 'federation-receiver': ['localhost:8010'], media: ['[::1]:8011'] };
    writeFileSync(file, renderNginxConfig({ listen: '127.0.0.1:18080', upstreams, prefix: dir, accessLog: true, daemon: false }));
    const result = spawnSync(NGINX!, ['-t', '-q', '-p', dir, '-e', join(dir, 'error.log'), '-c', file], { encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  describe('serving', () => {
    const servers: Server[] = [];
    let nginx: ChildProcess | undefined;
    afterEach(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx!.once('exit', resolve));
        nginx.kill('SIGTERM');
        await exited;
      }
      await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    });

    async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
      const server = createServer(handler);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }

    /** A port nothing listens on: a replica that died. */
    async function deadPort(): Promise<number> {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      return port;
    }

    function get(port: number, path: string): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject).end();
      });
    }

    async function startNginx(upstreams: NginxConfigOptions['upstreams']): Promise<number> {
      const port = await deadPort();
      const file = join(dir, 'nginx.conf');
      writeFileSync(
        file,
        renderNginxConfig({ listen: `127.0.0.1:${port}`, upstreams, prefix: dir, daemon: false, workerProcesses: 1 }),
      );
      nginx = spawn(NGINX!, ['-p', dir, '-e', join(dir, 'error.log'), '-c', file], { stdio: 'ignore' });
      for (let attempt = 0; attempt < 100; attempt++) {
        if (nginx.exitCode !== null) break;
        const up = await get(port, '/').then(
          () => true,
          () => false,
        );
        if (up) return port;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '(no error.log)';
      throw new Error(`nginx did not start (exit ${nginx.exitCode}): ${log}`);
    }

    it('sends each path to the service routeFor names, with the request URI unchanged', async () => {
      const upstreams = {} as Record<HttpServiceName, string[]>;
      for (const service of HTTP_SERVICE_NAMES) {
        const port = await listen((req, res) => res.end(JSON.stringify({ service, url: req.url, host: req.headers.host })));
        upstreams[service] = [`127.0.0.1:${port}`];
      }
      const port = await startNginx(upstreams);
      const paths = [
        ...ROUTES.flatMap((r) => [r.path, `${r.path}/`, `${r.path}/deeper/still?x=1`, `${r.path}x`]),
        '/',
        '/_matrix/unknown',
        '/_matrix/client/v3/sync?since=s1_2&timeout=30000',
      ];
      for (const path of paths) {
        const { status, body } = await get(port, path);
        expect({ path, status, ...JSON.parse(body) }).toEqual({ path, status: 200, service: routeFor(path), url: path, host: '127.0.0.1' });
      }
    });

    it('moves requests off a replica that refuses connections', async () => {
      const alive = await listen((_req, res) => res.end('ok'));
      const dead = await deadPort();
      const replicas = [`127.0.0.1:${dead}`, `127.0.0.1:${alive}`];
      const port = await startNginx({ 'client-api': replicas, sync: replicas, 'federation-receiver': replicas, media: replicas });
      for (let i = 0; i < 6; i++) {
        expect(await get(port, '/_matrix/client/v3/sync')).toEqual({ status: 200, body: 'ok' });
      }
    });
  });
});
