import { startHomeserver, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'rooms.test';
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown; raw?: string } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : options.raw !== undefined ? { body: options.raw } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function register(hs: HomeserverProcess, username: string): Promise<{ access_token: string; user_id: string; device_id: string }> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'correct horse' } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'correct horse', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  expect(done.status).toBe(200);
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

function client(hs: HomeserverProcess, session: { access_token: string; user_id: string; device_id: string }): MatrixClient {
  return sdk.createClient({ baseUrl: hs.baseUrl, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id });
}

describe('rooms, driven by matrix-js-sdk', () => {
  let hs: HomeserverProcess;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let aliceSession: { access_token: string; user_id: string; device_id: string };
  let bobSession: { access_token: string; user_id: string; device_id: string };
  const ALICE = `@alice:${SERVER}`;
  const BOB = `@bob:${SERVER}`;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    aliceSession = await register(hs, 'alice');
    bobSession = await register(hs, 'bob');
    alice = client(hs, aliceSession);
    bob = client(hs, bobSession);
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  const memberships = async (c: MatrixClient, roomId: string): Promise<Record<string, string>> => {
    const { chunk } = await c.members(roomId);
    return Object.fromEntries((chunk ?? []).map((event) => [event.state_key as string, (event.content as { membership: string }).membership]));
  };

  it('creates a private room with a name and topic; invite, join, leave, kick, ban and unban', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PrivateChat, name: 'Private', topic: 'secrets' });
    expect(roomId).toMatch(/^!/);
    expect(await alice.getStateEvent(roomId, 'm.room.name', '')).toEqual({ name: 'Private' });
    expect((await alice.getStateEvent(roomId, 'm.room.topic', ''))['topic']).toBe('secrets');
    expect((await alice.getStateEvent(roomId, 'm.room.join_rules', ''))['join_rule']).toBe('invite');
    expect(await alice.getJoinedRooms()).toEqual({ joined_rooms: [roomId] });

    // Not invited: bob cannot join an invite-only room, and nothing changes.
    expect((await sdkError(bob.joinRoom(roomId))).errcode).toBe('M_FORBIDDEN');
    expect(await memberships(alice, roomId)).toEqual({ [ALICE]: 'join' });

    await alice.invite(roomId, BOB);
    expect(await memberships(alice, roomId)).toEqual({ [ALICE]: 'join', [BOB]: 'invite' });
    await bob.joinRoom(roomId);
    expect(await memberships(alice, roomId)).toEqual({ [ALICE]: 'join', [BOB]: 'join' });
    expect(Object.keys((await alice.getJoinedRoomMembers(roomId)).joined).sort()).toEqual([ALICE, BOB]);

    // Bob (power 0) may not kick alice; alice may kick bob.
    expect((await sdkError(bob.kick(roomId, ALICE, 'no'))).errcode).toBe('M_FORBIDDEN');
    await alice.kick(roomId, BOB, 'bye');
    expect((await memberships(alice, roomId))[BOB]).toBe('leave');
    expect((await sdkError(bob.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'let me in' }))).errcode).toBe('M_FORBIDDEN');

    await alice.ban(roomId, BOB, 'really bye');
    expect((await memberships(alice, roomId))[BOB]).toBe('ban');
    await alice.invite(roomId, BOB).then(
      () => {
        throw new Error('inviting a banned user must fail');
      },
      (error: { errcode: string }) => expect(error.errcode).toBe('M_FORBIDDEN'),
    );
    await alice.unban(roomId, BOB);
    expect((await memberships(alice, roomId))[BOB]).toBe('leave');
    await alice.invite(roomId, BOB);
    await bob.joinRoom(roomId);
    await bob.leave(roomId);
    expect((await memberships(alice, roomId))[BOB]).toBe('leave');
    expect(await bob.getJoinedRooms()).toEqual({ joined_rooms: [] });
  });

  it('lets anyone join a public_chat room, and lets users knock on a knock room', async () => {
    const { room_id: publicRoom } = await alice.createRoom({ preset: sdk.Preset.PublicChat });
    await bob.joinRoom(publicRoom);
    expect((await memberships(alice, publicRoom))[BOB]).toBe('join');

    const { room_id: knockRoom } = await alice.createRoom({
      preset: sdk.Preset.PrivateChat,
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }],
    });
    await bob.knockRoom(knockRoom);
    expect((await memberships(alice, knockRoom))[BOB]).toBe('knock');
    await alice.invite(knockRoom, BOB);
    await bob.joinRoom(knockRoom);
    expect((await memberships(alice, knockRoom))[BOB]).toBe('join');
  });

  it('sends 1,000 messages and paginates all of them back in order, both directions', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PublicChat });
    await bob.joinRoom(roomId);
    const sent: string[] = [];
    for (let batch = 0; batch < 100; batch++) {
      // Ten at a time from two users: the room server puts them into one order.
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? alice : bob).sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `m${batch * 10 + index}` })),
      );
      sent.push(...ids.map((response) => response.event_id));
    }
    const backwards: Json[] = [];
    let from: string | null = null;
    for (;;) {
      const page = (await alice.createMessagesRequest(roomId, from, 100, sdk.Direction.Backward)) as unknown as { chunk: Json[]; end?: string };
      backwards.push(...page.chunk);
      if (page.end === undefined) break;
      from = page.end;
    }
    const messages = backwards.filter((event) => event['type'] === 'm.room.message');
    expect(messages.length).toBe(1000);
    expect(new Set(messages.map((event) => event['event_id']))).toEqual(new Set(sent));
    const forwards: Json[] = [];
    from = null;
    for (;;) {
      const page = (await alice.createMessagesRequest(roomId, from, 100, sdk.Direction.Forward)) as unknown as { chunk: Json[]; end?: string };
      forwards.push(...page.chunk);
      if (page.end === undefined) break;
      from = page.end;
    }
    expect(forwards.map((event) => event['event_id'])).toEqual([...backwards].reverse().map((event) => event['event_id']));
    // The room's own order: the create event first, timestamps never going back.
    expect(forwards[0]!['type']).toBe('m.room.create');
    const timestamps = forwards.map((event) => event['origin_server_ts'] as number);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
  }, 120_000);

  it('serves a redacted event redacted, and a repeated transaction ID returns the same event', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PublicChat });
    const first = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`, { token: aliceSession.access_token, body: { msgtype: sdk.MsgType.Text, body: 'secret' } });
    const again = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`, { token: aliceSession.access_token, body: { msgtype: sdk.MsgType.Text, body: 'secret' } });
    expect(first.status).toBe(200);
    expect(again.body['event_id']).toBe(first.body['event_id']);
    const page = await alice.createMessagesRequest(roomId, null, 50, sdk.Direction.Backward);
    expect(page.chunk.filter((event) => event['type'] === 'm.room.message').length).toBe(1);

    const eventId = first.body['event_id'] as string;
    await bob.joinRoom(roomId);
    expect((await sdkError(bob.redactEvent(roomId, eventId))).errcode).toBe('M_FORBIDDEN');
    const { event_id: redactionId } = await alice.redactEvent(roomId, eventId, undefined, { reason: 'oops' });
    const redacted = await alice.fetchRoomEvent(roomId, eventId);
    expect(redacted['content']).toEqual({});
    expect(redacted.unsigned?.redacted_because?.event_id).toBe(redactionId);
  });

  it('answers forbidden actions with M_FORBIDDEN and malformed JSON with M_NOT_JSON', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PrivateChat });
    expect((await sdkError(bob.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'hi' }))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob.sendStateEvent(roomId, 'm.room.topic' as never, { topic: 'mine' } as never, ''))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob.getStateEvent(roomId, 'm.room.name', ''))).errcode).toBe('M_FORBIDDEN');
    expect((await sdkError(bob.createMessagesRequest(roomId, null, 10, sdk.Direction.Backward))).errcode).toBe('M_FORBIDDEN');
    expect(await memberships(alice, roomId)).toEqual({ [ALICE]: 'join' });
    const broken = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t9`, { token: aliceSession.access_token, raw: '{"body": ' });
    expect(broken.status).toBe(400);
    expect(broken.body['errcode']).toBe('M_NOT_JSON');
    const unknownVersion = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: aliceSession.access_token, body: { room_version: '99' } });
    expect(unknownVersion.body['errcode']).toBe('M_UNSUPPORTED_ROOM_VERSION');
    expect(unknownVersion.status).toBe(400);
  });

  it('keeps everything across a restart', async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: sdk.Preset.PublicChat, name: 'Durable' });
    const { event_id: eventId } = await alice.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'still here' });
    await hs.stop();
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' }, { dataDir: hs.dataDir });
    alice = client(hs, aliceSession);
    expect((await alice.fetchRoomEvent(roomId, eventId))['content']).toEqual({ msgtype: sdk.MsgType.Text, body: 'still here' });
    expect(await alice.getStateEvent(roomId, 'm.room.name', '')).toEqual({ name: 'Durable' });
    const { event_id: after } = await alice.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'after the restart' });
    const page = await alice.createMessagesRequest(roomId, null, 2, sdk.Direction.Backward);
    expect(page.chunk.map((event) => event['event_id'])).toEqual([after, eventId]);
  }, 60_000);
});
