import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Database } from '@axon/platform-database';
import { ROOM_SERVER_MIGRATIONS } from './migrations';
import { RoomStore, type AppendEvent } from './room-store';

const ROOM = '!fork:hs.test';

/** A plain message event that names `prev` as its prev events (the store does not check the PDU). */
function message(eventId: string, prev: readonly string[], depth: number): AppendEvent {
  return {
    eventId,
    type: 'm.room.message',
    stateKey: undefined,
    sender: '@alice:hs.test',
    depth,
    originServerTs: 0,
    pduJson: JSON.stringify({ event_id: eventId, prev_events: prev }),
    prevEventIds: prev,
    authEventIds: [],
    membership: undefined,
    redacts: undefined,
  };
}

describe('RoomStore forward extremities', () => {
  let database: Database;
  let store: RoomStore;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-store-')), inMemory: true });
    store = new RoomStore(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    await store.transaction((tx) => store.insertRoom(tx, ROOM, '10'));
  });

  afterAll(async () => {
    await database.close();
  });

  const append = (event: AppendEvent, roomId = ROOM) =>
    store.transaction(async (tx) => {
      const room = (await store.getRoom(roomId, tx))!;
      return store.append(tx, room, event);
    });
  const extremities = async (roomId = ROOM): Promise<string[]> => (await store.getForwardExtremities(roomId)).map((event) => event.event_id).sort();

  it('an event replaces exactly its prev events: a fork keeps both sides, a merge joins them', async () => {
    await append(message('$root', [], 1));
    expect(await extremities()).toEqual(['$root']);
    // Two events on the same prev (as federation may deliver): both are extremities.
    await append(message('$left', ['$root'], 2));
    await append(message('$right', ['$root'], 2));
    expect(await extremities()).toEqual(['$left', '$right']);
    // An event on one side replaces that side only.
    await append(message('$left2', ['$left'], 3));
    expect(await extremities()).toEqual(['$left2', '$right']);
    // A merge names both: one extremity again.
    await append(message('$merge', ['$left2', '$right'], 4));
    expect(await extremities()).toEqual(['$merge']);
  });

  it("a stale writer's failed append leaves the winner's head and extremities", async () => {
    const roomId = '!stale:hs.test';
    await store.transaction((tx) => store.insertRoom(tx, roomId, '10'));
    await append(message('$first', [], 1), roomId);
    // Two writers read the same head; the first to commit wins.
    const stale = (await store.getRoom(roomId))!;
    await append(message('$winner', ['$first'], 2), roomId);
    await expect(store.transaction((tx) => store.append(tx, stale, message('$loser', ['$first'], 2)))).rejects.toThrow();
    expect(await extremities(roomId)).toEqual(['$winner']);
    expect((await store.getRoom(roomId))!.head_seq).toBe(2);
    expect(await store.getEventsByIds(['$loser'])).toEqual([]);
  });
});
