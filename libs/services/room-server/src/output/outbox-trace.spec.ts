import { roomStorageForWriter } from '../input/writer-storage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeRoomInputOutcome, roomInputResultChannel, roomInputTopic, roomOutputTopic, type RoomInput } from '@axon/contracts-kafka';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import { RoomInputConsumer } from '../input/room-input.consumer';
import { RoomWriter } from '../input/room-writer';
import { createRoomServerMetrics } from '../room-server.metrics';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';
import { OutboxRelay } from './outbox-relay';
import { relayedOutputs, transactionalOutputs, type OutputChannel } from './output-channel';

const ALICE = '@alice:hs.test';
const silent = { warn: () => undefined };

// One trace per send: the client's request span → the room server's consume span of the
// input → (outbox and relay, or the bus's log in the appending transaction) → the consume
// span of the output. Embedded transports, a real tracer provider with an in-memory exporter.
// The tracer provider is global and the bus's tracer is taken once, at load: one for the
// file, shared by both cases (their spans are told apart by trace ID).
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

describe.each([
  ['its outbox', 'outbox'],
  ['its appending transaction', 'transactional'],
] as const)('trace context through the room server and %s', (_name, channel) => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let storage: RoomStorage;
  let consumer: RoomInputConsumer;
  let outputs: OutputChannel;
  const metrics = new Metrics('roomtest');
  /** Per output event ID: the trace its consumer's handler ran in, and the headers it came with. */
  const consumed = new Map<string, { traceId: string | undefined; traceparent: string | undefined }>();

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-trace-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    const roomMetrics = createRoomServerMetrics(metrics);
    const relay = new OutboxRelay(storage, bus, silent);
    const publisher = bus.transactionalPublisher(database)!;
    outputs = channel === 'outbox' ? relayedOutputs(storage, relay) : transactionalOutputs(bus, publisher, relay);
    const writer = new RoomWriter(roomStorageForWriter(storage, outputs.writeOutputs), { serverName: 'hs.test', key: key.value, backend }, { metrics: roomMetrics });
    consumer = new RoomInputConsumer(bus, writer, outputs, cache.wakeups, roomMetrics);
    await outputs.start();
    await consumer.start();
    await bus.subscribe(roomOutputTopic, 'test-output', (message) => {
      consumed.set(message.value.event_id, { traceId: trace.getActiveSpan()?.spanContext().traceId, traceparent: message.headers['traceparent'] });
      return ack;
    });
  });

  afterAll(async () => {
    await consumer.stop();
    await outputs.stop();
    await bus.close();
    await cache.close();
    await database.close();
  });

  /** Publishes `input` inside a SERVER span (as client-api does inside its HTTP request) and waits for its outcome. */
  async function sendInRequest(input: RoomInput): Promise<{ traceId: string; eventId: string }> {
    const woken = new Promise<string>((resolve) => {
      void cache.wakeups.subscribe(roomInputResultChannel(input.request_id), (payload) => {
        // The wake-up carries the outcome: the event ID, or the errcode of a refusal.
        const outcome = decodeRoomInputOutcome(payload);
        resolve(outcome === undefined ? `undecodable: ${payload}` : outcome.ok ? outcome.event_id : outcome.errcode);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const tracer = trace.getTracer('test');
    const traceId = await tracer.startActiveSpan(`PUT ${input.request_id}`, { kind: SpanKind.SERVER }, async (span) => {
      await bus.publish(roomInputTopic, [input]);
      span.end();
      return span.spanContext().traceId;
    });
    return { traceId, eventId: await woken };
  }

  async function outputOf(eventId: string): Promise<{ traceId: string | undefined; traceparent: string | undefined }> {
    const deadline = Date.now() + 10_000;
    while (!consumed.has(eventId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = consumed.get(eventId);
    if (seen === undefined) throw new Error(`no output for ${eventId}`);
    return seen;
  }

  it('the request, the input consume span and the output consume span share one trace, per send', async () => {
    const created = await sendInRequest({
      kind: 'create_room',
      request_id: 'create-1',
      room_version: '12',
      events: [
        { type: 'm.room.create', state_key: '', sender: ALICE, content: { room_version: '12' } },
        { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
        { type: 'm.room.power_levels', state_key: '', sender: ALICE, content: { users: {} } },
      ],
    });
    const createOutput = await outputOf(created.eventId);
    expect(createOutput.traceId).toBe(created.traceId);
    expect(createOutput.traceparent?.split('-')[1]).toBe(created.traceId);
    const roomId = (await storage.inputResults.get(storage.db, 'create-1'))!.room_id!;

    // Two sends published back to back: the relay may publish their outputs in one batch,
    // and each must still continue its own request's trace.
    const [first, second] = await Promise.all([
      sendInRequest({ kind: 'new_event', request_id: 'send-1', room_id: roomId, event: { type: 'm.room.message', sender: ALICE, content: { body: '1' } } }),
      sendInRequest({ kind: 'new_event', request_id: 'send-2', room_id: roomId, event: { type: 'm.room.message', sender: ALICE, content: { body: '2' } } }),
    ]);
    expect(first.traceId).not.toBe(second.traceId);
    expect((await outputOf(first.eventId)).traceId).toBe(first.traceId);
    expect((await outputOf(second.eventId)).traceId).toBe(second.traceId);

    const spans = exporter.getFinishedSpans();
    for (const sent of [created, first, second]) {
      const names = spans.filter((span) => span.spanContext().traceId === sent.traceId).map((span) => span.name);
      expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^PUT /), `send ${roomInputTopic.name}`, `process ${roomInputTopic.name}`, `send ${roomOutputTopic.name}`, `process ${roomOutputTopic.name}`]));
    }
  });

  it('counts persisted events and reports an empty input backlog once the inputs are done', async () => {
    const text = await metrics.registry.metrics();
    // 3 events of the room, 2 messages.
    expect(text).toMatch(/^hs_roomtest_room_server_events_persisted_total 5$/m);
    const backlog = [...text.matchAll(/^hs_roomtest_room_server_input_backlog_messages\{partition="(\d+)"\} (\d+)$/gm)];
    expect(backlog.length).toBeGreaterThan(0);
    for (const [, , value] of backlog) expect(value).toBe('0');
  });
});
