import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { roomOutputTopic, type ProtoEvent, type RoomOutput } from '@axon/contracts-kafka';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import { RoomWriter } from '../input/room-writer';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStore } from '../storage/room-store';
import { OutboxRelay } from './outbox-relay';

const ALICE = '@alice:hs.test';
const silent = { warn: () => undefined };

// Two room-server replicas share one outbox; one relay holds the lease. Rows the other
// replica writes must not wait for the holder's idle poll: its relay nudges the holder.
describe('outbox relays of two replicas', () => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let store: RoomStore;
  let holder: OutboxRelay;
  let other: OutboxRelay;
  const outputs: RoomOutput[] = [];

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-relay-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    store = new RoomStore(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    // No idle polling within the test: only a kick or a nudge publishes.
    holder = new OutboxRelay(store, bus, silent, cache.wakeups, { idlePollMs: 3_600_000 });
    other = new OutboxRelay(store, bus, silent, cache.wakeups, { idlePollMs: 3_600_000 });
    await holder.start();
    await other.start();
    await bus.subscribe(roomOutputTopic, 'test-output', (message) => {
      outputs.push(message.value);
      return ack;
    });
  });

  afterAll(async () => {
    await holder.stop();
    await other.stop();
    await bus.close();
    await cache.close();
    await database.close();
  });

  it('the replica that wrote the rows nudges the lease holder, which publishes them at once', async () => {
    await holder.kick(); // takes the lease (nothing to publish yet)
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    const writer = new RoomWriter(store, { serverName: 'hs.test', key: key.value, backend });
    const create: ProtoEvent[] = [
      { type: 'm.room.create', state_key: '', sender: ALICE, content: { room_version: '12' } },
      { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
    ];
    const outcome = await writer.handle({ kind: 'create_room', request_id: 'create-1', room_version: '12', events: create });
    expect(outcome.ok).toBe(true);
    expect(await store.peekOutbox(10)).toHaveLength(2);

    await other.kick(); // the lease is the holder's: this only nudges it
    const deadline = Date.now() + 10_000;
    while (outputs.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outputs.map((output) => output.room_seq)).toEqual([1, 2]);
    expect(await store.peekOutbox(10)).toEqual([]);
  });
});
