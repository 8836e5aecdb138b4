import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Ed25519Backend, SigningKey } from '@axon/matrix-signing';
import { DEFAULT_IP_RANGE_BLACKLIST } from '@axon/platform-config';
import type { IssuedCertificate } from '@axon/testing';
import type { FederationClientOptions, FederationLogger } from '../federation-client';
import type { Resolver } from '../resolver';

/** What a {@link HttpsPeer} saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** The SNI the client sent (`false` without one). */
  readonly servername: string | false;
  /** The client's port: equal for requests on one connection. */
  readonly remotePort: number;
  readonly body: string;
}

export type PeerHandler = (request: SeenRequest, response: ServerResponse) => void;

/** A homeserver stand-in on 127.0.0.1: HTTPS with the given certificate, recording every request. */
export class HttpsPeer {
  readonly requests: SeenRequest[] = [];
  connections = 0;
  private readonly sockets = new Set<TLSSocket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(certificate: IssuedCertificate, handler: PeerHandler): Promise<HttpsPeer> {
    const server = createServer({ cert: certificate.certificate, key: certificate.privateKey });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const peer = new HttpsPeer(server, (server.address() as AddressInfo).port);
    server.on('secureConnection', (socket: TLSSocket) => {
      peer.connections++;
      peer.sockets.add(socket);
      socket.on('close', () => peer.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const socket = req.socket as TLSSocket;
        const seen: SeenRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          servername: socket.servername ?? false,
          remotePort: socket.remotePort ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        peer.requests.push(seen);
        handler(seen, res);
      });
    });
    return peer;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * Client options for tests against {@link HttpsPeer}s on 127.0.0.1: the default
 * blacklist with loopback whitelisted, the test CA trusted, a 5 s timeout.
 */
export function loopbackClientOptions(base: {
  readonly signingKey: SigningKey;
  readonly backend: Ed25519Backend;
  readonly logger: FederationLogger;
  readonly caCertificate: string;
  readonly resolver: Resolver;
}): FederationClientOptions {
  return {
    serverName: 'origin.test',
    signingKey: base.signingKey,
    backend: base.backend,
    logger: base.logger,
    requestTimeoutMs: 5000,
    ipRangeBlacklist: DEFAULT_IP_RANGE_BLACKLIST,
    ipRangeWhitelist: ['127.0.0.0/8'],
    extraCas: [base.caCertificate],
    resolver: base.resolver,
  };
}
