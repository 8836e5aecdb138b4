import { roomStorageForWriter } from '../input/writer-storage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { roomOutputTopic, type ProtoEvent, type RoomOutput } from '@axon/contracts-kafka';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import type { RoomId } from '@axon/matrix-identifiers';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import { RoomWriter } from '../input/room-writer';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';
import { OUTBOX_CHANNEL, OutboxRelay } from './outbox-relay';
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
  let storage: RoomStorage;
  let writer: RoomWriter;
  let holder: OutboxRelay;
  let other: OutboxRelay;
  let counter = 0;
  const outputs: RoomOutput[] = [];

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-relay-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    writer = new RoomWriter(roomStorageForWriter(storage), { serverName: 'hs.test', key: key.value, backend });
    // No idle polling within the test: only a kick or a nudge publishes.
    holder = new OutboxRelay(storage, bus, silent, cache.wakeups, { idlePollMs: 3_600_000 });
    other = new OutboxRelay(storage, bus, silent, cache.wakeups, { idlePollMs: 3_600_000 });
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
  async function createRoom(): Promise<RoomId> {
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

  /** Rooms whose outbox shards differ from each other and from every room made before. */
  async function roomsInNewShards(count: number): Promise<RoomId[]> {
    const taken = new Set(outputs.map((output) => outboxShard(output.room_id as RoomId)));
    for (const shard of await storage.outbox.pendingShards(storage.db)) taken.add(shard);
    const rooms: RoomId[] = [];
    while (rooms.length < count) {
      const roomId = await createRoom();
      if (taken.has(outboxShard(roomId))) continue;
      taken.add(outboxShard(roomId));
      rooms.push(roomId);
    }
    return rooms;
  }

  it("a commit's kick publishes its own shards only, asks for a shard another relay holds, and a nudge gets it published", async () => {
    // Rooms in other shards made on the way are published by the idle poll only: none here.
    await holder.poll();
    const [mine, theirs] = (await roomsInNewShards(2)) as [RoomId, RoomId];
    await holder.poll(); // leftovers of rooms skipped by roomsInNewShards
    await sendMessage(mine);
    await sendMessage(theirs);
    const busy = 'busy-relay';
    expect(await storage.outbox.acquireLeases(storage.db, busy, [outboxShard(theirs)], Date.now(), 60_000)).toEqual([outboxShard(theirs)]);
    const nudges: string[] = [];
    const unsubscribe = await cache.wakeups.subscribe(OUTBOX_CHANNEL, (payload) => {
      nudges.push(payload);
    });
    try {
      await other.kick([outboxShard(mine), outboxShard(theirs)]);
      expect(seqsOf(mine)).toEqual([1, 2, 3]);
      expect(seqsOf(theirs)).toEqual([1, 2]);
      await until('the nudge', () => nudges.length > 0);
      expect(nudges.map((payload) => JSON.parse(payload) as { shards: number[] }).map((nudge) => nudge.shards)).toEqual([[outboxShard(theirs)]]);
      expect(await storage.outbox.pendingShards(storage.db)).toEqual([outboxShard(theirs)]);

      // The busy relay gave its lease back; a nudge for the shard gets it published at once.
      await storage.outbox.releaseLeases(storage.db, busy);
      await cache.wakeups.publish(OUTBOX_CHANNEL, JSON.stringify({ from: busy, shards: [outboxShard(theirs)] }));
      await until('the nudged relays published', () => seqsOf(theirs).length === 3);
      expect(seqsOf(theirs)).toEqual([1, 2, 3]);
      expect(await storage.outbox.pendingShards(storage.db)).toEqual([]);
    } finally {
      await unsubscribe();
    }
  });

  it("a dead relay's lease holds up only its own shard: other rooms publish at once, its rooms once the lease expires", async () => {
    const [stuck, free] = (await roomsInNewShards(2)) as [RoomId, RoomId];
    await holder.poll(); // leftovers of rooms skipped by roomsInNewShards (and the two rooms)
    await sendMessage(stuck);
    await sendMessage(free);
    // A relay that took the stuck room's shard and then died (kill -9: nothing released).
    // A long lease, so nothing below can outlast it however slow the machine is.
    expect(await storage.outbox.acquireLeases(storage.db, 'dead-relay', [outboxShard(stuck)], Date.now(), 60_000)).toEqual([outboxShard(stuck)]);

    await other.kick([outboxShard(stuck), outboxShard(free)]);
    await holder.poll();
    expect(seqsOf(free)).toEqual([1, 2, 3]);
    expect(seqsOf(stuck)).toEqual([1, 2]);
    expect(await storage.outbox.pendingShards(storage.db)).toEqual([outboxShard(stuck)]);

    // The lease runs out (renewed by its holder into the past: expires_at = now - 1).
    expect(await storage.outbox.acquireLeases(storage.db, 'dead-relay', [outboxShard(stuck)], Date.now() - 60_001, 60_000)).toEqual([outboxShard(stuck)]);
    await until('the expired lease taken over', async () => {
      await holder.poll();
      return seqsOf(stuck).length === 3;
    });
    expect(seqsOf(stuck)).toEqual([1, 2, 3]);
    expect(await storage.outbox.pendingShards(storage.db)).toEqual([]);
  });

  it('after its idle poll, a relay that deleted enough rows vacuums the outbox, and not again until it deletes more', async () => {
    const vacuums = jest.spyOn(storage.outbox, 'vacuum'); // calls the real VACUUM through
    const warnings: unknown[] = [];
    const poller = new OutboxRelay(storage, bus, { warn: (obj) => warnings.push(obj) }, undefined, { idlePollMs: 20, vacuumAfterRows: 3 });
    try {
      await poller.start();
      const roomId = await createRoom();
      await sendMessage(roomId);
      // Published and deleted by its idle poll (three rows), then vacuumed by the next one.
      await until('published', () => seqsOf(roomId).length === 3);
      await until('vacuumed', () => vacuums.mock.calls.length === 1);
      await expect(vacuums.mock.results[0]!.value).resolves.toBeUndefined();
      // Ten more polls with nothing deleted: no second vacuum.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(vacuums.mock.calls.length).toBe(1);
      expect(warnings).toEqual([]);
    } finally {
      await poller.stop();
      vacuums.mockRestore();
    }
  });

  it('with vacuumAfterRows false (embedded PGlite), a relay never vacuums', async () => {
    const vacuums = jest.spyOn(storage.outbox, 'vacuum');
    const poller = new OutboxRelay(storage, bus, silent, undefined, { idlePollMs: 20, vacuumAfterRows: false });
    try {
      await poller.start();
      const roomId = await createRoom();
      await sendMessage(roomId);
      await until('published', () => seqsOf(roomId).length === 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(vacuums).not.toHaveBeenCalled();
    } finally {
      await poller.stop();
      vacuums.mockRestore();
    }
  });
});
