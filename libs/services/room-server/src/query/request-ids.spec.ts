import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import { Database } from '@axon/platform-database';
import { createRoomDirectory } from '../directory/room-directory';
import { RoomWriter } from '../input/room-writer';
import { roomStorageForWriter } from '../input/writer-storage';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';
import { createRoomQuery } from './room-query';

const ALICE = '@alice:hs.test';
const context = {} as never;

/** A rejection's Matrix error, as a peer sees it. */
async function refusal(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

// gRPC requests carry identifiers as strings; the handlers parse them first. One that
// does not parse must get the answer an unknown (well-formed) one gets.
describe('RoomQuery and RoomDirectory: identifiers that do not parse', () => {
  let database: Database;
  let storage: RoomStorage;
  let roomId: RoomId;
  let createId: EventId;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-query-')), inMemory: true });
    storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    const backend = await createNativeEd25519Backend();
    const key = backend === undefined ? undefined : generateSigningKey(backend, 'k');
    if (backend === undefined || key === undefined || !key.ok) throw new Error('no Ed25519');
    const writer = new RoomWriter(roomStorageForWriter(storage), { serverName: 'hs.test', key: key.value, backend });
    const created = await writer.handle({
      kind: 'create_room',
      request_id: 'create',
      room_version: '10',
      events: [
        { type: 'm.room.create', state_key: '', sender: ALICE, content: { creator: ALICE, room_version: '10' } },
        { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
      ],
    });
    if (!created.ok) throw created.error;
    ({ roomId, eventId: createId } = created);
  });

  afterAll(async () => {
    await database.close();
  });

  it.each([
    ['getRoomInfo', (room: string) => createRoomQuery(storage).getRoomInfo({ roomId: room }, context)],
    ['getCurrentState', (room: string) => createRoomQuery(storage).getCurrentState({ roomId: room, types: [] }, context)],
    ['getStateEvent', (room: string) => createRoomQuery(storage).getStateEvent({ roomId: room, type: 'm.room.create', stateKey: '' }, context)],
    ['getMembers', (room: string) => createRoomQuery(storage).getMembers({ roomId: room, atEventId: '', memberships: [], notMemberships: [] }, context)],
    ['paginate', (room: string) => createRoomQuery(storage).paginate({ roomId: room, from: '', to: '', direction: 'b', limit: 10 }, context)],
    ['getLatestEvents', (room: string) => createRoomQuery(storage).getLatestEvents({ roomId: room }, context)],
    ['getMembership', (room: string) => createRoomQuery(storage).getMembership({ roomId: room, userId: ALICE }, context)],
    ['listAliases', (room: string) => createRoomDirectory(storage).listAliases({ roomId: room }, context)],
  ])('%s answers a malformed room ID as an unknown one', async (_method, call) => {
    expect(await call('nope')).toEqual(await call('!nope:hs.test'));
  });

  it('answers a malformed user ID as an unknown one', async () => {
    const query = createRoomQuery(storage);
    expect(await query.getMembership({ roomId, userId: 'alice' }, context)).toEqual(await query.getMembership({ roomId, userId: '@nobody:hs.test' }, context));
    expect(await query.getRoomsOfUser({ userId: 'alice', membership: '' }, context)).toEqual({ roomIds: [] });
    expect((await query.getRoomsOfUser({ userId: ALICE, membership: '' }, context)).roomIds).toEqual([roomId]);
  });

  it('leaves malformed event IDs out of lists and refuses a lone one as an unknown event (M_NOT_FOUND)', async () => {
    const query = createRoomQuery(storage);
    expect((await query.getEvents({ eventIds: ['nope', createId], includeOutliers: false }, context)).events.map((event) => event.eventId)).toEqual([createId]);
    expect(await query.getAuthChain({ eventIds: ['nope'] }, context)).toEqual({ events: [] });
    expect(await refusal(query.getStateAtEvent({ eventId: 'nope', after: true }, context))).toMatchObject({ errcode: 'M_NOT_FOUND', message: 'unknown event nope' });
    expect(await refusal(query.getMembers({ roomId, atEventId: 'nope', memberships: [], notMemberships: [] }, context))).toMatchObject({ errcode: 'M_NOT_FOUND' });
  });

  it('answers malformed aliases as unknown ones, and refuses to store one (M_INVALID_PARAM)', async () => {
    const directory = createRoomDirectory(storage);
    expect(await directory.resolveAlias({ alias: 'nope' }, context)).toEqual(await directory.resolveAlias({ alias: '#nope:hs.test' }, context));
    expect(await directory.deleteAlias({ alias: 'nope' }, context)).toEqual({ found: false });
    expect(await refusal(directory.createAlias({ alias: 'nope', roomId, creator: ALICE }, context))).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(await refusal(directory.createAlias({ alias: '#room:hs.test', roomId: 'nope', creator: ALICE }, context))).toMatchObject({ errcode: 'M_NOT_FOUND', message: 'unknown room nope' });
    expect(await directory.createAlias({ alias: '#room:hs.test', roomId, creator: ALICE }, context)).toEqual({ created: true });
    expect(await directory.resolveAlias({ alias: '#room:hs.test' }, context)).toEqual({ found: true, roomId, creator: ALICE });
  });

  it('refuses a malformed room as an unknown one in the visibility calls (M_NOT_FOUND)', async () => {
    const directory = createRoomDirectory(storage);
    expect(await refusal(directory.getVisibility({ roomId: 'nope' }, context))).toMatchObject({ errcode: 'M_NOT_FOUND', message: 'Room not found' });
    expect(await refusal(directory.setVisibility({ roomId: 'nope', visibility: 'public' }, context))).toMatchObject({ errcode: 'M_NOT_FOUND', message: 'Room not found' });
  });
});
