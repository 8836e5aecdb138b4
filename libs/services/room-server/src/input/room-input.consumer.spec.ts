import { roomStorageForWriter } from './writer-storage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { decodeRoomInputOutcome, roomInputResultChannel, roomInputTopic, roomOutputTopic, type ProtoEvent, type RoomOutput } from '@axon/contracts-kafka';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import { OutboxRelay } from '../output/outbox-relay';
import { relayedOutputs, transactionalOutputs, type OutputChannel } from '../output/output-channel';
import { createRoomQuery } from '../query/room-query';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';
import { RoomInputConsumer } from './room-input.consumer';
import { RoomWriter } from './room-writer';

const ALICE = '@alice:hs.test';
const silent = { warn: () => undefined };

// The whole write path on the embedded transports: input through the in-process bus, the
// consumer and writer, the outputs to hs.room.output.v1 (through the outbox and its relay,
// as with Kafka, or into the bus's log in the appending transaction, as the embedded
// default does), the wake-up for the waiter.
describe.each([
  ['through the outbox', 'outbox'],
  ['in the appending transaction', 'transactional'],
] as const)('room input → room output on the in-process bus, outputs %s', (_name, channel) => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let storage: RoomStorage;
  let consumer: RoomInputConsumer;
  let relay: OutboxRelay;
  let channelOf: OutputChannel;
  const outputs: RoomOutput[] = [];

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-bus-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    relay = new OutboxRelay(storage, bus, silent);
    const publisher = bus.transactionalPublisher(database);
    if (publisher === undefined) throw new Error('the in-process bus offers transactions on its own database');
    channelOf = channel === 'outbox' ? relayedOutputs(storage, relay) : transactionalOutputs(bus, publisher, relay);
    const writer = new RoomWriter(roomStorageForWriter(storage, channelOf.writeOutputs), { serverName: 'hs.test', key: key.value, backend });
    consumer = new RoomInputConsumer(bus, writer, channelOf, cache.wakeups);
    await channelOf.start();
    await consumer.start();
    await bus.subscribe(roomOutputTopic, 'test-output', (message) => {
      outputs.push(message.value);
      return ack;
    });
  });

  afterAll(async () => {
    await consumer.stop();
    await channelOf.stop();
    await bus.close();
    await cache.close();
    await database.close();
  });

  async function submit(input: Parameters<typeof roomInputTopic.key>[0]): Promise<string> {
    const woken = new Promise<string>((resolve) => {
      void cache.wakeups.subscribe(roomInputResultChannel(input.request_id), (payload) => {
        // The wake-up carries the outcome: the event ID, or the errcode of a refusal.
        const outcome = decodeRoomInputOutcome(payload);
        resolve(outcome === undefined ? `undecodable: ${payload}` : outcome.ok ? outcome.event_id : outcome.errcode);
      });
    });
    // Subscribe before publishing, so the wake-up cannot be missed.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await bus.publish(roomInputTopic, [input]);
    return woken;
  }

  it('creates a room and sends messages; outputs arrive in order with gap-free room sequences', async () => {
    const create: ProtoEvent[] = [
      { type: 'm.room.create', state_key: '', sender: ALICE, content: { room_version: '12' } },
      { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
      { type: 'm.room.power_levels', state_key: '', sender: ALICE, content: { users: {} } },
      { type: 'm.room.join_rules', state_key: '', sender: ALICE, content: { join_rule: 'invite' } },
    ];
    const createdId = await submit({ kind: 'create_room', request_id: 'create-1', room_version: '12', events: create });
    const query = createRoomQuery(storage);
    const ctx = {} as never;
    const created = await query.getInputResult({ requestId: 'create-1' }, ctx);
    expect(created).toMatchObject({ found: true, eventId: createdId });
    const roomId = created.roomId;

    const sent: string[] = [];
    for (let index = 0; index < 30; index++) {
      const request = `send-${index}`;
      await bus.publish(roomInputTopic, [{ kind: 'new_event', request_id: request, room_id: roomId, event: { type: 'm.room.message', sender: ALICE, content: { body: `${index}` } } }]);
      sent.push(request);
    }
    const refusedId = await submit({ kind: 'new_event', request_id: 'refused', room_id: roomId, event: { type: 'm.room.message', sender: '@mallory:hs.test', content: {} } });
    expect(refusedId).toBe('M_FORBIDDEN');
    expect(await query.getInputResult({ requestId: 'refused' }, ctx)).toMatchObject({ found: true, eventId: '', errcode: 'M_FORBIDDEN' });

    const deadline = Date.now() + 10_000;
    while (outputs.filter((output) => output.room_id === roomId).length < 34 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const ours = outputs.filter((output) => output.room_id === roomId);
    expect(ours.map((output) => output.room_seq)).toEqual(Array.from({ length: 34 }, (_, index) => index + 1));
    const bodies = ours.slice(4).map((output) => (JSON.parse(output.pdu_json) as { content: { body: string } }).content.body);
    expect(bodies).toEqual(Array.from({ length: 30 }, (_, index) => `${index}`));
    for (const request of sent) expect((await query.getInputResult({ requestId: request }, ctx)).found).toBe(true);
    expect(await storage.outbox.peek(storage.db, 10)).toEqual([]);

    const page = await query.paginate({ roomId, from: '', direction: 'b', limit: 10, to: '' }, ctx);
    expect(page.events.map((event) => event.eventId)).toEqual(ours.slice(-10).reverse().map((output) => output.event_id));
    const next = await query.paginate({ roomId, from: page.next, direction: 'b', limit: 100, to: '' }, ctx);
    expect(next.events.length).toBe(24);
    expect(next.next).toBe('');
  });

  it('a woken caller finds its output on the bus already (read-your-writes)', async () => {
    const roomId = (await storage.inputResults.get(storage.db, 'create-1'))!.room_id!;
    for (let index = 0; index < 5; index++) {
      const before = (await bus.endOffsets(roomOutputTopic)).reduce((sum, offset) => sum + offset, 0n);
      const eventId = await submit({ kind: 'new_event', request_id: `ryw-${index}`, room_id: roomId, event: { type: 'm.room.message', sender: ALICE, content: { body: 'ryw' } } });
      expect(eventId).toMatch(/^\$/);
      // Nothing else writes to the room: the log holds exactly one more output.
      expect((await bus.endOffsets(roomOutputTopic)).reduce((sum, offset) => sum + offset, 0n)).toBe(before + 1n);
    }
  });
});
