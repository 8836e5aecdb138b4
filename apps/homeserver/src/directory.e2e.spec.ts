import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'directory.test';
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function register(hs: HomeserverProcess, username: string): Promise<{ access_token: string; user_id: string; device_id: string }> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw' } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  return done.body as { access_token: string; user_id: string; device_id: string };
}

async function sdkError(promise: Promise<unknown>): Promise<{ errcode: string; httpStatus: number }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(sdk.MatrixError);
  return error as { errcode: string; httpStatus: number };
}

describe('room aliases and the public room directory', () => {
  let hs: HomeserverProcess;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let aliceToken: string;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    const a = await register(hs, 'alice');
    const b = await register(hs, 'bob');
    aliceToken = a.access_token;
    alice = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: a.access_token, userId: a.user_id, deviceId: a.device_id });
    bob = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: b.access_token, userId: b.user_id, deviceId: b.device_id });
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('createRoom with room_alias_name creates the alias and the canonical alias; others join by alias', async () => {
    const { room_id: roomId } = await alice.createRoom({ room_alias_name: 'lobby', preset: sdk.Preset.PublicChat });
    const resolved = await call(hs, 'GET', `/_matrix/client/v3/directory/room/${encodeURIComponent(`#lobby:${SERVER}`)}`);
    expect(resolved.status).toBe(200);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/directory/room/{roomAlias} 200', resolved.body)).toEqual([]);
    expect(resolved.body).toEqual({ room_id: roomId, servers: [SERVER] });
    expect((await alice.getStateEvent(roomId, 'm.room.canonical_alias', ''))['alias']).toBe(`#lobby:${SERVER}`);
    const joined = await bob.joinRoom(`#lobby:${SERVER}`);
    expect(joined.roomId).toBe(roomId);
    // The alias is taken now.
    const again = await sdkError(alice.createRoom({ room_alias_name: 'lobby' }));
    expect([again.errcode, again.httpStatus]).toEqual(['M_ROOM_IN_USE', 400]);
  });

  it('creates, lists and deletes aliases with the spec\'s errors', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PrivateChat });
    await alice.createAlias(`#extra:${SERVER}`, roomId);
    expect(await alice.getLocalAliases(roomId)).toEqual({ aliases: [`#extra:${SERVER}`] });
    const taken = await sdkError(alice.createAlias(`#extra:${SERVER}`, roomId));
    expect([taken.errcode, taken.httpStatus]).toEqual(['M_UNKNOWN', 409]);
    const foreign = await sdkError(alice.createAlias('#elsewhere:other.example', roomId));
    expect([foreign.errcode, foreign.httpStatus]).toEqual(['M_INVALID_PARAM', 400]);
    const invalid = await call(hs, 'PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent('not-an-alias')}`, { token: aliceToken, body: { room_id: roomId } });
    expect([invalid.body['errcode'], invalid.status]).toEqual(['M_INVALID_PARAM', 400]);
    const notARoom = await call(hs, 'PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent(`#x:${SERVER}`)}`, { token: aliceToken, body: { room_id: 'not-a-room' } });
    expect([notARoom.body['errcode'], notARoom.status]).toEqual(['M_INVALID_PARAM', 400]);
    const unresolvable = await call(hs, 'GET', `/_matrix/client/v3/directory/room/${encodeURIComponent('not-an-alias')}`);
    expect([unresolvable.body['errcode'], unresolvable.status]).toEqual(['M_INVALID_PARAM', 400]);
    // Bob is not in the room: he may neither add aliases nor list or delete them.
    expect((await sdkError(bob.createAlias(`#bobs:${SERVER}`, roomId))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob.getLocalAliases(roomId))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob.deleteAlias(`#extra:${SERVER}`))).errcode).toBe('M_FORBIDDEN');
    expect(await alice.getLocalAliases(roomId)).toEqual({ aliases: [`#extra:${SERVER}`] });
    await alice.deleteAlias(`#extra:${SERVER}`);
    expect(await alice.getLocalAliases(roomId)).toEqual({ aliases: [] });
    const gone = await sdkError(alice.getRoomIdForAlias(`#extra:${SERVER}`));
    expect([gone.errcode, gone.httpStatus]).toEqual(['M_NOT_FOUND', 404]);
    expect((await sdkError(alice.deleteAlias(`#extra:${SERVER}`))).errcode).toBe('M_NOT_FOUND');
  });

  it('validates m.room.canonical_alias: new aliases must point to the room (M_BAD_ALIAS) and be aliases (M_INVALID_PARAM)', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PrivateChat });
    const { room_id: otherRoom } = await alice.createRoom({ preset: sdk.Preset.PrivateChat });
    await alice.createAlias(`#mine:${SERVER}`, roomId);
    await alice.createAlias(`#theirs:${SERVER}`, otherRoom);
    const bad = await sdkError(alice.sendStateEvent(roomId, 'm.room.canonical_alias' as never, { alias: `#theirs:${SERVER}` } as never, ''));
    expect([bad.errcode, bad.httpStatus]).toEqual(['M_BAD_ALIAS', 400]);
    const missing = await sdkError(alice.sendStateEvent(roomId, 'm.room.canonical_alias' as never, { alias: `#mine:${SERVER}`, alt_aliases: [`#nowhere:${SERVER}`] } as never, ''));
    expect(missing.errcode).toBe('M_BAD_ALIAS');
    // Invalid syntax is M_INVALID_PARAM, as the spec's error list for this event says.
    const malformed = await sdkError(alice.sendStateEvent(roomId, 'm.room.canonical_alias' as never, { alias: 'not an alias' } as never, ''));
    expect([malformed.errcode, malformed.httpStatus]).toEqual(['M_INVALID_PARAM', 400]);
    await alice.sendStateEvent(roomId, 'm.room.canonical_alias' as never, { alias: `#mine:${SERVER}` } as never, '');
    expect((await alice.getStateEvent(roomId, 'm.room.canonical_alias', ''))['alias']).toBe(`#mine:${SERVER}`);
  });

  it('publishes rooms, lists and searches them with pagination, and keeps visibility to those with power', async () => {
    const names = ['Alpha cats', 'Beta dogs', 'Gamma cats'];
    const ids: string[] = [];
    for (const name of names) ids.push((await alice.createRoom({ visibility: sdk.Visibility.Public, preset: sdk.Preset.PublicChat, name, topic: `about ${name}` })).room_id);
    const { room_id: hidden } = await alice.createRoom({ preset: sdk.Preset.PublicChat, name: 'Hidden cats' });
    expect(await alice.getRoomDirectoryVisibility(ids[0]!)).toEqual({ visibility: 'public' });
    expect(await alice.getRoomDirectoryVisibility(hidden)).toEqual({ visibility: 'private' });

    const all = await call(hs, 'GET', '/_matrix/client/v3/publicRooms');
    expect(specErrors('client-server', 'GET /_matrix/client/v3/publicRooms 200', all.body)).toEqual([]);
    const listed = (all.body['chunk'] as Json[]).map((room) => room['room_id']);
    for (const id of ids) expect(listed).toContain(id);
    expect(listed).not.toContain(hidden);
    const alpha = (all.body['chunk'] as Json[]).find((room) => room['room_id'] === ids[0]);
    expect(alpha).toMatchObject({ name: 'Alpha cats', topic: 'about Alpha cats', num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: 'public' });

    const cats = await alice.publicRooms({ filter: { generic_search_term: 'CATS' } });
    expect(cats.chunk.map((room) => room.room_id).sort()).toEqual([ids[0], ids[2]].sort());

    const first = await alice.publicRooms({ limit: 2 });
    expect(first.chunk.length).toBe(2);
    expect(first.next_batch).toBeDefined();
    const second = await alice.publicRooms({ limit: 2, since: first.next_batch! });
    expect([...first.chunk, ...second.chunk].map((room) => room.room_id)).toEqual(listed.slice(0, first.chunk.length + second.chunk.length));

    // Bob has no power in alice's room: he cannot change its visibility.
    await bob.joinRoom(ids[1]!);
    expect((await sdkError(bob.setRoomDirectoryVisibility(ids[1]!, sdk.Visibility.Private))).errcode).toBe('M_FORBIDDEN');
    await alice.setRoomDirectoryVisibility(ids[1]!, sdk.Visibility.Private);
    expect(((await call(hs, 'GET', '/_matrix/client/v3/publicRooms')).body['chunk'] as Json[]).map((room) => room['room_id'])).not.toContain(ids[1]);
    const unknown = await call(hs, 'GET', `/_matrix/client/v3/directory/list/room/${encodeURIComponent('!nope:directory.test')}`);
    expect([unknown.body['errcode'], unknown.status]).toEqual(['M_NOT_FOUND', 404]);
    // A room ID that does not parse is refused at the HTTP edge, reading or setting.
    const malformed = await call(hs, 'GET', `/_matrix/client/v3/directory/list/room/not-a-room`);
    expect([malformed.body['errcode'], malformed.status]).toEqual(['M_INVALID_PARAM', 400]);
    const set = await call(hs, 'PUT', `/_matrix/client/v3/directory/list/room/not-a-room`, { token: aliceToken, body: { visibility: 'public' } });
    expect([set.body['errcode'], set.status]).toEqual(['M_INVALID_PARAM', 400]);
  });
});
