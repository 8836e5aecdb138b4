import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { getCanonicalJsonMode, getRoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, encodeVerifyKey, generateSigningKey, selectEd25519Backend, signEvent, signJson, signXMatrixRequest } from '@axon/matrix-signing';
import { httpsRequest, type HttpsAnswer } from './federation-net';
import { freePort } from './ports';
import { SignedRoom, type TestSigner } from './signed-room';
import type { TestCa } from './test-ca';

/** A request the peer received: method, path with query, parsed JSON body. */
export interface PeerRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

/** What a route answers; `undefined` passes the request on (in the end, 404). */
export type PeerRoute = (request: PeerRequest) => { status: number; body: unknown } | undefined;

/** A server a peer sends requests to: its name (the `destination`) and federation URL. */
export interface PeerTarget {
  readonly serverName: string;
  readonly federationUrl: string;
}

/**
 * How a request's `Authorization` header departs from an honest one: another `origin`
 * or `destination` in the header and signature, a signature over other `content` than
 * the body sent, or no header at all.
 */
export interface XMatrixTampering {
  readonly origin?: string;
  readonly destination?: string;
  readonly signedContent?: JsonValue;
  readonly omit?: boolean;
}

/**
 * Another homeserver played by the test process over real HTTPS, for federation tests
 * that need a server to misbehave on purpose: it serves its signed keys
 * (`/_matrix/key/v2/server`), accepts every transaction sent to it (recording it), answers
 * what `route` adds, and 404 otherwise; it signs its requests with `X-Matrix` (or, asked
 * to, forges them). It does not check the requests it receives.
 */
export interface FederationPeer extends TestSigner {
  readonly port: number;
  /** Every request received, in order. */
  readonly received: readonly PeerRequest[];
  /** Adds a route, tried before those added earlier. */
  route(handler: PeerRoute): void;
  /** A signed request to `target`'s federation listener, trusting the peer's CA. */
  request(target: PeerTarget, method: 'GET' | 'PUT' | 'POST', path: string, body?: JsonValue, tampering?: XMatrixTampering): Promise<HttpsAnswer>;
  /**
   * Joins `userId` (of this peer) to `roomId` on `target`: `make_join`, the template
   * signed, `send_join` (v2). Returns the room as the answer describes it (its state and
   * auth chain adopted, then the join), ready to build on.
   */
  join(target: PeerTarget, roomId: string, userId: string): Promise<SignedRoom>;
  stop(): Promise<void>;
}

/** Room versions a peer's `make_join` offers. */
const JOIN_VERSIONS = ['10', '11', '12'];

/**
 * Starts a peer on 127.0.0.1 with a certificate of `ca` for `localhost` and `127.0.0.1`,
 * named `<host>:<port>`: `localhost` by default, or the IP literal `127.0.0.1`.
 */
export async function startFederationPeer(ca: TestCa, options: { host?: 'localhost' | '127.0.0.1' } = {}): Promise<FederationPeer> {
  const backend = await selectEd25519Backend('native');
  const generated = generateSigningKey(backend);
  if (!generated.ok) throw new Error(generated.error);
  const key = generated.value;
  const port = await freePort();
  const serverName = `${options.host ?? 'localhost'}:${port}`;
  const certificate = ca.issue(`peer-${port}`, ['localhost', '127.0.0.1']);
  const received: PeerRequest[] = [];
  const routes: PeerRoute[] = [
    (request) =>
      request.method === 'PUT' && request.path.startsWith('/_matrix/federation/v1/send/') ? { status: 200, body: { pdus: {} } } : undefined,
    (request) =>
      request.path === '/_matrix/key/v2/server'
        ? {
            status: 200,
            body: signJson(
              { server_name: serverName, valid_until_ts: Date.now() + 3_600_000, verify_keys: { [key.keyId]: { key: encodeVerifyKey(key, backend) } }, old_verify_keys: {} },
              { serverName, key, backend },
            ),
          }
        : undefined,
  ];

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const request: PeerRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body };
      received.push(request);
      let reply: { status: number; body: unknown } | undefined;
      for (const route of [...routes].reverse()) {
        reply = route(request);
        if (reply !== undefined) break;
      }
      reply ??= { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'not here' } };
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  };
  const server = createServer({ cert: certificate.certificate, key: certificate.privateKey }, answer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  const peer: FederationPeer = {
    serverName,
    key,
    backend,
    port,
    received,
    route: (handler) => routes.push(handler),
    request(target, method, path, body, tampering = {}) {
      const origin = tampering.origin ?? serverName;
      const destination = tampering.destination ?? target.serverName;
      const content = 'signedContent' in tampering ? tampering.signedContent : body;
      const authorization = signXMatrixRequest({ method, uri: path, origin, destination, ...(content === undefined ? {} : { content }) }, { key, backend });
      return httpsRequest(`${target.federationUrl}${path}`, {
        method,
        body,
        ca: ca.certificate,
        headers: tampering.omit === true ? {} : { authorization },
      });
    },
    async join(target, roomId, userId) {
      const room = encodeURIComponent(roomId);
      const query = JOIN_VERSIONS.map((v) => `ver=${v}`).join('&');
      const made = await peer.request(target, 'GET', `/_matrix/federation/v1/make_join/${room}/${encodeURIComponent(userId)}?${query}`);
      if (made.status !== 200) throw new Error(`make_join: ${made.status} ${JSON.stringify(made.body)}`);
      const { event: template, room_version: version } = made.body as { event: JsonObject; room_version: string };
      const rules = getRoomVersionRules(version);
      if (!rules.ok) throw rules.error;
      const join = signEvent({ ...template, origin_server_ts: Date.now() }, { serverName, key, backend, redactionRules: rules.value.redaction, mode: getCanonicalJsonMode(rules.value) });
      const eventId = computeEventId(join, rules.value.eventFormat, rules.value.redaction);
      const sent = await peer.request(target, 'PUT', `/_matrix/federation/v2/send_join/${room}/${encodeURIComponent(eventId)}`, join);
      if (sent.status !== 200) throw new Error(`send_join: ${sent.status} ${JSON.stringify(sent.body)}`);
      const { state, auth_chain: authChain } = sent.body as { state: JsonObject[]; auth_chain: JsonObject[] };
      const signedRoom = SignedRoom.existing(version, roomId, [peer]);
      const seen = new Set<string>();
      // Oldest first, so that the last adopted (the join) is what the next event builds on.
      for (const event of [...authChain, ...state].sort((a, b) => Number(a['depth']) - Number(b['depth']))) {
        const json = JSON.stringify(event);
        if (seen.has(json)) continue;
        seen.add(json);
        signedRoom.adopt(event);
      }
      signedRoom.adopt(join);
      return signedRoom;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections the servers under test keep alive would hold `close` back.
        server.closeAllConnections();
      }),
  };
  return peer;
}
