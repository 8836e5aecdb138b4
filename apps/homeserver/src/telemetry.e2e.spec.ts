import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHomeserver } from '@axon/testing';

/**
 * With an OTLP endpoint configured, the homeserver starts OpenTelemetry before its HTTP
 * stack loads, so incoming requests become server spans that reach the collector, and
 * the request's log lines carry the same trace id.
 */
describe('homeserver telemetry over OTLP', () => {
  let collector: Server;
  const received: { url: string; body: string }[] = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body: Buffer.concat(parts).toString('latin1') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise<void>((r) => collector.close(() => r()));
  });

  it('exports a server span for a client request and flushes it on shutdown', async () => {
    const port = (collector.address() as AddressInfo).port;
    const hs = await startHomeserver({
      AXON_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      AXON_SERVICE_NAME: 'axon-otel-e2e',
    });
    const res = await fetch(`${hs.baseUrl}/_matrix/client/versions`, {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(200);
    expect(await hs.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const traces = received.filter((r) => r.url === '/v1/traces').map((r) => r.body).join('');
    expect(traces).toContain('axon-otel-e2e');
    // The incoming trace context was continued: the client's trace id is in the export.
    expect(traces).toContain('0af7651916cd43dd8448eb211c80319c');
    expect(traces).toContain('/_matrix/client/versions');
  });
});
