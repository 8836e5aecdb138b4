import { Writable } from 'node:stream';
import { metrics as otelMetrics, trace } from '@opentelemetry/api';
import { startOtlpCollector, type OtlpCollector } from '@axon/testing';
import { createLogger } from './logger';
import { Metrics } from './metrics';
import { startOpenTelemetry } from './otel';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('telemetry', () => {
  it('writes structured JSON lines with service, level and message', () => {
    const out = capture();
    const log = createLogger({ level: 'info', service: 'homeserver', destination: out.stream });
    log.info({ room_id: '!a:b' }, 'hello');
    log.debug('not shown');
    const [line, ...rest] = out.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 'info', service: 'homeserver', msg: 'hello', room_id: '!a:b' });
    expect(typeof line?.['time']).toBe('string');
  });

  it('never logs secrets, at any depth, in URLs or in errors', () => {
    const out = capture();
    const log = createLogger({ level: 'info', service: 'x', destination: out.stream });
    const err = Object.assign(new Error('connect to postgres://axon:pw-in-error@db:5432/axon failed'), {
      headers: { authorization: 'Bearer syt_in_error' },
    });
    log.info(
      {
        password: 'hunter2',
        body: { access_token: 'syt_abc', auth: { type: 'm.login.password', password: 'deep-pw' } },
        req: { headers: { authorization: 'Bearer syt_abc', 'user-agent': 'curl' } },
        config: { registration: { shared_secret: 'complement-secret' }, database: { url: 'postgres://u:url-pw@h/db' } },
        err,
      },
      'login',
    );
    const [line] = out.lines();
    const text = JSON.stringify(line);
    for (const secret of ['hunter2', 'syt_abc', 'deep-pw', 'complement-secret', 'url-pw', 'pw-in-error', 'syt_in_error']) {
      expect([secret, text.includes(secret)]).toEqual([secret, false]);
    }
    // What is not secret stays readable.
    expect(line).toMatchObject({
      body: { auth: { type: 'm.login.password', password: '[redacted]' } },
      req: { headers: { 'user-agent': 'curl' } },
      config: { database: { url: 'postgres://u:***@h/db' } },
      err: { type: 'Error', message: 'connect to postgres://axon:***@db:5432/axon failed' },
    });
  });

  it('exposes Prometheus metrics named hs_<app>_<subsystem>_<name>_<unit>', async () => {
    const metrics = new Metrics('homeserver');
    const h = metrics.histogram('http', 'request_duration', 'seconds', 'Request latency', ['route']);
    h.observe({ route: '/_matrix/client/versions' }, 0.003);
    metrics.counter('bus', 'messages_consumed', 'Messages handled', ['topic']).inc({ topic: 'hs.test.v1' });
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('hs_homeserver_http_request_duration_seconds_bucket{le="0.005",route="/_matrix/client/versions"} 1');
    expect(body).toContain('hs_homeserver_bus_messages_consumed_total{topic="hs.test.v1"} 1');
    expect(body).toContain('hs_homeserver_process_');
    expect(() => new Metrics('Bad-Name')).toThrow();
  });

  describe('with an OTLP endpoint', () => {
    let collector: OtlpCollector;

    beforeAll(async () => {
      collector = await startOtlpCollector();
    });
    afterAll(async () => {
      await collector.close();
    });

    it('exports traces and metrics, and log lines carry the trace id', async () => {
      const otel = startOpenTelemetry({
        endpoint: collector.endpoint,
        serviceName: 'axon-test',
        serviceVersion: '0.0.0',
        metricIntervalMs: 100000,
      });
      const out = capture();
      const log = createLogger({ level: 'info', service: 'x', destination: out.stream });
      let traceId = '';
      trace.getTracer('test').startActiveSpan('send-event', (span) => {
        traceId = span.spanContext().traceId;
        log.info('inside a span');
        span.end();
      });
      otelMetrics.getMeter('test').createCounter('hs_test_sends_total').add(1);
      await otel.shutdown();
      expect(out.lines()[0]).toMatchObject({ trace_id: traceId, msg: 'inside a span' });
      const traces = collector.received.filter((r) => r.url === '/v1/traces');
      expect(traces.length).toBeGreaterThan(0);
      const payload = Buffer.concat(traces.map((t) => t.body)).toString('latin1');
      expect(payload).toContain('send-event');
      expect(payload).toContain('axon-test');
      expect(collector.received.some((r) => r.url === '/v1/metrics')).toBe(true);
    });
  });
});
