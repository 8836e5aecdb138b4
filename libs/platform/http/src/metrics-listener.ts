import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { Readiness } from '@axon/platform-runtime';
import { Metrics } from '@axon/platform-telemetry';
import { healthAnswer, metricsAnswer, readyAnswer, type OpsAnswer } from './health.controller';

export interface MetricsListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

const notFound: OpsAnswer = { status: 404, contentType: 'application/json', body: JSON.stringify(new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404).toBody()) };

/**
 * The listener `listen.metrics` asks for: `/metrics`, `/ready` and `/health` only, so the
 * probes and the scrape can sit on a port clients never reach (a Pod port outside the
 * Service and Ingress, a loopback address). The client listener then serves none of
 * them. Plain `node:http`: three read-only routes need no framework.
 */
export async function startMetricsListener(app: INestApplication, config: AxonConfig, host: string, port: number): Promise<MetricsListener> {
  const readiness = app.get(Readiness);
  const metrics = app.get(Metrics);
  const answer = async (request: IncomingMessage): Promise<OpsAnswer> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return notFound;
    switch ((request.url ?? '/').split('?')[0]) {
      case '/health':
        return healthAnswer();
      case '/ready':
        return readyAnswer(readiness);
      case '/metrics':
        return metricsAnswer(metrics, config);
      default:
        return notFound;
    }
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request).then(
      ({ status, contentType, body }) => response.writeHead(status, { 'content-type': contentType }).end(request.method === 'HEAD' ? undefined : body),
      (err: unknown) => response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode: 'M_UNKNOWN', error: (err as Error).message })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Scrapers keep their connections alive between scrapes.
        server.closeIdleConnections();
      }),
  };
}
