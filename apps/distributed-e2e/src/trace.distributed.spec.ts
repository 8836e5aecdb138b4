import { startDistributed, startOtlpCollector, type DistributedDeployment, type OtlpCollector } from '@axon/testing';
import { call, register } from './traffic';

interface ExportedSpan {
  readonly service: string;
  readonly name: string;
  readonly traceId: string;
  readonly kind: number;
}

/** Every span in the OTLP/HTTP JSON exports the collector received. */
function spansOf(collector: OtlpCollector): ExportedSpan[] {
  const spans: ExportedSpan[] = [];
  for (const { url, body } of collector.received) {
    if (url !== '/v1/traces') continue;
    const payload = JSON.parse(body.toString('utf8')) as {
      resourceSpans?: {
        resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
        scopeSpans?: { spans?: { name: string; traceId: string; kind: number }[] }[];
      }[];
    };
    for (const resource of payload.resourceSpans ?? []) {
      const service = resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      for (const scope of resource.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) spans.push({ service, name: span.name, traceId: span.traceId.toLowerCase(), kind: span.kind });
      }
    }
  }
  return spans;
}

/**
 * One client send in the distributed deployment is one trace: client-api's HTTP server
 * span, its publish to hs.room.input (context in the Kafka message headers), the room
 * server's processing of it, the outbox publish to hs.room.output (the context stored with
 * the outbox row) and sync's processing of the output, each process exporting its own
 * spans over OTLP to a collector.
 */
describe('distributed tracing', () => {
  let collector: OtlpCollector;
  let deployment: DistributedDeployment | undefined;

  beforeAll(async () => {
    collector = await startOtlpCollector();
  });
  afterAll(async () => {
    await deployment?.stop();
    await collector.close();
  }, 60_000);

  it('follows a send across client-api, Kafka, room-server and sync in one trace', async () => {
    deployment = await startDistributed({ env: { AXON_OTLP_ENDPOINT: collector.endpoint, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' } });
    const alice = await register(deployment.baseUrl, 'alice');
    const created = await call(deployment.baseUrl, 'POST', '/_matrix/client/v3/createRoom', alice.token, {});
    const roomId = created.body['room_id'] as string;
    const first = await call(deployment.baseUrl, 'GET', '/_matrix/client/v3/sync?timeout=0', alice.token);
    const since = first.body['next_batch'] as string;

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${deployment.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/traced`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ msgtype: 'm.text', body: 'traced' }),
    });
    expect(res.status).toBe(200);
    const { event_id: eventId } = (await res.json()) as { event_id: string };
    // Sync has applied it once alice's sync returns it.
    for (let next = since, found = false; !found; ) {
      const polled = await call(deployment.baseUrl, 'GET', `/_matrix/client/v3/sync?timeout=5000&since=${next}`, alice.token);
      found = JSON.stringify(polled.body).includes(eventId);
      next = polled.body['next_batch'] as string;
    }

    // Each process flushes its spans when it stops.
    expect(await deployment.stop()).toEqual({ code: 0, signal: null });
    deployment = undefined;

    const trace = spansOf(collector).filter((s) => s.traceId === traceId);
    const services = new Set(trace.map((s) => s.service));
    process.stdout.write(`[trace] ${trace.length} spans in trace ${traceId}: ${[...services].sort().join(', ')}\n`);
    expect([...services]).toEqual(expect.arrayContaining(['axon-client-api', 'axon-room-server', 'axon-sync']));
    // The hops: client-api's request and publish, room-server consuming the input and
    // publishing the output, sync consuming the output.
    const names = trace.map((s) => `${s.service} ${s.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^axon-client-api send .*hs\.room\.input\.v1$/),
        expect.stringMatching(/^axon-room-server process .*hs\.room\.input\.v1$/),
        expect.stringMatching(/^axon-room-server send .*hs\.room\.output\.v1$/),
        expect.stringMatching(/^axon-sync process .*hs\.room\.output\.v1$/),
      ]),
    );
  }, 180_000);
});
