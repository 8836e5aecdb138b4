import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { destinationShard } from '../delivery/destination-shard';
import { FEDERATION_SENDER_MIGRATIONS } from './migrations';
import { SenderStorage } from './sender-storage';

const PEER = 'peer.test' as ServerName;
const OTHER = 'other.test' as ServerName;
const ROOM = '!a:origin.test' as RoomId;
const ROOM_B = '!b:origin.test' as RoomId;

const pdu = (n: number, roomId = ROOM, destination = PEER) => ({ destination, roomId, eventId: `$e${n}` as EventId, pduJson: `{"depth":${n}}` });
const typing = (user: string, typingNow: boolean, destination = PEER) => ({
  destination,
  eduType: 'm.typing',
  eduJson: JSON.stringify({ edu_type: 'm.typing', content: { room_id: ROOM, user_id: user, typing: typingNow } }),
  dedupeKey: `m.typing ${ROOM} ${user}`,
  replace: true,
});

describe('SenderStorage (embedded Postgres)', () => {
  let database: Database;
  let storage: SenderStorage;
  let schema = 0;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(join(tmpdir(), 'axon-fed-sender-')), inMemory: true });
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    // A fresh schema per test, with a catch-up limit of 5 PDUs per room.
    storage = new SenderStorage(await database.dataSource({ schema: `federation_sender_${schema++}`, migrations: [...FEDERATION_SENDER_MIGRATIONS] }), 5);
  });

  it('enqueues a PDU once per destination and event however often it is delivered, in order', async () => {
    expect(await storage.enqueue({ pdus: [pdu(1), pdu(2), pdu(1, ROOM, OTHER)] })).toEqual({ added: 3, dropped: 0 });
    expect(await storage.enqueue({ pdus: [pdu(1), pdu(2)] })).toEqual({ added: 0, dropped: 0 });
    const batch = await storage.peek(PEER, 50, 100);
    expect(batch.pdus.map((row) => row.eventId)).toEqual(['$e1', '$e2']);
    expect(batch.pdus[0]).toEqual({ position: expect.stringMatching(/^\d+$/), roomId: ROOM, eventId: '$e1', pduJson: '{"depth":1}' });
    expect((await storage.peek(OTHER, 50, 100)).pdus.map((row) => row.eventId)).toEqual(['$e1']);
  });

  it('keeps one to-device message per message ID, and replaces an unsent typing EDU with the newer one (at the end of the queue)', async () => {
    const toDevice = { destination: PEER, eduType: 'm.direct_to_device', eduJson: '{"edu_type":"m.direct_to_device","content":{"message_id":"m1"}}', dedupeKey: 'm.direct_to_device m1 @x:peer.test' };
    expect(await storage.enqueue({ edus: [typing('@a:origin.test', true), toDevice] })).toEqual({ added: 2, dropped: 0 });
    const before = await storage.peek(PEER, 50, 100);
    expect(await storage.enqueue({ edus: [toDevice] })).toEqual({ added: 0, dropped: 0 });
    expect(await storage.enqueue({ edus: [typing('@a:origin.test', false)] })).toEqual({ added: 1, dropped: 0 });
    const after = await storage.peek(PEER, 50, 100);
    expect(after.edus.map((row) => [row.eduType, JSON.parse(row.eduJson).content])).toEqual([
      ['m.direct_to_device', { message_id: 'm1' }],
      ['m.typing', { room_id: ROOM, user_id: '@a:origin.test', typing: false }],
    ]);
    // A transaction that carried the older typing EDU deletes only that: the newer one stays.
    await storage.remove(PEER, { pdus: [], edus: before.edus.map((row) => row.position) }, true);
    expect((await storage.peek(PEER, 50, 100)).edus.map((row) => JSON.parse(row.eduJson).content.typing)).toEqual([false]);
  });

  it('peeks in queue order past ten rows (positions compared as numbers, not as text)', async () => {
    // Catch-up keeps 5 per room here: one room per PDU.
    const rooms = Array.from({ length: 12 }, (_, i) => `!r${i + 1}:origin.test`);
    for (const [i, room] of rooms.entries()) await storage.enqueue({ pdus: [pdu(i + 1, room as never)], edus: [typing(`@u${i}:origin.test`, true)] });
    const batch = await storage.peek(PEER, 50, 100);
    expect(batch.pdus.map((row) => row.eventId)).toEqual(rooms.map((_, i) => `$e${i + 1}`));
    expect(batch.edus.map((row) => JSON.parse(row.eduJson).content.user_id)).toEqual(rooms.map((_, i) => `@u${i}:origin.test`));
  });

  it('peeks PDUs and EDUs each up to their own limit', async () => {
    await storage.enqueue({ pdus: [pdu(1), pdu(2), pdu(3)], edus: [typing('@a:origin.test', true), typing('@b:origin.test', true), typing('@c:origin.test', true)] });
    const batch = await storage.peek(PEER, 2, 1);
    expect(batch.pdus.map((row) => row.eventId)).toEqual(['$e1', '$e2']);
    expect(batch.edus.map((row) => JSON.parse(row.eduJson).content.user_id)).toEqual(['@a:origin.test']);
  });

  it('catch-up: keeps only the newest PDUs of a room per destination, other rooms and destinations untouched', async () => {
    await storage.enqueue({ pdus: [1, 2, 3, 4].map((n) => pdu(n)) });
    await storage.enqueue({ pdus: [pdu(100, ROOM_B), pdu(1, ROOM, OTHER)] });
    expect(await storage.enqueue({ pdus: [5, 6, 7].map((n) => pdu(n)) })).toEqual({ added: 3, dropped: 2 });
    expect((await storage.peek(PEER, 50, 100)).pdus.map((row) => row.eventId)).toEqual(['$e3', '$e4', '$e100', '$e5', '$e6', '$e7']);
    expect((await storage.peek(OTHER, 50, 100)).pdus.map((row) => row.eventId)).toEqual(['$e1']);
  });

  it('removes sent rows and ends the backoff; lists due destinations by their oldest row, leaving out those backing off', async () => {
    await storage.enqueue({ pdus: [pdu(1, ROOM, OTHER)] });
    await storage.enqueue({ pdus: [pdu(2)], edus: [typing('@a:origin.test', true)] });
    expect(await storage.due(1000, 10)).toEqual([
      { destination: OTHER, shard: destinationShard(OTHER) },
      { destination: PEER, shard: destinationShard(PEER) },
    ]);
    await storage.recordFailure(OTHER, 2, 5000);
    expect(await storage.state(OTHER)).toEqual({ failures: 2, retryAt: 5000 });
    expect((await storage.due(1000, 10)).map((d) => d.destination)).toEqual([PEER]);
    expect((await storage.due(5000, 10)).map((d) => d.destination)).toEqual([OTHER, PEER]);
    const batch = await storage.peek(OTHER, 50, 100);
    await storage.remove(OTHER, { pdus: batch.pdus.map((row) => row.position), edus: [] }, true);
    expect(await storage.state(OTHER)).toEqual({ failures: 0, retryAt: 0 });
    expect((await storage.due(5000, 10)).map((d) => d.destination)).toEqual([PEER]);
    expect(await storage.depths(10)).toEqual({ pdus: { total: 1, deepest: [{ destination: PEER, rows: 1 }] }, edus: { total: 1, deepest: [{ destination: PEER, rows: 1 }] } });
  });

  it('leases: a held shard is refused to others until it lapses or is given back; the holder renews it', async () => {
    expect(await storage.acquireLeases('one', [3, 1, 2], 1000, 100)).toEqual([1, 2, 3]);
    expect(await storage.acquireLeases('two', [2, 4], 1050, 100)).toEqual([4]);
    expect(await storage.acquireLeases('one', [2], 1080, 100)).toEqual([2]);
    // One's lease of 2 now runs to 1180; of 3, to 1100.
    expect(await storage.acquireLeases('two', [2, 3], 1101, 100)).toEqual([3]);
    expect(await storage.acquireLeases('two', [2], 1181, 100)).toEqual([2]);
    await storage.releaseLeases('two', [3]);
    expect(await storage.acquireLeases('one', [3], 1182, 100)).toEqual([3]);
    // Giving back someone else's lease does nothing.
    await storage.releaseLeases('one', [2]);
    expect(await storage.acquireLeases('one', [2], 1183, 100)).toEqual([]);
  });
});
