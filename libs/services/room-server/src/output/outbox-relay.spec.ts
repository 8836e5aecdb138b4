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
import { outboxShard } from './outbox-shard';

const ALICE = '@alice:hs.test';
const silent = { warn: () => undefined };

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Two room-server replicas share one outbox, split in shards (a room's input partition);
// one relay at a time holds each shard's lease.
describe('outbox relays of two replicas', () => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let store: RoomStore;
  let writer: RoomWriter;
  let holder: OutboxRelay;
  let other: OutboxRelay;
  let counter = 0;
  const outputs: RoomOutput[] = [];

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-relay-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    store = new RoomStore(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    writer = new RoomWriter(store, { serverName: 'hs.test', key: key.value, backend });
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

  /** A new room (two events, two outbox rows); its ID. */
  async function createRoom(): Promise<string> {
    const create: ProtoEvent[] = [
      { type: 'm.room.create', state_key: '', sender: ALICE, content: { room_version: '12' } },
      { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
    ];
    const outcome = await writer.handle({ kind: 'create_room', request_id: `create-${++counter}`, room_version: '12', events: create });
    if (!outcome.ok) throw outcome.error;
    return outcome.roomId;
  }

  async function sendMessage(roomId: string): Promise<void> {
    const outcome = await writer.handle({
      kind: 'new_event',
      request_id: `send-${++counter}`,
      room_id: roomId,
      event: { type: 'm.room.message', sender: ALICE, content: { msgtype: 'm.text', body: 'hi' } },
    });
    if (!outcome.ok) throw outcome.error;
  }

  const seqsOf = (roomId: string): number[] => outputs.filter((output) => output.room_id === roomId).map((output) => output.room_seq);

  it('the replica that wrote the rows nudges the lease holder, which publishes them at once', async () => {
    const roomId = await createRoom();
    await holder.kick(); // publishes both rows and keeps the room's shard lease
    expect(seqsOf(roomId)).toEqual([1, 2]);

    await sendMessage(roomId);
    expect(await store.peekOutbox(10)).toHaveLength(1);
    await other.kick(); // the shard's lease is the holder's: this only nudges it
    await until('the nudged holder published', () => seqsOf(roomId).length === 3);
    expect(seqsOf(roomId)).toEqual([1, 2, 3]);
    expect(await store.peekOutbox(10)).toEqual([]);
  });

  it("a dead relay's lease holds up only its own shard: other rooms publish at once, its rooms once the lease expires", async () => {
    // Two rooms in two shards, neither the one the first test left leased to `holder`.
    const taken = new Set(outputs.map((output) => outboxShard(output.room_id)));
    let stuck = await createRoom();
    while (taken.has(outboxShard(stuck))) stuck = await createRoom();
    taken.add(outboxShard(stuck));
    let free = await createRoom();
    while (taken.has(outboxShard(free))) free = await createRoom();
    // A relay that took the stuck room's shard and then died (kill -9: nothing released).
    const leaseMs = 1_500;
    expect(await store.acquireRelayLeases('dead-relay', [outboxShard(stuck)], Date.now(), leaseMs)).toEqual([outboxShard(stuck)]);
    const deadAt = Date.now();

    await other.kick(); // publishes `free` (rows in `holder`'s shard: nudged to it)
    expect(seqsOf(free)).toEqual([1, 2]);
    await until('only the dead relay\'s shard left', async () => (await store.pendingOutboxShards()).join() === String(outboxShard(stuck)));
    expect(seqsOf(stuck)).toEqual([]);

    await until('the dead lease expired', async () => {
      await other.kick({ nudge: false });
      return seqsOf(stuck).length === 2;
    });
    expect(Date.now() - deadAt).toBeGreaterThanOrEqual(leaseMs);
    expect(seqsOf(stuck)).toEqual([1, 2]);
    expect(await store.pendingOutboxShards()).toEqual([]);
  });
});
