import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseCanonicalJson, type JsonValue } from '@axon/matrix-canonical-json';
import { ok } from '@axon/matrix-errors';
import { encodeVerifyKey, generateSigningKey, parseXMatrixHeader, selectEd25519Backend, verifyXMatrixRequest, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import { createLogger } from '@axon/platform-telemetry';
import { createTestCa, type TestCa } from '@axon/testing';
import { FederationDestinationRefusedError, FederationNetworkError, FederationRequestError, FederationResponseError } from './errors';
import { FederationClient, type FederationClientOptions } from './federation-client';
import type { SrvRecord } from './resolver';
import { FakeResolver } from './testing/fakes';
import { HttpsPeer, loopbackClientOptions, sendJson, type SeenRequest } from './testing/https-peer';

/** The `serverName` of loopbackClientOptions. */
const ORIGIN = 'origin.test';

describe('FederationClient against a real HTTPS peer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-fed-client-'));
  let ca: TestCa;
  let backend: Ed25519Backend;
  let signingKey: SigningKey;
  let verifyKey: string;
  let peer: HttpsPeer;
  let logLines: string[];
  const clients: FederationClient[] = [];

  /** Answers as a federation endpoint would: checks the X-Matrix signature, then routes. */
  function handle(req: SeenRequest, res: Parameters<Parameters<typeof HttpsPeer.start>[1]>[1]): void {
    const host = req.headers.host ?? '';
    if (req.url === '/.well-known/matrix/server' && host.startsWith('redirecting.test')) {
      res.writeHead(302, { location: `https://delegating.test:${peer.port}/.well-known/matrix/server` });
      return void res.end();
    }
    if (req.url === '/.well-known/matrix/server' && host.startsWith('looping.test')) {
      res.writeHead(301, { location: '/.well-known/matrix/server' });
      return void res.end();
    }
    if (req.url === '/.well-known/matrix/server') return sendJson(res, 200, { 'm.server': `hs1.test:${peer.port}` }, { 'cache-control': 'max-age=600' });
    if (req.url.startsWith('/_matrix/key/')) return sendJson(res, 200, { server_name: 'hs1.test', authorization: req.headers.authorization ?? null });
    if (req.url === '/_matrix/federation/v1/slow') return; // never answers
    const header = req.headers.authorization ?? '';
    const authorization = parseXMatrixHeader(header);
    if (!authorization.ok) return sendJson(res, 401, { errcode: 'M_UNAUTHORIZED', error: authorization.error });
    const content = req.body === '' ? undefined : (parseCanonicalJson(req.body, { mode: 'strict' }) as { ok: true; value: JsonValue }).value;
    const verified = verifyXMatrixRequest({
      authorization: authorization.value,
      method: req.method,
      uri: req.url,
      ...(content === undefined ? {} : { content }),
      serverName: authorization.value.destination ?? '',
      verifyKey: ok(verifyKey),
      backend,
    });
    if (!verified.ok) return sendJson(res, 401, { errcode: 'M_UNAUTHORIZED', error: verified.error.message });
    const path = req.url.split('?')[0];
    if (path === '/_matrix/federation/v1/forbidden') return sendJson(res, 403, { errcode: 'M_FORBIDDEN', error: 'not in the room', extra: 1 });
    if (path === '/_matrix/federation/v1/html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html>hello</html>');
    }
    if (path === '/_matrix/federation/v1/big') return sendJson(res, 200, { filler: 'x'.repeat(64 * 1024) });
    if (path === '/_matrix/federation/v1/bigint') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"depth":9007199254740993}');
    }
    sendJson(res, 200, { origin: verified.value.origin, destination: verified.value.destination, content: content ?? null });
  }

  function client(overrides: Partial<FederationClientOptions> = {}): FederationClient {
    const logger = createLogger({
      level: 'debug',
      service: 'test',
      destination: new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) }),
    });
    const loopback = ['127.0.0.1'];
    const resolver = new FakeResolver({}, { 'hs1.test': loopback, 'delegating.test': loopback, 'redirecting.test': loopback, 'looping.test': loopback });
    const created = new FederationClient({
      ...loopbackClientOptions({ signingKey, backend, logger, caCertificate: ca.certificate, resolver }),
      wellKnownPort: peer.port,
      ...overrides,
    });
    clients.push(created);
    return created;
  }

  beforeAll(async () => {
    ca = createTestCa(join(dir, 'ca'));
    backend = await selectEd25519Backend('auto');
    const generated = generateSigningKey(backend, 'test1');
    if (!generated.ok) throw new Error(generated.error);
    signingKey = generated.value;
    verifyKey = encodeVerifyKey(signingKey, backend);
    peer = await HttpsPeer.start(ca.issue('hs1', ['hs1.test', 'delegating.test', 'redirecting.test', 'looping.test', 'srv.test', '127.0.0.1']), handle);
  });
  beforeEach(() => {
    logLines = [];
    peer.requests.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a GET with X-Matrix that the peer verifies; Host is the server name, SNI its hostname', async () => {
    const destination = `hs1.test:${peer.port}`;
    const path = '/_matrix/federation/v1/query/profile?user_id=%40alice%3Ahs1.test&field=displayname';
    await expect(client().get(destination, path)).resolves.toEqual({ origin: ORIGIN, destination, content: null });
    const [seen] = peer.requests;
    expect(seen).toMatchObject({ method: 'GET', url: path, servername: 'hs1.test' });
    expect(seen?.headers.host).toBe(destination);
    expect(seen?.headers.authorization).toMatch(new RegExp(`^X-Matrix origin="${ORIGIN}",destination="${destination}",key="ed25519:test1",sig="[A-Za-z0-9+/]+"$`));
  });

  it('signs the JSON body of a PUT and a POST', async () => {
    const destination = `hs1.test:${peer.port}`;
    const body = { pdus: [], edus: [{ edu_type: 'm.typing', content: { typing: true } }], origin: ORIGIN };
    await expect(client().put(destination, '/_matrix/federation/v1/send/txn1', body)).resolves.toEqual({ origin: ORIGIN, destination, content: body });
    await expect(client().post(destination, '/_matrix/federation/v1/user/keys/query', { device_keys: {} })).resolves.toMatchObject({ content: { device_keys: {} } });
    expect(peer.requests.map((r) => r.headers['content-type'])).toEqual(['application/json', 'application/json']);
  });

  it('sends key requests unsigned', async () => {
    const answer = await client().get(`hs1.test:${peer.port}`, '/_matrix/key/v2/server', { signed: false });
    expect(answer).toEqual({ server_name: 'hs1.test', authorization: null });
  });

  it('finds the server through a well-known file served over HTTPS', async () => {
    const c = client();
    await expect(c.get('delegating.test', '/_matrix/federation/v1/version')).resolves.toMatchObject({ destination: 'delegating.test' });
    const [wellKnown, request] = peer.requests;
    expect(wellKnown).toMatchObject({ url: '/.well-known/matrix/server', servername: 'delegating.test' });
    expect(request).toMatchObject({ servername: 'hs1.test', headers: expect.objectContaining({ host: `hs1.test:${peer.port}` }) });
    await c.get('delegating.test', '/_matrix/federation/v1/version');
    expect(peer.requests.filter((r) => r.url === '/.well-known/matrix/server')).toHaveLength(1);
  });

  it('follows a well-known redirect, and stops at a redirect loop', async () => {
    const c = client();
    await expect(c.resolve('redirecting.test')).resolves.toEqual({
      serverName: 'redirecting.test',
      targets: [{ host: 'hs1.test', port: peer.port }],
      hostHeader: `hs1.test:${peer.port}`,
    });
    expect(peer.requests.map((r) => [r.servername, r.url])).toEqual([
      ['redirecting.test', '/.well-known/matrix/server'],
      ['delegating.test', '/.well-known/matrix/server'],
    ]);
    peer.requests.length = 0;
    await expect(c.resolve('looping.test')).resolves.toEqual({ serverName: 'looping.test', targets: [{ host: 'looping.test', port: 8448 }], hostHeader: 'looping.test' });
    expect(peer.requests).toHaveLength(1);
  });

  it('connects to an IP literal without SNI, the certificate checked for the address', async () => {
    const destination = `127.0.0.1:${peer.port}`;
    await expect(client().get(destination, '/_matrix/federation/v1/version')).resolves.toMatchObject({ destination });
    expect(peer.requests[0]).toMatchObject({ servername: false, headers: expect.objectContaining({ host: destination }) });
  });

  it('reuses one connection for consecutive requests', async () => {
    const c = client();
    const destination = `hs1.test:${peer.port}`;
    const before = peer.connections;
    await c.get(destination, '/_matrix/federation/v1/version');
    // undici frees the connection a tick after the body ended; a request sent in the same
    // tick would open a second one (and later ones reuse both).
    await new Promise((resolve) => setImmediate(resolve));
    await c.get(destination, '/_matrix/federation/v1/version');
    expect(peer.connections - before).toBe(1);
    expect(peer.requests[0]?.remotePort).toBe(peer.requests[1]?.remotePort);
  });

  it('turns an error answer into a FederationRequestError with the remote errcode', async () => {
    const error = await client().get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/forbidden').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FederationRequestError);
    expect(error).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN', remoteError: 'not in the room', body: { errcode: 'M_FORBIDDEN', error: 'not in the room', extra: 1 } });
  });

  it('refuses a 2xx answer that is not JSON, or larger than the limit unless the call allows more', async () => {
    const c = client();
    const destination = `hs1.test:${peer.port}`;
    await expect(c.get(destination, '/_matrix/federation/v1/html')).rejects.toMatchObject({ constructor: FederationResponseError, fault: 'invalid_json' });
    await expect(c.get(destination, '/_matrix/federation/v1/big', { maxResponseBytes: 32 * 1024 })).rejects.toMatchObject({ constructor: FederationResponseError, fault: 'too_large' });
    await expect(c.get(destination, '/_matrix/federation/v1/big', { maxResponseBytes: 128 * 1024 })).resolves.toMatchObject({ filler: expect.any(String) });
  });

  it('keeps integers beyond 2^53 exact', async () => {
    await expect(client().get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/bigint')).resolves.toEqual({ depth: 9007199254740993n });
  });

  it('gives up after the timeout with a network error of kind timeout', async () => {
    const error = await client().get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/slow', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FederationNetworkError);
    expect(error).toMatchObject({ failure: 'timeout', destination: `hs1.test:${peer.port}` });
  });

  it('tries the next SRV target when one cannot be connected to; Host and certificate are the server name', async () => {
    const closed = await HttpsPeer.start(ca.issue('closed', ['hs1.test']), () => undefined);
    await closed.close();
    const records: SrvRecord[] = [
      { name: 'hs1.test', port: closed.port, priority: 1, weight: 0 },
      { name: 'hs1.test', port: peer.port, priority: 2, weight: 0 },
    ];
    const c = client({ resolver: new FakeResolver({ '_matrix-fed._tcp.srv.test': records }, { 'hs1.test': ['127.0.0.1'] }) });
    await expect(c.get('srv.test', '/_matrix/federation/v1/version')).resolves.toMatchObject({ destination: 'srv.test' });
    expect(peer.requests[0]).toMatchObject({ servername: 'srv.test', headers: expect.objectContaining({ host: 'srv.test' }) });
  });

  it('fails with a connect error when no target accepts a connection', async () => {
    const closed = await HttpsPeer.start(ca.issue('closed', ['hs1.test']), () => undefined);
    await closed.close();
    const error = await client().get(`hs1.test:${closed.port}`, '/_matrix/federation/v1/version').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FederationNetworkError);
    expect(error).toMatchObject({ failure: 'connect', beforeSending: true });
  });

  it('logs destinations and paths, never the Authorization header or the query', async () => {
    await client().get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/query/directory?room_alias=%23secret%3Ahs1.test');
    const text = logLines.join('');
    expect(text).toContain(`"destination":"hs1.test:${peer.port}"`);
    expect(text).toContain('"path":"/_matrix/federation/v1/query/directory"');
    expect(text).not.toMatch(/X-Matrix|sig=|secret/);
  });

  it('refuses a path outside /_matrix/', async () => {
    await expect(client().get(`hs1.test:${peer.port}`, '/other')).rejects.toThrow(/start with \/_matrix\//);
    expect(peer.requests).toEqual([]);
  });

  it('refuses a destination that is not a server name without sending anything', async () => {
    await expect(client().get('not a server', '/_matrix/federation/v1/version')).rejects.toMatchObject({
      constructor: FederationDestinationRefusedError,
      reason: 'invalid_server_name',
    });
  });
});
