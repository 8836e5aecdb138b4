import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { outboxShard } from '../output/outbox-shard';
import { EventTransactions1764500000000, RemoteEvents1765700000000, ROOM_SERVER_MIGRATIONS } from './migrations';
import { RoomStorage } from './room-storage';

describe('room server migrations', () => {
  it('OutboxShards gives the rows waiting at the upgrade their room\'s shard, keeping their order', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-migrate-')), inMemory: true });
    try {
      const before = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, 3) });
      const rooms = ['!a:hs.test', '!b:hs.test', '!c:hs.test', '!a:hs.test', '!c:hs.test'] as RoomId[];
      for (const [n, roomId] of rooms.entries()) {
        await before.query(`INSERT INTO outbox (room_id, payload) VALUES ($1, $2)`, [roomId, JSON.stringify({ n })]);
      }
      await before.query(`INSERT INTO relay_lease (id, holder, expires_at) VALUES (1, 'old-relay', $1)`, [Date.now() + 60_000]);

      const storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
      const shards = [...new Set(rooms.map(outboxShard))].sort((a, b) => a - b);
      expect(await storage.outbox.pendingShards(storage.db)).toEqual(shards);
      // The old whole-outbox lease is gone: every shard is free.
      expect(await storage.outbox.acquireLeases(storage.db, 'new-relay', shards, Date.now(), 5_000)).toEqual(shards);
      const ofA = await storage.outbox.peek(storage.db, 10, [outboxShard(rooms[0]!)]);
      expect(ofA.map((row) => (JSON.parse(row.payload) as { n: number }).n).filter((n) => rooms[n] === '!a:hs.test')).toEqual([0, 3]);
      expect((await storage.outbox.peek(storage.db, 10)).map((row) => (JSON.parse(row.payload) as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await database.close();
    }
  });

  it('ForwardExtremitiesOnRooms moves each room\'s extremities onto its row, and back on the way down', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-migrate-')), inMemory: true });
    try {
      const before = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, 4) });
      for (const roomId of ['!forked:hs.test', '!linear:hs.test', '!empty:hs.test']) {
        await before.query(`INSERT INTO rooms (room_id, room_version, head_seq, state_group, latest_nid) VALUES ($1, '10', 3, NULL, 0)`, [roomId]);
      }
      const extremities: Array<[string, string]> = [
        ['!forked:hs.test', '$b'],
        ['!forked:hs.test', '$a'],
        ['!linear:hs.test', '$c'],
      ];
      for (const [roomId, eventId] of extremities) {
        await before.query(`INSERT INTO forward_extremities (room_id, event_id) VALUES ($1, $2)`, [roomId, eventId]);
      }

      const after = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, 5) });
      expect(await after.query(`SELECT room_id, forward_extremities FROM rooms ORDER BY room_id`)).toEqual([
        { room_id: '!empty:hs.test', forward_extremities: [] },
        { room_id: '!forked:hs.test', forward_extremities: ['$a', '$b'] },
        { room_id: '!linear:hs.test', forward_extremities: ['$c'] },
      ]);
      expect(await after.query(`SELECT to_regclass('room_server.forward_extremities') IS NULL AS gone`)).toEqual([{ gone: true }]);

      await after.undoLastMigration();
      expect(await after.query(`SELECT room_id, event_id FROM forward_extremities ORDER BY room_id, event_id`)).toEqual([
        { room_id: '!forked:hs.test', event_id: '$a' },
        { room_id: '!forked:hs.test', event_id: '$b' },
        { room_id: '!linear:hs.test', event_id: '$c' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('EventTransactions leaves the events before it without a transaction, and drops the columns on the way down', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-migrate-')), inMemory: true });
    try {
      const index = ROOM_SERVER_MIGRATIONS.indexOf(EventTransactions1764500000000);
      const before = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, index) });
      await before.query(
        `INSERT INTO events (event_id, room_id, room_seq, type, sender, depth, origin_server_ts, pdu_json) VALUES ('$old', '!r:hs.test', 1, 'm.room.message', '@a:hs.test', 1, 0, '{}')`,
      );

      const after = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, index + 1) });
      expect(await after.query(`SELECT event_id, txn_device_id, txn_id FROM events`)).toEqual([{ event_id: '$old', txn_device_id: null, txn_id: null }]);

      await after.undoLastMigration();
      expect(await after.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'room_server' AND table_name = 'events' AND column_name LIKE 'txn%'`)).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('RemoteEvents keeps every event in the timeline, lets outliers in, and on the way down drops them', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-migrate-')), inMemory: true });
    try {
      const index = ROOM_SERVER_MIGRATIONS.indexOf(RemoteEvents1765700000000);
      const before = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, index) });
      await before.query(
        `INSERT INTO events (event_id, room_id, room_seq, type, sender, depth, origin_server_ts, pdu_json) VALUES ('$old', '!r:hs.test', 1, 'm.room.message', '@a:hs.test', 1, 0, '{}')`,
      );
      const after = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, index + 1) });
      const storage = new RoomStorage(after);
      expect(await storage.events.byIds(storage.db, ['$old' as EventId])).toMatchObject([{ event_id: '$old', room_seq: 1, status: null }]);
      await after.query(
        `INSERT INTO events (event_id, room_id, room_seq, type, sender, depth, origin_server_ts, pdu_json, status) VALUES ('$out', '!r:hs.test', NULL, 'm.room.member', '@b:hs.test', 1, 0, '{}', 'outlier')`,
      );
      expect((await storage.timeline.paginate(storage.db, '!r:hs.test' as RoomId, { direction: 'f', limit: 10 })).map((e) => e.event_id)).toEqual(['$old']);

      await after.undoLastMigration();
      expect(await after.query(`SELECT event_id FROM events`)).toEqual([{ event_id: '$old' }]);
    } finally {
      await database.close();
    }
  });
});
