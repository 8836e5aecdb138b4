import { specErrors, startHomeserver, withoutNulls, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;
type Session = { access_token: string; user_id: string; device_id: string };

const SERVER = 'history.test';
const PASSWORD = 'correct horse';
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
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

async function register(hs: HomeserverProcess, username: string): Promise<Session> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: PASSWORD } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: PASSWORD, auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  expect(done.status).toBe(200);
  return done.body as Session;
}

async function login(hs: HomeserverProcess, user: string): Promise<Session> {
  const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body as Session;
}

async function sdkError(promise: Promise<unknown>): Promise<{ errcode: string; httpStatus: number; data: Json }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(sdk.MatrixError);
  return error as { errcode: string; httpStatus: number; data: Json };
}

const room = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
const bodies = (events: unknown) => (events as Json[]).filter((event) => event['type'] === 'm.room.message').map((event) => (event['content'] as { body: string }).body);

describe('history visibility, context, filters, forgetting, profiles and deactivation in rooms (matrix-js-sdk)', () => {
  let hs: HomeserverProcess;
  const sessions: Record<string, Session> = {};
  const clients: Record<string, MatrixClient> = {};
  const id = (name: string) => `@${name}:${SERVER}`;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      sessions[name] = await register(hs, name);
      clients[name] = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: sessions[name].access_token, userId: id(name), deviceId: sessions[name].device_id });
    }
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  const alice = () => clients['alice']!;
  const bob = () => clients['bob']!;
  const carol = () => clients['carol']!;
  const say = async (c: MatrixClient, roomId: string, body: string) => (await c.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body })).event_id;
  const setVisibility = (roomId: string, value: string) => alice().sendStateEvent(roomId, 'm.room.history_visibility' as never, { history_visibility: value } as never, '');
  const history = async (c: MatrixClient, roomId: string) => [...(await c.createMessagesRequest(roomId, null, 100, sdk.Direction.Backward)).chunk].reverse();
  const get = (who: string, path: string) => call(hs, 'GET', path, { token: sessions[who]!.access_token });

  it('checks the existing room calls against the spec', async () => {
    const token = sessions['alice']!.access_token;
    const created = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token, body: { preset: 'private_chat', name: 'Checked' } });
    expect(specErrors('client-server', 'POST /_matrix/client/v3/createRoom 200', created.body)).toEqual([]);
    const roomId = created.body['room_id'] as string;
    const bad = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token, body: { room_version: '99' } });
    expect(bad.status).toBe(400);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/createRoom 400', bad.body)).toEqual([]);
    const sent = await call(hs, 'PUT', `${room(roomId)}/send/m.room.message/spec1`, { token, body: { msgtype: 'm.text', body: 'hi' } });
    expect(specErrors('client-server', 'PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} 200', sent.body)).toEqual([]);
    const topic = await call(hs, 'PUT', `${room(roomId)}/state/m.room.topic/`, { token, body: { topic: 'checked' } });
    expect(specErrors('client-server', 'PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} 200', topic.body)).toEqual([]);
    const name = await get('alice', `${room(roomId)}/state/m.room.name/`);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} 200', name.body)).toEqual([]);
    const state = await get('alice', `${room(roomId)}/state`);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/state 200', state.body)).toEqual([]);
    const members = await get('alice', `${room(roomId)}/members`);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/members 200', members.body)).toEqual([]);
    const joined = await get('alice', `${room(roomId)}/joined_members`);
    // A member without an avatar has it null (as Synapse sends it), where the schema has it absent.
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/joined_members 200', withoutNulls(joined.body, ['display_name', 'avatar_url']))).toEqual([]);
    const rooms = await get('alice', '/_matrix/client/v3/joined_rooms');
    expect(specErrors('client-server', 'GET /_matrix/client/v3/joined_rooms 200', rooms.body)).toEqual([]);
    const messages = await get('alice', `${room(roomId)}/messages?dir=b&limit=3`);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/messages 200', messages.body)).toEqual([]);
    const event = await get('alice', `${room(roomId)}/event/${encodeURIComponent(sent.body['event_id'] as string)}`);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} 200', event.body)).toEqual([]);
    const redacted = await call(hs, 'PUT', `${room(roomId)}/redact/${encodeURIComponent(sent.body['event_id'] as string)}/r1`, { token, body: { reason: 'spec' } });
    expect(specErrors('client-server', 'PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId} 200', redacted.body)).toEqual([]);
    // Forbidden reads answer the spec's error shape.
    for (const path of [`${room(roomId)}/messages`, `${room(roomId)}/members`, `${room(roomId)}/state`]) {
      const refused = await get('bob', path);
      expect([refused.status, refused.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
      expect(specErrors('client-server', 'Error', refused.body)).toEqual([]);
    }
  });

  it('shows a later joiner the shared history but not what was sent while the room was joined-only', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PrivateChat });
    await say(alice(), roomId, 'shared before');
    await setVisibility(roomId, 'joined');
    const hidden = await say(alice(), roomId, 'joined-only before the invite');
    await alice().invite(roomId, id('bob'));
    await say(alice(), roomId, 'while bob is invited');
    await bob().joinRoom(roomId);
    const seen = await say(alice(), roomId, 'after bob joined');

    const timeline = await history(bob(), roomId);
    expect(bodies(timeline)).toEqual(['shared before', 'after bob joined']);
    // The change to joined was made while the room was shared; bob's own join is his.
    expect(timeline.some((event) => event.type === 'm.room.history_visibility')).toBe(true);
    expect(timeline.some((event) => event.type === 'm.room.member' && (event as unknown as Json)['state_key'] === id('bob') && event.content['membership'] === 'join')).toBe(true);
    expect(bodies(await history(alice(), roomId))).toEqual(['shared before', 'joined-only before the invite', 'while bob is invited', 'after bob joined']);

    const notFound = await get('bob', `${room(roomId)}/event/${encodeURIComponent(hidden)}`);
    expect([notFound.status, notFound.body['errcode']]).toEqual([404, 'M_NOT_FOUND']);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} 404', notFound.body)).toEqual([]);
    expect((await bob().fetchRoomEvent(roomId, seen))['event_id']).toBe(seen);

    // Bob leaves: he keeps what he saw, and nothing sent after.
    await bob().leave(roomId);
    const after = await say(alice(), roomId, 'after bob left');
    expect(bodies(await history(bob(), roomId))).toEqual(['shared before', 'after bob joined']);
    expect((await sdkError(bob().fetchRoomEvent(roomId, after))).errcode).toBe('M_NOT_FOUND');
    const forwards = await bob().createMessagesRequest(roomId, 't0', 100, sdk.Direction.Forward);
    expect(bodies(forwards.chunk)).toEqual(['shared before', 'after bob joined']);
  });

  it('shows invited users the history from their invite when the room is invited', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PrivateChat });
    await setVisibility(roomId, 'invited');
    await say(alice(), roomId, 'before the invite');
    await alice().invite(roomId, id('bob'));
    await say(alice(), roomId, 'while invited');
    await bob().joinRoom(roomId);
    await say(alice(), roomId, 'joined');
    expect(bodies(await history(bob(), roomId))).toEqual(['while invited', 'joined']);
  });

  it('lets anyone read a world_readable room, only the events sent while it was world_readable', async () => {
    const { room_id: roomId } = await alice().createRoom({
      preset: sdk.Preset.PublicChat,
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    const first = await say(alice(), roomId, 'public 1');
    await setVisibility(roomId, 'joined');
    const secret = await say(alice(), roomId, 'members only');
    await setVisibility(roomId, 'world_readable');
    await say(alice(), roomId, 'public 2');

    // Carol never joined.
    const timeline = await history(carol(), roomId);
    expect(bodies(timeline)).toEqual(['public 1', 'public 2']);
    // Both visibility changes: each is visible before or after.
    expect(timeline.filter((event) => event.type === 'm.room.history_visibility').length).toBe(3);
    expect((await carol().fetchRoomEvent(roomId, first))['event_id']).toBe(first);
    expect((await sdkError(carol().fetchRoomEvent(roomId, secret))).errcode).toBe('M_NOT_FOUND');
    expect(((await carol().members(roomId)).chunk ?? []).map((event) => event.state_key)).toEqual([id('alice')]);
    expect((await carol().getStateEvent(roomId, 'm.room.history_visibility', ''))['history_visibility']).toBe('world_readable');
    // Reading changes nothing: carol is still not a member.
    expect((await carol().getJoinedRooms()).joined_rooms).not.toContain(roomId);

    // Once it is no longer world_readable, non-members are refused.
    await setVisibility(roomId, 'shared');
    expect((await sdkError(carol().createMessagesRequest(roomId, null, 10, sdk.Direction.Backward))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(carol().fetchRoomEvent(roomId, first))).errcode).toBe('M_NOT_FOUND');
  });

  it('serves /context with the surrounding events, tokens that continue pagination, the state, and filters', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    await bob().joinRoom(roomId);
    const ids: string[] = [];
    for (let i = 1; i <= 9; i++) ids.push(await say(i % 3 === 0 ? bob() : alice(), roomId, `c${i}`));
    const middle = ids[4]!;

    const raw = await get('alice', `${room(roomId)}/context/${encodeURIComponent(middle)}?limit=4`);
    expect(raw.status).toBe(200);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/context/{eventId} 200', raw.body)).toEqual([]);
    const context = raw.body;
    expect((context['event'] as Json)['event_id']).toBe(middle);
    expect(bodies(context['events_before'])).toEqual(['c4', 'c3']);
    expect(bodies(context['events_after'])).toEqual(['c6', 'c7']);
    const state = context['state'] as Json[];
    expect(state.some((event) => event['type'] === 'm.room.create')).toBe(true);
    expect(state.filter((event) => event['type'] === 'm.room.member').map((event) => event['state_key']).sort()).toEqual([id('alice'), id('bob')]);
    const earlier = await alice().createMessagesRequest(roomId, context['start'] as string, 2, sdk.Direction.Backward);
    expect(bodies(earlier.chunk)).toEqual(['c2', 'c1']);
    const later = await alice().createMessagesRequest(roomId, context['end'] as string, 10, sdk.Direction.Forward);
    expect(bodies(later.chunk)).toEqual(['c8', 'c9']);

    // limit 0: the event alone.
    const alone = (await get('alice', `${room(roomId)}/context/${encodeURIComponent(middle)}?limit=0`)).body;
    expect([alone['events_before'], alone['events_after'], (alone['event'] as Json)['event_id']]).toEqual([[], [], middle]);

    // A filter applies to the surrounding events and the state, not to the event.
    const filter = encodeURIComponent(JSON.stringify({ senders: [id('alice')], lazy_load_members: true }));
    const filtered = (await get('alice', `${room(roomId)}/context/${encodeURIComponent(ids[2]!)}?limit=4&filter=${filter}`)).body;
    expect((filtered['event'] as Json)['event_id']).toBe(ids[2]);
    expect(bodies(filtered['events_before'])).toEqual(['c2', 'c1']);
    expect(bodies(filtered['events_after'])).toEqual(['c4', 'c5']);
    const members = (filtered['state'] as Json[]).filter((event) => event['type'] === 'm.room.member').map((event) => event['state_key']);
    expect(members).toEqual([id('alice')]);

    // Carol is not in the room, and it is not world_readable.
    const refused = await get('carol', `${room(roomId)}/context/${encodeURIComponent(middle)}`);
    expect([refused.status, refused.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const unknownId = encodeURIComponent(`$${'A'.repeat(43)}`);
    const unknown = await get('alice', `${room(roomId)}/context/${unknownId}`);
    expect([unknown.status, unknown.body['errcode']]).toEqual([404, 'M_NOT_FOUND']);
    // The access check answers first, whatever the event.
    expect((await get('carol', `${room(roomId)}/context/${unknownId}`)).status).toBe(403);
    expect((await get('alice', `${room(roomId)}/event/${unknownId}`)).body['errcode']).toBe('M_NOT_FOUND');
    // No event ID in any room version's format: refused at the HTTP edge, before any check.
    for (const user of ['alice', 'carol']) {
      expect((await get(user, `${room(roomId)}/context/${encodeURIComponent('$nope')}`)).body['errcode']).toBe('M_INVALID_PARAM');
    }
  });

  it('filters /messages by types, senders and URLs, inline or by filter ID, and lazy-loads members', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    await bob().joinRoom(roomId);
    await carol().joinRoom(roomId);
    await say(alice(), roomId, 'from alice');
    await say(bob(), roomId, 'from bob');
    await alice().sendMessage(roomId, { msgtype: sdk.MsgType.Image, body: 'a picture', url: 'mxc://history.test/abc' } as never);
    await alice().sendEvent(roomId, 'org.example.custom' as never, { body: 'custom' } as never);
    const messages = async (filter: unknown, limit = 50) => {
      const res = await get('alice', `${room(roomId)}/messages?dir=b&limit=${limit}&filter=${encodeURIComponent(typeof filter === 'string' ? filter : JSON.stringify(filter))}`);
      expect(res.status).toBe(200);
      expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/messages 200', res.body)).toEqual([]);
      return res.body as { chunk: Json[]; state?: Json[]; end?: string };
    };
    const types = (page: { chunk: Json[] }) => page.chunk.map((event) => event['type']);

    expect(bodies((await messages({ types: ['m.room.message'] })).chunk)).toEqual(['a picture', 'from bob', 'from alice']);
    expect(types(await messages({ types: ['org.example.*'] }))).toEqual(['org.example.custom']);
    expect(types(await messages({ not_types: ['m.room.*'] }))).toEqual(['org.example.custom']);
    expect(bodies((await messages({ types: ['m.room.message'], senders: [id('bob')] })).chunk)).toEqual(['from bob']);
    expect(bodies((await messages({ types: ['m.room.message'], not_senders: [id('bob')] })).chunk)).toEqual(['a picture', 'from alice']);
    expect(bodies((await messages({ contains_url: true })).chunk)).toEqual(['a picture']);
    expect(bodies((await messages({ types: ['m.room.message'], contains_url: false })).chunk)).toEqual(['from bob', 'from alice']);
    // The limit counts events after filtering; the page continues from its end.
    const firstPage = await messages({ types: ['m.room.message'] }, 1);
    expect(bodies(firstPage.chunk)).toEqual(['a picture']);
    const next = await get('alice', `${room(roomId)}/messages?dir=b&limit=1&from=${firstPage.end}&filter=${encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }))}`);
    expect(bodies(next.body['chunk'])).toEqual(['from bob']);

    // lazy_load_members: the member events of the chunk's senders, and only those.
    const lazy = await messages({ types: ['m.room.message'], senders: [id('bob')], lazy_load_members: true });
    expect((lazy.state ?? []).map((event) => [event['type'], event['state_key']])).toEqual([['m.room.member', id('bob')]]);
    expect((await messages({ types: ['m.room.message'] })).state).toBeUndefined();

    // A stored filter's room.timeline applies when its ID is given.
    const { filter_id: filterId } = (await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(id('alice'))}/filter`, {
      token: sessions['alice']!.access_token,
      body: { room: { timeline: { senders: [id('bob')], types: ['m.room.message'] } } },
    })).body as { filter_id: string };
    expect(bodies((await messages(filterId)).chunk)).toEqual(['from bob']);
    // Bob cannot use alice's filter.
    const foreign = await get('bob', `${room(roomId)}/messages?filter=${filterId}`);
    expect([foreign.status, foreign.body['errcode']]).toEqual([400, 'M_INVALID_PARAM']);
    const broken = await get('alice', `${room(roomId)}/messages?filter=${encodeURIComponent('{"types": ')}`);
    expect([broken.status, broken.body['errcode']]).toEqual([400, 'M_NOT_JSON']);
    const wrong = await get('alice', `${room(roomId)}/messages?filter=${encodeURIComponent('{"types": "m.room.message"}')}`);
    expect([wrong.status, wrong.body['errcode']]).toEqual([400, 'M_BAD_JSON']);
  });

  it('answers /members at a pagination token, and treats membership with not_membership as an "or"', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    const before = (await alice().createMessagesRequest(roomId, null, 1, sdk.Direction.Backward)).start;
    await bob().joinRoom(roomId);
    await alice().invite(roomId, id('carol'));
    await bob().leave(roomId);
    const members = async (query: string) => {
      const res = await get('alice', `${room(roomId)}/members?${query}`);
      expect(specErrors('client-server', 'GET /_matrix/client/v3/rooms/{roomId}/members 200', res.body)).toEqual([]);
      return Object.fromEntries((res.body['chunk'] as Json[]).map((event) => [event['state_key'], (event['content'] as Json)['membership']]));
    };
    expect(await members(`at=${before}`)).toEqual({ [id('alice')]: 'join' });
    expect(await members('')).toEqual({ [id('alice')]: 'join', [id('bob')]: 'leave', [id('carol')]: 'invite' });
    expect(await members('membership=invite')).toEqual({ [id('carol')]: 'invite' });
    expect(await members('not_membership=leave')).toEqual({ [id('alice')]: 'join', [id('carol')]: 'invite' });
    expect(await members('membership=leave&not_membership=join')).toEqual({ [id('bob')]: 'leave', [id('carol')]: 'invite' });
    // Bob left: he sees the members as they were when he left.
    const bobView = await get('bob', `${room(roomId)}/members`);
    expect(Object.fromEntries((bobView.body['chunk'] as Json[]).map((event) => [event['state_key'], (event['content'] as Json)['membership']]))).toEqual({
      [id('alice')]: 'join',
      [id('bob')]: 'leave',
      [id('carol')]: 'invite',
    });
    const badToken = await get('alice', `${room(roomId)}/members?at=nonsense`);
    expect([badToken.status, badToken.body['errcode']]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('forgets a room only after leaving it; a forgotten room can no longer be read', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    await bob().joinRoom(roomId);
    await say(alice(), roomId, 'remember me');
    const stillJoined = await call(hs, 'POST', `${room(roomId)}/forget`, { token: sessions['bob']!.access_token, body: {} });
    expect([stillJoined.status, stillJoined.body['errcode']]).toEqual([400, 'M_UNKNOWN']);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/forget 400', stillJoined.body)).toEqual([]);
    expect(bodies(await history(bob(), roomId))).toEqual(['remember me']);
    const never = await call(hs, 'POST', `${room(roomId)}/forget`, { token: sessions['erin']!.access_token, body: {} });
    expect([never.status, never.body['errcode']]).toEqual([400, 'M_UNKNOWN']);

    await bob().leave(roomId);
    expect(bodies(await history(bob(), roomId))).toEqual(['remember me']);
    const forgotten = await call(hs, 'POST', `${room(roomId)}/forget`, { token: sessions['bob']!.access_token, body: {} });
    expect(forgotten.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/forget 200', forgotten.body)).toEqual([]);
    await bob().forget(roomId); // again: still fine
    expect((await sdkError(bob().createMessagesRequest(roomId, null, 10, sdk.Direction.Backward))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob().members(roomId))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob().getStateEvent(roomId, 'm.room.create', ''))).errcode).toBe('M_FORBIDDEN');
    // Rejoining brings the room back.
    await bob().joinRoom(roomId);
    expect(bodies(await history(bob(), roomId))).toEqual(['remember me']);
  });

  it('sends a new display name and avatar into every joined room, and not into rooms left', async () => {
    const { room_id: first } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    const { room_id: second } = await alice().createRoom({ preset: sdk.Preset.PrivateChat });
    const { room_id: left } = await bob().createRoom({ preset: sdk.Preset.PublicChat });
    await alice().joinRoom(left);
    await alice().leave(left);
    await bob().joinRoom(first);
    const set = await call(hs, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(id('alice'))}/displayname`, { token: sessions['alice']!.access_token, body: { displayname: 'Alice A.' } });
    expect(set.status).toBe(200);
    expect(specErrors('client-server', 'PUT /_matrix/client/v3/profile/{userId}/{keyName} 200', set.body)).toEqual([]);
    await alice().setAvatarUrl('mxc://history.test/alice');
    for (const roomId of [first, second]) {
      expect(await alice().getStateEvent(roomId, 'm.room.member', id('alice'))).toEqual({ membership: 'join', displayname: 'Alice A.', avatar_url: 'mxc://history.test/alice' });
    }
    expect((await bob().getJoinedRoomMembers(first)).joined[id('alice')]).toEqual({ display_name: 'Alice A.', avatar_url: 'mxc://history.test/alice' });
    expect((await bob().getStateEvent(left, 'm.room.member', id('alice')))['membership']).toBe('leave');
    // Removing the display name sends a member event without one.
    await call(hs, 'DELETE', `/_matrix/client/v3/profile/${encodeURIComponent(id('alice'))}/displayname`, { token: sessions['alice']!.access_token });
    expect(await alice().getStateEvent(first, 'm.room.member', id('alice'))).toEqual({ membership: 'join', avatar_url: 'mxc://history.test/alice' });
    // Joining a room afterwards uses the current profile.
    await alice().joinRoom(left);
    expect(await bob().getStateEvent(left, 'm.room.member', id('alice'))).toEqual({ membership: 'join', avatar_url: 'mxc://history.test/alice' });
  });

  it('makes a deactivated user leave every room they were joined to or invited to', async () => {
    const dave = clients['dave']!;
    const { room_id: joined } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    const { room_id: invited } = await alice().createRoom({ preset: sdk.Preset.PrivateChat });
    await dave.joinRoom(joined);
    await alice().invite(invited, id('dave'));
    const challenge = await sdkError(dave.deactivateAccount());
    const done = await call(hs, 'POST', '/_matrix/client/v3/account/deactivate', {
      token: sessions['dave']!.access_token,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dave' }, password: PASSWORD, session: challenge.data['session'] } },
    });
    expect(done.status).toBe(200);
    expect((await alice().getStateEvent(joined, 'm.room.member', id('dave')))['membership']).toBe('leave');
    expect((await alice().getStateEvent(invited, 'm.room.member', id('dave')))['membership']).toBe('leave');
    expect(Object.keys((await alice().getJoinedRoomMembers(joined)).joined)).toEqual([id('alice')]);
  });

  it('returns unsigned.transaction_id to the device that sent the event, and only to it', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    await bob().joinRoom(roomId);
    const { event_id: eventId } = await alice().sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'with a txn' } as never, 'my-txn-1');
    const txnOf = (event: Json | undefined) => (event?.['unsigned'] as Json | undefined)?.['transaction_id'];
    const find = (chunk: unknown) => (chunk as Json[]).find((event) => event['event_id'] === eventId);

    expect(txnOf(find((await alice().createMessagesRequest(roomId, null, 10, sdk.Direction.Backward)).chunk as unknown))).toBe('my-txn-1');
    expect(txnOf(await alice().fetchRoomEvent(roomId, eventId) as unknown as Json)).toBe('my-txn-1');
    expect(txnOf((await get('alice', `${room(roomId)}/context/${encodeURIComponent(eventId)}`)).body['event'] as Json)).toBe('my-txn-1');

    expect(txnOf(find((await bob().createMessagesRequest(roomId, null, 10, sdk.Direction.Backward)).chunk as unknown))).toBeUndefined();
    const otherDevice = await login(hs, 'alice');
    // A redaction sent with a transaction ID carries it too.
    const redaction = await call(hs, 'PUT', `${room(roomId)}/redact/${encodeURIComponent(eventId)}/my-txn-2`, { token: sessions['alice']!.access_token, body: {} });
    expect(txnOf(await alice().fetchRoomEvent(roomId, redaction.body['event_id'] as string) as unknown as Json)).toBe('my-txn-2');
    const fromOtherDevice = await call(hs, 'GET', `${room(roomId)}/event/${encodeURIComponent(eventId)}`, { token: otherDevice.access_token });
    expect(fromOtherDevice.body['event_id']).toBe(eventId);
    expect(txnOf(fromOtherDevice.body)).toBeUndefined();
  });

  it('keeps forgotten rooms forgotten and transaction IDs across a restart', async () => {
    const { room_id: roomId } = await alice().createRoom({ preset: sdk.Preset.PublicChat });
    await bob().joinRoom(roomId);
    const { event_id: eventId } = await alice().sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'durable' } as never, 'restart-txn');
    await bob().leave(roomId);
    await bob().forget(roomId);
    await hs.stop();
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' }, { dataDir: hs.dataDir });
    for (const name of ['alice', 'bob']) {
      clients[name] = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: sessions[name]!.access_token, userId: id(name), deviceId: sessions[name]!.device_id });
    }
    const event = (await alice().fetchRoomEvent(roomId, eventId)) as unknown as Json;
    expect((event['unsigned'] as Json)['transaction_id']).toBe('restart-txn');
    expect((await sdkError(bob().createMessagesRequest(roomId, null, 10, sdk.Direction.Backward))).errcode).toBe('M_FORBIDDEN');
  }, 60_000);
});
