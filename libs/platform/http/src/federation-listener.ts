import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { LISTEN_BACKLOG } from './http-app';

export interface FederationListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Whether it speaks HTTPS (`federation.tls` set) or plain HTTP (behind a TLS-terminating proxy). */
  readonly tls: boolean;
  close(): Promise<void>;
}

/**
 * The Server-Server API's URL prefixes (spec: "Server-Server API"): all the federation
 * listener answers. Everything else (the Client-Server API, the probes) stays on the
 * client listener, as Synapse's `federation` listener resource serves only these.
 */
export const FEDERATION_PATH_PREFIXES = ['/_matrix/federation/', '/_matrix/key/'] as const;

const isFederationPath = (url: string | undefined): boolean => {
  const path = (url ?? '/').split('?')[0]!;
  return FEDERATION_PATH_PREFIXES.some((prefix) => path.startsWith(prefix));
};

const NOT_FOUND = JSON.stringify(new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404).toBody());

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${key}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The listener other homeservers reach (`listen.federation`, the port of the server name
 * or of `/.well-known/matrix/server`): HTTPS with `federation.tls`'s certificate, or plain
 * HTTP when a proxy terminates TLS. It is a second Node server in front of the same
 * Fastify router as the client listener (`fastify.routing`: the same routes, hooks,
 * error mapping and metrics), admitting only the Server-Server API's paths. The
 * client listener keeps answering those too: the distributed deployment's nginx and the
 * Helm chart's Ingress route `/_matrix/federation` and `/_matrix/key` to the
 * federation-receiver's HTTP port.
 */
export async function startFederationListener(app: NestFastifyApplication, config: AxonConfig): Promise<FederationListener> {
  const { host, port } = config.listen.federation;
  const tls = config.federation.tls;
  const fastify = app.getHttpAdapter().getInstance();
  let closing = false;
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    // Once closing, each response ends its connection, so close() does not wait for
    // keep-alive connections (peers pool them) to time out.
    if (closing) response.setHeader('connection', 'close');
    if (isFederationPath(request.url)) {
      fastify.routing(request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
  };
  const server: Server = tls
    ? createHttpsServer(
        {
          cert: readPem(tls.certificate_path, 'federation.tls.certificate_path'),
          key: readPem(tls.private_key_path, 'federation.tls.private_key_path'),
        },
        handle,
      )
    : createHttpServer(handle);
  // As long as Fastify's own server keeps an idle connection (72 s), beyond the usual
  // idle timeout of a peer's connection pool, so the peer closes first.
  server.keepAliveTimeout = fastify.server.keepAliveTimeout;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    tls: tls !== undefined,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing = true;
        // Stops accepting; resolves once the requests in flight have been answered.
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
