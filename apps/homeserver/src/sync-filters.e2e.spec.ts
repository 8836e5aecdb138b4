import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

// Presence is off so that each incremental sync holds exactly what a test changed.
const ENV = { AXON_SERVER_NAME: 'filters.test', AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' };
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

interface Session {
  access_token: string;
  user_id: string;
  device_id: string;
}

async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function register(hs: HomeserverProcess, username: string): Promise<Session> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw' } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  return done.body as unknown as Session;
}

async function sync(hs: HomeserverProcess, session: Session, query: Record<string, string> = {}): Promise<Json> {
  const res = await call(hs, 'GET', `/_matrix/client/v3/sync?${new URLSearchParams(query).toString()}`, { token: session.access_token });
  expect(res).toMatchObject({ status: 200 });
  return res.body;
}

const roomOf = (body: Json, roomId: string): Json | undefined => ((body['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
const eventsOf = (room: Json | undefined, key: string): Json[] => ((room?.[key] as { events: Json[] } | undefined)?.events ?? []);

async function send(hs: HomeserverProcess, session: Session, roomId: string, content: Json, type = 'm.room.message'): Promise<string> {
  const res = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${Math.random().toString(36).slice(2)}`, { token: session.access_token, body: content });
  expect(res.status).toBe(200);
  return res.body['event_id'] as string;
}

/** Syncs until the room's newest timeline event is `eventId` (sync applies the room log asynchronously). */
async function syncUntil(hs: HomeserverProcess, session: Session, roomId: string, eventId: string, query: Record<string, string>): Promise<Json> {
  for (let tries = 0; tries < 100; tries++) {
    const body = await sync(hs, session, query);
    if (eventsOf(roomOf(body, roomId), 'timeline').some((event) => event['event_id'] === eventId)) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${eventId} never reached ${session.user_id}'s sync`);
}

describe('/sync filters', () => {
  let hs: HomeserverProcess;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  let dave: Session;

  beforeAll(async () => {
    hs = await startHomeserver(ENV);
    [alice, bob, carol, dave] = [await register(hs, 'alice'), await register(hs, 'bob'), await register(hs, 'carol'), await register(hs, 'dave')];
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  async function publicRoomWithEveryone(): Promise<string> {
    const created = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat', name: 'Filters' } });
    const roomId = created.body['room_id'] as string;
    for (const member of [bob, carol, dave]) expect((await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: member.access_token, body: {} })).status).toBe(200);
    return roomId;
  }

  it('an initial sync with lazy_load_members returns exactly the members the timeline needs, and an incremental one adds a new sender', async () => {
    const roomId = await publicRoomWithEveryone();
    let last = '';
    for (let index = 0; index < 3; index++) last = await send(hs, carol, roomId, { msgtype: 'm.text', body: `carol ${index}` });
    const lazy = JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 3, lazy_load_members: true } } });

    const initial = await syncUntil(hs, bob, roomId, last, { filter: lazy });
    const room = roomOf(initial, roomId)!;
    expect(eventsOf(room, 'timeline').map((event) => event['sender'])).toEqual([carol.user_id, carol.user_id, carol.user_id]);
    const members = eventsOf(room, 'state').filter((event) => event['type'] === 'm.room.member');
    expect(members.map((event) => event['state_key'])).toEqual([carol.user_id]);
    expect(eventsOf(room, 'state').map((event) => event['type'])).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.name']));
    expect(room['summary']).toMatchObject({ 'm.joined_member_count': 4 });

    // Without lazy loading the same sync carries every member.
    const eager = await sync(hs, bob, { filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
    const everyone = eventsOf(roomOf(eager, roomId), 'state').filter((event) => event['type'] === 'm.room.member').map((event) => event['state_key']);
    expect(everyone.sort()).toEqual([alice.user_id, bob.user_id, carol.user_id, dave.user_id].sort());

    // Dave speaks for the first time: the incremental sync brings his membership with it.
    const daves = await send(hs, dave, roomId, { msgtype: 'm.text', body: 'dave here' });
    const next = await syncUntil(hs, bob, roomId, daves, { filter: lazy, since: initial['next_batch'] as string, timeout: '1000' });
    expect(eventsOf(roomOf(next, roomId), 'state').filter((event) => event['type'] === 'm.room.member').map((event) => event['state_key'])).toEqual([dave.user_id]);

    // matrix-js-sdk with lazy loading knows carol and dave by name from that, and nobody else.
    const client = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: bob.access_token, userId: bob.user_id, deviceId: bob.device_id });
    const prepared = new Promise<void>((resolve) => client.on(sdk.ClientEvent.Sync, (state: string) => state === 'PREPARED' && resolve()));
    await client.startClient({ lazyLoadMembers: true, initialSyncLimit: 4 });
    try {
      await prepared;
      const sdkRoom = client.getRoom(roomId)!;
      expect(sdkRoom.getMember(carol.user_id)?.name).toBe('carol');
      expect(sdkRoom.getMember(dave.user_id)?.name).toBe('dave');
      expect(sdkRoom.getMember(alice.user_id)).toBeNull();
      expect(sdkRoom.getJoinedMemberCount()).toBe(4);
    } finally {
      client.stopClient();
    }
  });

  it('applies timeline types and senders, rooms and not_rooms, event_fields, and account data filters', async () => {
    const roomId = await publicRoomWithEveryone();
    const otherRoom = (await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: bob.access_token, body: { preset: 'private_chat' } })).body['room_id'] as string;
    const start = await sync(hs, bob);
    await send(hs, alice, roomId, { msgtype: 'm.text', body: 'from alice' });
    await send(hs, carol, roomId, { msgtype: 'm.text', body: 'from carol' });
    await send(hs, alice, roomId, { mood: 'fine' }, 'org.example.custom');
    const lastOfAlice = await send(hs, alice, roomId, { msgtype: 'm.text', body: 'alice again' });
    const elsewhere = await send(hs, bob, otherRoom, { msgtype: 'm.text', body: 'elsewhere' });
    await call(hs, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(bob.user_id)}/account_data/org.example.keep`, { token: bob.access_token, body: { a: 1 } });
    await call(hs, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(bob.user_id)}/account_data/org.example.drop`, { token: bob.access_token, body: { b: 2 } });

    const filter = {
      event_fields: ['type', 'sender', 'content.body'],
      account_data: { types: ['org.example.keep'] },
      room: { not_rooms: [otherRoom], timeline: { types: ['m.room.message'], not_senders: [carol.user_id], limit: 10 } },
    };
    // The two rooms are applied independently (other partitions, maybe other replicas): wait for both.
    await syncUntil(hs, bob, roomId, lastOfAlice, { since: start['next_batch'] as string, timeout: '1000' });
    await syncUntil(hs, bob, otherRoom, elsewhere, { since: start['next_batch'] as string, timeout: '1000' });
    const body = await sync(hs, bob, { filter: JSON.stringify(filter), since: start['next_batch'] as string });
    expect(eventsOf(roomOf(body, roomId), 'timeline')).toEqual([
      { type: 'm.room.message', sender: alice.user_id, content: { body: 'from alice' } },
      { type: 'm.room.message', sender: alice.user_id, content: { body: 'alice again' } },
    ]);
    expect(roomOf(body, otherRoom)).toBeUndefined();
    expect(eventsOf(body, 'account_data').map((event) => event['type'])).toEqual(['org.example.keep']);

    // A stored filter works the same; `rooms` keeps only the rooms it names.
    const stored = await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(bob.user_id)}/filter`, { token: bob.access_token, body: { room: { rooms: [otherRoom], timeline: { limit: 1 } } } });
    const only = await sync(hs, bob, { filter: stored.body['filter_id'] as string });
    expect(Object.keys(((only['rooms'] as Json)['join'] as Json))).toEqual([otherRoom]);
    expect(eventsOf(roomOf(only, otherRoom), 'timeline')).toHaveLength(1);
    expect(eventsOf(roomOf(only, otherRoom), 'timeline')[0]).toMatchObject({ content: { body: 'elsewhere' } });

    // A limit on a selective filter counts the matching events: limited, and the oldest matching one left out.
    const selective = await sync(hs, bob, { filter: JSON.stringify({ room: { rooms: [roomId], timeline: { senders: [alice.user_id], types: ['m.room.message'], limit: 1 } } }) });
    const timeline = roomOf(selective, roomId)!['timeline'] as { events: Json[]; limited: boolean };
    expect(timeline.limited).toBe(true);
    expect(timeline.events.map((event) => (event['content'] as Json)['body'])).toEqual(['alice again']);
  });

  it('refuses malformed filters with the spec error codes', async () => {
    expect((await call(hs, 'GET', `/_matrix/client/v3/sync?filter=${encodeURIComponent('{"room": 1}')}`, { token: bob.access_token })).body['errcode']).toBe('M_BAD_JSON');
    expect((await call(hs, 'GET', `/_matrix/client/v3/sync?filter=${encodeURIComponent('{"room": {"timeline": {"limit": 0}}}')}`, { token: bob.access_token })).body['errcode']).toBe('M_INVALID_PARAM');
    expect((await call(hs, 'GET', `/_matrix/client/v3/sync?filter=${encodeURIComponent('{nope')}`, { token: bob.access_token })).body['errcode']).toBe('M_NOT_JSON');
    expect((await call(hs, 'GET', '/_matrix/client/v3/sync?filter=4242', { token: bob.access_token })).body['errcode']).toBe('M_INVALID_PARAM');
  });
});
