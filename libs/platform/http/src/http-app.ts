import { type Type, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Histogram, Metrics, Logger } from '@axon/platform-telemetry';
import { MatrixError } from '@axon/matrix-errors';
import { MatrixExceptionFilter, frameworkError } from './matrix-exception.filter';
import { RouteTable } from './route-table';
import { jsonBodyKindOf } from './content-body';
import { parseJsonBody } from './json-body';
import { checkRequestParameters } from './request-parameters';
import { HealthController } from './health.controller';

/** Probes and the scrape endpoint, mounted on every service's HTTP listener. */
@Module({ controllers: [HealthController] })
export class HealthModule {}

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit?: number;
}

const CORS_HEADERS = {
  // Spec (Client-Server API, "Web Browser Clients"): servers SHOULD answer every
  // request, including OPTIONS preflights, with these headers.
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
} as const;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** Any other method a client invents counts as `other`, so it cannot mint series. */
export function boundedMethod(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

/** `200` → `2xx`. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/**
 * `hs_<app>_http_request_duration_seconds{method,route,status_class}`. `route` is the
 * route's pattern (`/_matrix/client/v3/rooms/:roomId/state`), never the raw URL, and the
 * status is its class: the series stay bounded whatever clients send.
 */
export function createHttpMetrics(metrics: Metrics): { readonly requestDuration: Histogram<'method' | 'route' | 'status_class'> } {
  return {
    requestDuration: metrics.histogram(
      'http',
      'request_duration',
      'seconds',
      'HTTP request latency by route pattern, method and status class',
      ['method', 'route', 'status_class'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
  };
}

/** The largest request body the Server-Server API takes (a full `/send` transaction, with room to spare). */
export const FEDERATION_BODY_LIMIT = 8 * 1024 * 1024;

/** `/_matrix/client/r0/…` → `/_matrix/client/v3/…`; every other path as it is. */
export function rewriteLegacyClientPath(url: string): string {
  return url.startsWith('/_matrix/client/r0/') ? `/_matrix/client/v3/${url.slice('/_matrix/client/r0/'.length)}` : url;
}

/**
 * Creates a Nest application on Fastify with the Matrix conventions every service
 * shares: Matrix error bodies, CORS, request metrics and logs, graceful close (in-flight
 * requests finish; idle keep-alive connections are closed).
 */
export async function createHttpApp(
  root: Type<unknown> | DynamicModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    // Identifiers reach 255 bytes (Fastify's default, 100 characters, answered 414 for
    // valid ones); the parameter checks below answer anything longer with the spec's
    // error, so routing admits any length a request line can have.
    routerOptions: { maxParamLength: 16 * 1024 },
    // While draining, requests on connections that are still open are served normally;
    // only new connections are refused (the listener is closed).
    return503OnClosing: false,
    // `r0` is the Client-Server API's path version before v1.1; its endpoints are the v3
    // ones under their old name, and older clients (and test suites) still call them.
    rewriteUrl: (request: { url?: string }) => rewriteLegacyClientPath(request.url ?? '/'),
    logger: false,
    // Errors raised before routing (a malformed URL) never reach Nest's filter.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const mapped = frameworkError(error) ?? new MatrixError('M_UNRECOGNIZED', 'Malformed request', 400);
      void reply.status(mapped.status).header('content-type', 'application/json').send(mapped.toBody());
    },
  });
  const fastify = adapter.getInstance();
  const latency = createHttpMetrics(options.metrics).requestDuration;

  // Every body is parsed here, once, with the limits of json-body.ts: a malformed body is
  // M_NOT_JSON (Nest would turn Fastify's error into a bare 400), an empty one is no
  // body, and keys such as "__proto__" in event content are kept as data. Whatever the
  // Content-Type: clients "should" send application/json, "but this is not required"
  // (spec: "API standards").
  const parseBody = (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    // A request no route takes is 404 (or 405) M_UNRECOGNIZED whatever its body: a body
    // that is not JSON must not make an unknown endpoint look like a known one (M_NOT_JSON).
    if (request.is404) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      // JSON is UTF-8 (RFC 8259): malformed bytes are refused, not replaced.
      text = typeof body === 'string' ? body : STRICT_UTF8.decode(body);
    } catch {
      done(new MatrixError('M_NOT_JSON', 'Content not JSON: it is not valid UTF-8', 400), undefined);
      return;
    }
    try {
      done(null, parseJsonBody(text, { kind: jsonBodyKindOf(request) }));
    } catch (err) {
      done(err as Error, undefined);
    }
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody);

  const routes = new RouteTable();
  fastify.addHook('onRoute', (route) => {
    routes.add(route.method, route.url);
    // A federation transaction carries up to 50 PDUs of 64 KiB each and 100 EDUs, and a
    // send_join a whole event: more than a client request may be.
    if (route.url.startsWith('/_matrix/federation/')) route.bodyLimit = FEDERATION_BODY_LIMIT;
  });

  fastify.addHook('onRequest', async (request, reply) => {
    void reply.headers(CORS_HEADERS);
    if (request.method === 'OPTIONS') {
      await reply.status(204).send();
    }
  });
  // Path and query parameters meet the spec's grammar before any handler (or guard) runs.
  fastify.addHook('preValidation', async (request) => {
    const problem = checkRequestParameters(request.params as Record<string, unknown> | undefined, request.query as Record<string, unknown> | undefined);
    if (problem !== undefined) throw problem;
  });
  // Once closing, a response ends its connection: a keep-alive connection whose request
  // was still running when the listener closed (a long-poll answering at shutdown) would
  // otherwise stay open until its keep-alive timeout and hold up the close.
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    // JSON is UTF-8 by definition (RFC 8259): the type is plain `application/json`.
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') void reply.header('content-type', 'application/json');
    return payload;
  });
  fastify.addHook('onResponse', async (request, reply) => {
    if (closing) request.raw.socket?.end();
    const route = request.routeOptions?.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    latency.observe({ method: boundedMethod(request.method), route, status_class: statusClass(reply.statusCode) }, seconds);
    if (route !== '/health' && route !== '/ready' && route !== '/metrics') {
      options.logger.debug(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
  });

  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    logger: false,
    // The JSON parser is ours (above); Matrix APIs take no form bodies.
    bodyParser: false,
    bufferLogs: false,
    abortOnError: false,
  });
  app.useGlobalFilters(new MatrixExceptionFilter(options.logger, routes));
  return app;
}

/**
 * Connections the kernel completes and queues for the listener before it accepts them.
 * Node's default (511) overflows when thousands of clients (re)connect at once, as every
 * `/sync` long-poll of a fleet of clients does after a restart: while the event loop is
 * busy the queue fills, further handshakes are dropped, clients that already sent their
 * request get resets and reconnect. Linux caps it at `net.core.somaxconn`.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on `host:port`; resolves with the bound port (useful with port 0). */
export async function listen(app: NestFastifyApplication, host: string, port: number): Promise<number> {
  await app.listen({ host, port, backlog: LISTEN_BACKLOG });
  const address = app.getHttpServer().address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
