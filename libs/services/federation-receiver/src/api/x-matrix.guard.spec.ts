import 'reflect-metadata';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { Body, Controller, Get, Module, Put, UseGuards } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JsonValue } from '@axon/matrix-canonical-json';
import type { ServerName } from '@axon/matrix-identifiers';
import { signXMatrixRequest, type Ed25519Backend } from '@axon/matrix-signing';
import { createHttpApp, listen } from '@axon/platform-http';
import { LOGGER } from '@axon/platform-runtime';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { createFederationReceiverMetrics, FEDERATION_RECEIVER_METRICS, type FederationReceiverMetrics } from '../federation-receiver.metrics';
import { KeyRing } from '../keys/key-ring';
import { OwnServerKeys } from '../keys/own-server-keys';
import { FakeRemoteKeySource, FakeServerKeysRepository, keyResponse, ownKeys, testBackend, testServer, type TestServer } from '../testing/server-key-fixtures';
import { Origin } from './origin';
import { XMatrixGuard } from './x-matrix.guard';

/** Two routes behind the guard, for this test only: who signed, and a body. */
@Controller('_matrix/federation/v1/probe')
@UseGuards(XMatrixGuard)
class ProbeController {
  @Get('whoami')
  whoami(@Origin() origin: ServerName): unknown {
    return { origin };
  }

  @Put('things/:id')
  put(@Origin() origin: ServerName, @Body() body: unknown): unknown {
    return { origin, body };
  }
}

describe('XMatrixGuard', () => {
  const DAY = 24 * 3600 * 1000;
  let backend: Ed25519Backend;
  let self: TestServer;
  let remote: TestServer;
  let app: NestFastifyApplication;
  let base: string;
  let source: FakeRemoteKeySource;
  let counters: FederationReceiverMetrics;
  const lines: string[] = [];

  beforeAll(async () => {
    backend = await testBackend();
    self = testServer(backend, 'self.test', 'own');
    remote = testServer(backend, 'remote.test', 'r1');
    source = new FakeRemoteKeySource();
    source.servers.set(remote.name, async () => keyResponse(backend, remote, Date.now() + DAY));
    const metrics = new Metrics('guardtest');
    counters = createFederationReceiverMetrics(metrics);
    const logger = createLogger({ level: 'info', service: 'guard-test', destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const own = ownKeys(backend, self);
    const keyRing = new KeyRing(new FakeServerKeysRepository(), source, { own, trustedKeyServers: [], backend, metrics: counters, logger });

    @Module({
      controllers: [ProbeController],
      providers: [
        XMatrixGuard,
        { provide: KeyRing, useValue: keyRing },
        { provide: OwnServerKeys, useValue: own },
        { provide: FEDERATION_RECEIVER_METRICS, useValue: counters },
        { provide: LOGGER, useValue: logger },
      ],
    })
    class ProbeModule {}

    app = await createHttpApp(ProbeModule, { logger, metrics });
    base = `http://127.0.0.1:${await listen(app, '127.0.0.1', 0)}`;
  });
  afterAll(async () => {
    await app.close();
  });

  /** The Authorization header `signer` makes for a request (destination this server unless given). */
  const sign = (method: string, uri: string, options: { signer?: TestServer; origin?: string; destination?: string; content?: JsonValue } = {}): string =>
    signXMatrixRequest(
      {
        method,
        uri,
        origin: options.origin ?? remote.name,
        destination: options.destination ?? self.name,
        ...(options.content === undefined ? {} : { content: options.content }),
      },
      { key: (options.signer ?? remote).key, backend },
    );

  /** Sends a request with exactly these Authorization headers (node:http sends an array as repeated headers). */
  const send = (method: string, uri: string, authorization: string[], body?: string): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = body === undefined ? {} : { 'content-type': 'application/json' };
      if (authorization.length > 0) headers['authorization'] = authorization;
      const req = httpRequest(`${base}${uri}`, { method, headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const refusedCount = async (reason: string): Promise<number> => (await counters.requestsRefused.get()).values.find((v) => v.labels['reason'] === reason)?.value ?? 0;

  const expectUnauthorized = (response: { status: number; body: Record<string, unknown> }): void => {
    expect(response.status).toBe(401);
    expect(response.body['errcode']).toBe('M_UNAUTHORIZED');
  };

  it('accepts a correctly signed request and tells the handler who signed it', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami?b=2&a=%201';
    expect(await send('GET', uri, [sign('GET', uri)])).toEqual({ status: 200, body: { origin: 'remote.test' } });
    const content = { z: [1, { y: 'ü' }], a: null };
    const put = '/_matrix/federation/v1/probe/things/1';
    expect(await send('PUT', put, [sign('PUT', put, { content })], JSON.stringify(content))).toEqual({ status: 200, body: { origin: 'remote.test', body: content } });
    // The key was fetched once, from the origin itself.
    expect(source.fetches).toEqual([remote.name]);
  });

  it('accepts a request without destination, as older servers send it', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    const header = sign('GET', uri).replace(`destination="${self.name}",`, '');
    expect(header).not.toContain('destination');
    expect((await send('GET', uri, [header])).status).toBe(200);
  });

  it('refuses a request without an X-Matrix Authorization header', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    expectUnauthorized(await send('GET', uri, []));
    expectUnauthorized(await send('GET', uri, ['Bearer sometoken']));
    expect(await refusedCount('missing_header')).toBe(2);
  });

  it('refuses a malformed header', async () => {
    expectUnauthorized(await send('GET', '/_matrix/federation/v1/probe/whoami', ['X-Matrix origin="remote.test",key="ed25519:r1"']));
    expect(await refusedCount('bad_header')).toBe(1);
  });

  it('refuses a request for another server', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    const before = source.fetches.length;
    expectUnauthorized(await send('GET', uri, [sign('GET', uri, { destination: 'other.test' })]));
    expect(await refusedCount('wrong_destination')).toBe(1);
    // No key was looked up for it.
    expect(source.fetches).toHaveLength(before);
  });

  it('refuses a wrong signature: another key, another URI, another method, a forged second header', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    const impostor = testServer(backend, remote.name, 'r1');
    expectUnauthorized(await send('GET', uri, [sign('GET', uri, { signer: impostor })]));
    expectUnauthorized(await send('GET', `${uri}?extra=1`, [sign('GET', uri)]));
    expectUnauthorized(await send('GET', uri, [sign('PUT', uri)]));
    expectUnauthorized(await send('GET', uri, [sign('GET', uri), sign('GET', uri, { signer: impostor })]));
    expect(await refusedCount('bad_signature')).toBe(4);
  });

  it('refuses a request signed with a key the origin does not publish, or by a server that publishes none', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    const unknownKey = testServer(backend, remote.name, 'unpublished');
    expectUnauthorized(await send('GET', uri, [sign('GET', uri, { signer: unknownKey })]));
    const nobody = testServer(backend, 'unreachable.test', 'k');
    expectUnauthorized(await send('GET', uri, [sign('GET', uri, { signer: nobody, origin: nobody.name })]));
    expect(await refusedCount('key_not_found')).toBe(2);
  });

  it('refuses a body other than the one signed', async () => {
    const put = '/_matrix/federation/v1/probe/things/1';
    const signed = { amount: 1 };
    expectUnauthorized(await send('PUT', put, [sign('PUT', put, { content: signed })], JSON.stringify({ amount: 1000 })));
    expectUnauthorized(await send('PUT', put, [sign('PUT', put)], JSON.stringify(signed)));
    expectUnauthorized(await send('PUT', put, [sign('PUT', put, { content: signed })]));
  });

  it('never logs the Authorization header', async () => {
    const uri = '/_matrix/federation/v1/probe/whoami';
    const header = sign('GET', uri, { destination: 'other.test' });
    expectUnauthorized(await send('GET', uri, [header]));
    const signature = /sig="([^"]+)"/.exec(header)![1]!;
    expect(lines.some((line) => line.includes('federation request refused'))).toBe(true);
    expect(lines.join('\n')).not.toContain(signature);
  });
});
