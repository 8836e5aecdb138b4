import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { RoomOutput } from '@axon/contracts-kafka';
import type { RoomId, UserId } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { SYNC_MIGRATIONS } from './migrations';
import { RoomEventsRepository } from './room-events.repository';
import { SyncStorage } from './sync-repositories';

const ROOM = '!room:hs.test' as RoomId;
const ALICE = '@alice:hs.test' as UserId;
const BOB = '@bob:hs.test' as UserId;

describe('RoomEventsRepository.apply (embedded Postgres)', () => {
  let database: Database;
  let storage: SyncStorage;
  let seq = 0;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-sync-apply-')), inMemory: true });
    storage = new SyncStorage(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] }));
  });

  afterAll(async () => {
    await database.close();
  });

  function output(event: { type: string; sender: UserId; state_key?: string; content: Record<string, unknown> }, extra: Partial<RoomOutput> = {}): RoomOutput {
    seq++;
    const eventId = `$${seq}`;
    return {
      room_id: ROOM,
      room_version: '10',
      event_id: eventId,
      pdu_json: JSON.stringify({ ...event, room_id: ROOM, origin_server_ts: seq }),
      stream_ordering: String(seq),
      room_seq: seq,
      prev_room_seq: seq - 1,
      state_added: event.state_key === undefined ? [] : [[event.type, event.state_key, eventId]],
      state_removed: [],
      ...extra,
    };
  }

  it('records an event, its state and membership with the applied position, wakes the members and the target, and changes nothing when redelivered', async () => {
    const create = output({ type: 'm.room.create', sender: ALICE, state_key: '', content: {} });
    expect(await storage.roomEvents.apply(create, 3, '10')).toEqual([]);
    expect(await storage.roomEvents.apply(output({ type: 'm.room.member', sender: ALICE, state_key: ALICE, content: { membership: 'join' } }), 3, '11')).toEqual([ALICE]);
    const invite = output({ type: 'm.room.member', sender: ALICE, state_key: BOB, content: { membership: 'invite' } });
    expect((await storage.roomEvents.apply(invite, 3, '12')).sort()).toEqual([ALICE, BOB]);
    expect((await storage.positions.heads()).rooms[3]).toBe(12);
    expect(await storage.memberships.ofUser(BOB)).toEqual(new Map([[ROOM, 'invite']]));

    // Redelivered (the consumer crashed before committing its offset): nothing moves, nobody is woken.
    expect(await storage.roomEvents.apply(invite, 3, '12')).toEqual([]);
    expect(await storage.memberships.changesOfUser(BOB, Array<number>(16).fill(-1), Array<number>(16).fill(100))).toHaveLength(1);

    const leave = output({ type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'leave' } });
    expect((await storage.roomEvents.apply(leave, 3, '13')).sort()).toEqual([ALICE, BOB]);
    expect(await storage.memberships.countsOf([ROOM, '!nobody:example.org' as RoomId], 6)).toEqual(new Map([[ROOM, { joined: 1, invited: 0, heroes: [ALICE] }]]));
    expect((await storage.roomEvents.currentStateOf([ROOM], ['m.room.member'])).map((event) => event.state_key).sort()).toEqual([ALICE, BOB]);
  });

  it('applies a redaction and state removed and replaced in one go', async () => {
    const topic = output({ type: 'm.room.topic', sender: ALICE, state_key: '', content: { topic: 'tea' } });
    await storage.roomEvents.apply(topic, 3, '20');
    const name = output({ type: 'm.room.name', sender: ALICE, state_key: '', content: { name: 'Tea' } });
    await storage.roomEvents.apply(name, 3, '21');
    const redaction = output(
      { type: 'm.room.redaction', sender: ALICE, content: {} },
      { redacted_event_id: topic.event_id, state_removed: [['m.room.topic', '', topic.event_id], ['m.room.name', '', name.event_id]], state_added: [['m.room.name', '', '$renamed']] },
    );
    await storage.roomEvents.apply(redaction, 3, '22');
    const [redacted] = await storage.roomEvents.eventsByIds([topic.event_id as never]);
    expect(redacted?.redacted_by).toBe(redaction.event_id);
    const state = await storage.roomEvents.currentState(ROOM, ['m.room.topic', 'm.room.name']);
    expect(state).toEqual([]);
    expect(await storage.db.query(`SELECT type, event_id FROM room_state WHERE room_id = $1 AND type IN ('m.room.topic', 'm.room.name')`, [ROOM])).toEqual([
      { type: 'm.room.name', event_id: '$renamed' },
    ]);
  });
  it('applies runs of messages of several partitions in one statement: rows and each partition\'s position together, members of each room woken, nothing on redelivery', async () => {
    const other = '!other:hs.test' as RoomId;
    const msg = (roomId: RoomId, n: number, sender: UserId): RoomOutput => ({
      room_id: roomId,
      room_version: '10',
      event_id: `$m${n}`,
      pdu_json: JSON.stringify({ type: 'm.room.message', sender, room_id: roomId, content: { body: String(n) } }),
      stream_ordering: String(1000 + n),
      room_seq: 1000 + n,
      prev_room_seq: 999 + n,
      state_added: [],
      state_removed: [],
    });
    const batch = [
      { output: msg(ROOM, 1, ALICE), offset: '40' },
      { output: msg(other, 2, BOB), offset: '41' },
      { output: msg(ROOM, 3, ALICE), offset: '42' },
    ];
    expect(batch.every(({ output }) => RoomEventsRepository.isPlainMessage(output))).toBe(true);
    const woken = await storage.roomEvents.applyMessages([{ partition: 5, outputs: batch.slice(0, 2) }, { partition: 6, outputs: batch.slice(2) }]);
    // The room's members are woken; the other room has none in the read model.
    expect(new Set(woken.keys())).toEqual(new Set([ROOM]));
    // Each partition's position is its run's last offset.
    expect((await storage.positions.heads()).rooms.slice(5, 7)).toEqual([41, 42]);
    expect((await storage.roomEvents.timeline(ROOM, [{ partition: 5, after: 0, upTo: 100 }], 10)).map((event) => [event.event_id, event.offset, event.sender])).toEqual([['$m1', '40', ALICE]]);
    expect((await storage.roomEvents.timeline(ROOM, [{ partition: 6, after: 0, upTo: 100 }], 10)).map((event) => [event.event_id, event.offset, event.sender])).toEqual([['$m3', '42', ALICE]]);
    // A room in two partitions (its partition count raised): both windows, in the room's order.
    expect((await storage.roomEvents.timeline(ROOM, [{ partition: 6, after: 0, upTo: 100 }, { partition: 5, after: 0, upTo: 100 }], 10)).map((event) => event.event_id)).toEqual(['$m1', '$m3']);
    expect(await storage.roomEvents.seqAt(ROOM, [{ partition: 5, after: 40, upTo: 100 }, { partition: 6, after: 0, upTo: 100 }])).toBe(1001);
    expect((await storage.roomEvents.partitionsOf([ROOM, other])).get(ROOM)).toEqual(expect.arrayContaining([5, 6]));
    // Redelivered: nothing is written twice and nobody is woken.
    expect(await storage.roomEvents.applyMessages([{ partition: 5, outputs: batch }])).toEqual(new Map());
    expect(await storage.roomEvents.timeline(ROOM, [{ partition: 5, after: 0, upTo: 100 }], 10)).toHaveLength(1);
  });

  it("keeps the sending device's transaction of a message applied alone or in a run, and none for an output without one", async () => {
    const phone = { device_id: 'PHONE', txn_id: 'txn-alone' };
    const redaction = output({ type: 'm.room.redaction', sender: ALICE, content: {} }, { redacted_event_id: '$unknown', transaction: phone });
    expect(RoomEventsRepository.isPlainMessage(redaction)).toBe(false);
    await storage.roomEvents.apply(redaction, 7, '1');
    const inRun = output({ type: 'm.room.message', sender: ALICE, content: { body: 'run' } }, { transaction: { device_id: 'LAPTOP', txn_id: 'txn-run' } });
    const without = output({ type: 'm.room.message', sender: ALICE, content: { body: 'plain' } });
    await storage.roomEvents.applyMessages([{ partition: 7, outputs: [{ output: inRun, offset: '2' }, { output: without, offset: '3' }] }]);
    const stored = await storage.roomEvents.eventsByIds([redaction.event_id, inRun.event_id, without.event_id] as never);
    expect(Object.fromEntries(stored.map((event) => [event.event_id, [event.txn_device_id, event.txn_id]]))).toEqual({
      [redaction.event_id]: ['PHONE', 'txn-alone'],
      [inRun.event_id]: ['LAPTOP', 'txn-run'],
      [without.event_id]: [null, null],
    });
  });
});
