import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Database } from '@axon/platform-database';
import { outboxShard } from '../output/outbox-shard';
import { ROOM_SERVER_MIGRATIONS } from './migrations';
import { RoomStore } from './room-store';

describe('room server migrations', () => {
  it('OutboxShards gives the rows waiting at the upgrade their room\'s shard, keeping their order', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-migrate-')), inMemory: true });
    try {
      const before = await database.dataSource({ schema: 'room_server', migrations: ROOM_SERVER_MIGRATIONS.slice(0, 3) });
      const rooms = ['!a:hs.test', '!b:hs.test', '!c:hs.test', '!a:hs.test', '!c:hs.test'];
      for (const [n, roomId] of rooms.entries()) {
        await before.query(`INSERT INTO outbox (room_id, payload) VALUES ($1, $2)`, [roomId, JSON.stringify({ n })]);
      }
      await before.query(`INSERT INTO relay_lease (id, holder, expires_at) VALUES (1, 'old-relay', $1)`, [Date.now() + 60_000]);

      const store = new RoomStore(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
      const shards = [...new Set(rooms.map(outboxShard))].sort((a, b) => a - b);
      expect(await store.pendingOutboxShards()).toEqual(shards);
      // The old whole-outbox lease is gone: every shard is free.
      expect(await store.acquireRelayLeases('new-relay', shards, Date.now(), 5_000)).toEqual(shards);
      const ofA = await store.peekOutbox(10, [outboxShard('!a:hs.test')]);
      expect(ofA.map((row) => (JSON.parse(row.payload) as { n: number }).n).filter((n) => rooms[n] === '!a:hs.test')).toEqual([0, 3]);
      expect((await store.peekOutbox(10)).map((row) => (JSON.parse(row.payload) as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await database.close();
    }
  });
});
