import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCanonicalJson, type JsonValue } from '@axon/matrix-canonical-json';
import { ok } from '@axon/matrix-errors';
import { parseXMatrixHeader, selectEd25519Backend, verifyXMatrixRequest, type Ed25519Backend } from '@axon/matrix-signing';
import { createTestCa, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

/** What the peer saw of one request, and whether its X-Matrix signature verified against the homeserver's published key. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  readonly body: Json;
  readonly verified: string;
}

const SERVER = 'sender.test';

/**
 * The federation sender end to end: a local user's to-device message for a user of
 * another server leaves the embedded homeserver as a signed `PUT /send/{txnId}` to a
 * peer over HTTPS (a test CA, loopback allowed), and a transaction the peer fails is
 * sent again, with the same transaction ID, after the backoff.
 */
describe('federation sender: to-device messages to another server', () => {
  let hs: HomeserverProcess;
  let peer: Server;
  let peerName: string;
  let backend: Ed25519Backend;
  let verifyKeys: Record<string, string> = {};
  const received: Received[] = [];
  /** Statuses the peer answers with, in order, before answering 200 to everything. */
  const answers: number[] = [];
  let session: { access_token: string; user_id: string; device_id: string };

  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${hs.baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  /** Checks a request's X-Matrix header as a receiving server would: `ok`, or why not. */
  function verify(method: string, url: string, header: string | undefined, content: JsonValue): string {
    const authorization = parseXMatrixHeader(header ?? '');
    if (!authorization.ok) return `unparsable: ${authorization.error}`;
    const key = verifyKeys[authorization.value.key];
    if (authorization.value.origin !== SERVER || key === undefined) return `unknown origin or key ${authorization.value.origin} ${authorization.value.key}`;
    const result = verifyXMatrixRequest({ authorization: authorization.value, method, uri: url, content, serverName: peerName, verifyKey: ok(key), backend });
    return result.ok ? 'ok' : result.error.message;
  }

  async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the peer saw ${JSON.stringify(received.map((r) => r.url))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    backend = await selectEd25519Backend('auto');
    const dir = mkdtempSync(join(tmpdir(), 'axon-fed-sender-e2e-'));
    const ca = createTestCa(join(dir, 'ca'));
    const certificate = ca.issue('peer', ['127.0.0.1']);
    peer = createServer({ cert: certificate.certificate, key: certificate.privateKey }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = parseCanonicalJson(text === '' ? '{}' : text, { mode: 'strict' });
        const content = parsed.ok ? parsed.value : null;
        received.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host, body: content as Json, verified: verify(req.method ?? '', req.url ?? '', req.headers.authorization, content) });
        const status = answers.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status === 200 ? { pdus: {} } : { errcode: 'M_UNKNOWN', error: 'try later' }));
      });
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    peerName = `127.0.0.1:${(peer.address() as AddressInfo).port}`;
    hs = await startHomeserver({
      AXON_SERVER_NAME: SERVER,
      AXON_ENABLE_REGISTRATION: 'true',
      AXON_RATE_LIMITS_ENABLED: 'false',
      AXON_FEDERATION_CA_FILES: ca.certificatePath,
      AXON_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8',
      AXON_FEDERATION_SENDER_BACKOFF_BASE_MS: '500',
      AXON_FEDERATION_SENDER_BACKOFF_MAX_MS: '1000',
    });
    const keys = await call('GET', '/_matrix/key/v2/server');
    verifyKeys = Object.fromEntries(Object.entries(keys.body['verify_keys'] as Record<string, { key: string }>).map(([id, { key }]) => [id, key]));
    const first = await call('POST', '/_matrix/client/v3/register', { username: 'alice', password: 'correct horse' });
    const done = await call('POST', '/_matrix/client/v3/register', { username: 'alice', password: 'correct horse', auth: { type: 'm.login.dummy', session: first.body['session'] } });
    expect(done.status).toBe(200);
    session = done.body as unknown as typeof session;
  });

  afterAll(async () => {
    await hs?.stop();
    peer?.closeAllConnections();
    peer?.close();
  });

  const sendToDevice = (txnId: string, content: Json) =>
    call('PUT', `/_matrix/client/v3/sendToDevice/m.room_key_request/${txnId}`, { messages: { [`@x:${peerName}`]: { PEERDEV: content, '*': { all: true } } } }, session.access_token);

  it('delivers a signed transaction with the m.direct_to_device EDU', async () => {
    expect(await sendToDevice('t1', { action: 'request', request_id: 'r1' })).toEqual({ status: 200, body: {} });
    const request = await until('the transaction', () => received.find((r) => r.url.startsWith('/_matrix/federation/v1/send/')));
    expect(request.method).toBe('PUT');
    expect(request.host).toBe(peerName);
    expect(request.verified).toBe('ok');
    expect(request.body).toEqual({
      origin: SERVER,
      origin_server_ts: expect.any(Number),
      pdus: [],
      edus: [
        {
          edu_type: 'm.direct_to_device',
          content: {
            sender: session.user_id,
            type: 'm.room_key_request',
            message_id: expect.stringMatching(/^[A-Za-z0-9_-]{1,32}$/),
            messages: { [`@x:${peerName}`]: { PEERDEV: { action: 'request', request_id: 'r1' }, '*': { all: true } } },
          },
        },
      ],
    });
  });

  it('sends a transaction the peer failed again, with the same transaction ID, after the backoff', async () => {
    const before = received.length;
    answers.push(500);
    expect(await sendToDevice('t2', { action: 'request', request_id: 'r2' })).toEqual({ status: 200, body: {} });
    const [failed, retried] = await until('the retry', () => (received.length >= before + 2 ? received.slice(before, before + 2) : undefined));
    expect(failed!.url).toBe(retried!.url);
    expect(failed!.url).toMatch(/^\/_matrix\/federation\/v1\/send\/[^/]+$/);
    expect(retried!.verified).toBe('ok');
    const eduOf = (r: Received) => (r.body['edus'] as Array<{ content: { messages: Record<string, Record<string, Json>> } }>)[0]!.content.messages[`@x:${peerName}`]!['PEERDEV'];
    expect([eduOf(failed!), eduOf(retried!)]).toEqual([
      { action: 'request', request_id: 'r2' },
      { action: 'request', request_id: 'r2' },
    ]);
    // And nothing more: the 200 emptied the queue.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(received.length).toBe(before + 2);
  });
});
