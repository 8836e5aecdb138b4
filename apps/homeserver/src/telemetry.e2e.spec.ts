import { startHomeserver, startOtlpCollector, type OtlpCollector } from '@axon/testing';

/**
 * With an OTLP endpoint configured, the homeserver starts OpenTelemetry before its HTTP
 * stack loads, so incoming requests become server spans that reach the collector, and
 * the request's log lines carry the same trace id.
 */
describe('homeserver telemetry over OTLP', () => {
  let collector: OtlpCollector;

  beforeAll(async () => {
    collector = await startOtlpCollector();
  });
  afterAll(async () => {
    await collector.close();
  });

  it('exports a server span for a client request and flushes it on shutdown', async () => {
    const hs = await startHomeserver({
      AXON_OTLP_ENDPOINT: collector.endpoint,
      AXON_SERVICE_NAME: 'axon-otel-e2e',
    });
    const res = await fetch(`${hs.baseUrl}/_matrix/client/versions`, {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(200);
    expect(await hs.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const traces = collector.received.filter((r) => r.url === '/v1/traces').map((r) => r.body.toString('latin1')).join('');
    expect(traces).toContain('axon-otel-e2e');
    // The incoming trace context was continued: the client's trace id is in the export.
    expect(traces).toContain('0af7651916cd43dd8448eb211c80319c');
    expect(traces).toContain('/_matrix/client/versions');
  });
});
