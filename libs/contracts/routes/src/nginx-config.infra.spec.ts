import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig, type NginxConfigOptions } from './nginx-config';
import { HTTP_SERVICE_NAMES, ROUTES, routeFor, type HttpServiceName } from './routes';

// The rendered file is checked by nginx itself and then served: requests for the
// routing table's paths reach the service routeFor names. In the infra project: it needs
// an nginx binary, as the distributed deployment does (`apt-get install nginx-light`;
// `.ci/run` and deploy/local/distributed-up.sh install it), and fails without one.
const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const nginxMissing = `no nginx binary (looked in /usr/sbin, /usr/local/sbin, /usr/bin); install nginx-light to run the nginx tests`;

describe('the rendered config under real nginx', () => {
  let dir: string;
  beforeEach(() => {
    if (!NGINX) throw new Error(nginxMissing);
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
