import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient, MatrixEvent } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'sync.test';
// Presence is off here so that each incremental sync holds exactly what a test changed; sync-edus.e2e.spec.ts covers it.
const ENV = { AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' };
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
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

async function login(hs: HomeserverProcess, user: string): Promise<Session> {
  const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw pw pw' } });
  expect(res.status).toBe(200);
  return res.body as unknown as Session;
}

async function sync(hs: HomeserverProcess, session: Session, query: Record<string, string> = {}): Promise<Json> {
  const res = await call(hs, 'GET', `/_matrix/client/v3/sync?${new URLSearchParams(query).toString()}`, { token: session.access_token });
  expect(res.status).toBe(200);
  return res.body;
}

const joined = (body: Json, roomId: string): Json => ((body['rooms'] as Json)['join'] as Json)[roomId] as Json;
const timelineOf = (room: Json): Json[] => (room['timeline'] as { events: Json[] }).events;

describe('/sync', () => {
  let hs: HomeserverProcess;
  let alice: Session;
  let bob: Session;
  let aliceClient: MatrixClient;

  beforeAll(async () => {
    hs = await startHomeserver(ENV);
    alice = await register(hs, 'alice');
    bob = await register(hs, 'bob');
    aliceClient = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: alice.access_token, userId: alice.user_id, deviceId: alice.device_id });
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('shows an invite with stripped state, then the joined room with its state and timeline, then a leave', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PrivateChat, name: 'Sync room' });
    const initial = await sync(hs, bob);
    expect(initial['rooms']).toBeUndefined();
    await aliceClient.invite(roomId, bob.user_id);
    const invited = await sync(hs, bob, { since: initial['next_batch'] as string, timeout: '5000' });
    const invite = ((invited['rooms'] as Json)['invite'] as Json)[roomId] as { invite_state: { events: Json[] } };
    const stripped = invite.invite_state.events;
    expect(stripped.find((event) => event['type'] === 'm.room.name')?.['content']).toEqual({ name: 'Sync room' });
    expect(stripped.find((event) => event['type'] === 'm.room.member')).toMatchObject({ state_key: bob.user_id, content: { membership: 'invite' } });

    await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const afterJoin = await sync(hs, bob, { since: invited['next_batch'] as string, timeout: '5000' });
    const room = joined(afterJoin, roomId);
    // A newly joined room comes as on an initial sync: the state before the timeline and the
    // timeline (its newest events, older ones included) hold the whole room state between them.
    const stateTypes = [...(room['state'] as { events: Json[] }).events, ...timelineOf(room)].filter((event) => event['state_key'] !== undefined).map((event) => event['type']);
    expect(stateTypes).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.name']));
    expect(timelineOf(room).some((event) => event['type'] === 'm.room.member' && event['state_key'] === bob.user_id)).toBe(true);
    expect(room['summary']).toMatchObject({ 'm.joined_member_count': 2, 'm.invited_member_count': 0 });

    await call(hs, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: bob.access_token, body: {} });
    const afterLeave = await sync(hs, bob, { since: afterJoin['next_batch'] as string, timeout: '5000' });
    const left = ((afterLeave['rooms'] as Json)['leave'] as Json)[roomId] as Json;
    expect(timelineOf(left).pop()).toMatchObject({ type: 'm.room.member', state_key: bob.user_id, content: { membership: 'leave' } });
  });

  it('a gappy incremental sync is limited, and its prev_batch paginates exactly the missing events', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PublicChat });
    await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const before = await sync(hs, bob);
    const sent: string[] = [];
    for (let index = 0; index < 30; index++) sent.push((await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `gap ${index}` })).event_id);
    // Sync applies the room server's output asynchronously: wait until the last message is in.
    const newest = JSON.stringify({ room: { timeline: { limit: 1 } } });
    for (let tries = 0; tries < 100; tries++) {
      const probe = await sync(hs, bob, { since: before['next_batch'] as string, filter: newest, timeout: '1000' });
      const room = ((probe['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
      if (room !== undefined && timelineOf(room)[0]?.['event_id'] === sent[29]) break;
    }
    const filter = JSON.stringify({ room: { timeline: { limit: 10 } } });
    const gappy = await sync(hs, bob, { since: before['next_batch'] as string, filter, timeout: '5000' });
    const room = joined(gappy, roomId);
    const timeline = room['timeline'] as { events: Json[]; limited: boolean; prev_batch: string };
    expect(timeline.limited).toBe(true);
    expect(timeline.events.map((event) => event['event_id'])).toEqual(sent.slice(20));
    const page = await call(hs, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20&from=${encodeURIComponent(timeline.prev_batch)}`, { token: bob.access_token });
    expect((page.body['chunk'] as Json[]).map((event) => event['event_id'])).toEqual(sent.slice(0, 20).reverse());
    // A sync with nothing new returns no rooms; with a timeout it waits for the next event.
    const idle = await sync(hs, bob, { since: gappy['next_batch'] as string });
    expect(idle['rooms']).toBeUndefined();
    const waiting = sync(hs, bob, { since: gappy['next_batch'] as string, timeout: '10000' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { event_id: late } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'wake up' });
    expect(timelineOf(joined(await waiting, roomId)).map((event) => event['event_id'])).toEqual([late]);
  });

  it('delivers a message sent by one matrix-js-sdk client to another\'s sync, and reports the latency', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PublicChat });
    await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const bobClient = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: bob.access_token, userId: bob.user_id, deviceId: bob.device_id });
    const arrivals = new Map<string, number>();
    bobClient.on(sdk.RoomEvent.Timeline, (event: MatrixEvent) => {
      const id = event.getId();
      if (id !== undefined && event.getRoomId() === roomId && event.getType() === 'm.room.message') arrivals.set(id, Date.now());
    });
    const synced = new Promise<void>((resolve) => bobClient.on(sdk.ClientEvent.Sync, (state: string) => state === 'PREPARED' && resolve()));
    await bobClient.startClient({ initialSyncLimit: 1 });
    await synced;
    const latencies: number[] = [];
    try {
      for (let index = 0; index < 200; index++) {
        const start = Date.now();
        const { event_id: eventId } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `m${index}` });
        const deadline = Date.now() + 10_000;
        while (!arrivals.has(eventId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
        expect(arrivals.has(eventId)).toBe(true);
        latencies.push(arrivals.get(eventId)! - start);
      }
    } finally {
      bobClient.stopClient();
    }
    latencies.sort((a, b) => a - b);
    process.stdout.write(`\n  matrix-js-sdk send → another matrix-js-sdk client's sync, 200 messages: median ${latencies[100]} ms, p99 ${latencies[197]} ms\n`);
    expect(arrivals.size).toBe(200);
  }, 120_000);

  it('shows only the history the room\'s history visibility lets a user see: joined rooms hide what came before the join', async () => {
    const room = async (visibility: string): Promise<{ roomId: string; before: string; after: string }> => {
      const { room_id: roomId } = await aliceClient.createRoom({
        preset: sdk.Preset.PublicChat,
        initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: visibility } }],
      });
      const { event_id: before } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `before bob (${visibility})` });
      await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
      const { event_id: after } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `after bob (${visibility})` });
      return { roomId, before, after };
    };
    const joinedOnly = await room('joined');
    const shared = await room('shared');
    let body: Json = {};
    for (let tries = 0; tries < 100; tries++) {
      body = await sync(hs, bob, { filter: JSON.stringify({ room: { timeline: { limit: 20 } } }) });
      const rooms = (body['rooms'] as Json | undefined)?.['join'] as Json | undefined;
      const ids = [joinedOnly.roomId, shared.roomId].map((id) => (rooms?.[id] === undefined ? [] : timelineOf(rooms[id] as Json).map((event) => event['event_id'])));
      if (ids[0]!.includes(joinedOnly.after) && ids[1]!.includes(shared.after)) break;
    }
    const idsIn = (roomId: string): unknown[] => timelineOf(joined(body, roomId)).map((event) => event['event_id']);
    expect(idsIn(joinedOnly.roomId)).toContain(joinedOnly.after);
    expect(idsIn(joinedOnly.roomId)).not.toContain(joinedOnly.before);
    expect(timelineOf(joined(body, joinedOnly.roomId)).some((event) => event['type'] === 'm.room.member' && event['state_key'] === bob.user_id)).toBe(true);
    expect(idsIn(shared.roomId)).toEqual(expect.arrayContaining([shared.before, shared.after]));
  });

  it('loses nothing when the server restarts between two syncs with the same token', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PublicChat });
    await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const token = (await sync(hs, bob))['next_batch'] as string;
    const { event_id: beforeRestart } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'before the restart' });
    await hs.stop();
    hs = await startHomeserver(ENV, { dataDir: hs.dataDir });
    aliceClient = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: alice.access_token, userId: alice.user_id, deviceId: alice.device_id });
    const { event_id: afterRestart } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'after the restart' });
    const deadline = Date.now() + 10_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      const body = await sync(hs, bob, { since: token, timeout: '2000' });
      const rooms = (body['rooms'] as Json | undefined)?.['join'] as Json | undefined;
      seen = rooms?.[roomId] === undefined ? [] : timelineOf(rooms[roomId] as Json).map((event) => event['event_id'] as string);
      if (seen.includes(afterRestart)) break;
    }
    expect(seen.slice(-2)).toEqual([beforeRestart, afterRestart]);
  }, 60_000);

  it('gives unsigned.transaction_id to the sending device only: in initial and incremental syncs and /messages, not to its other device nor to others', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PublicChat });
    await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const laptop = await login(hs, 'alice');
    const devices = { phone: alice, laptop, bob };
    const filter = JSON.stringify({ room: { timeline: { limit: 50 } } });
    const since = new Map<Session, string>();
    for (const session of Object.values(devices)) since.set(session, (await sync(hs, session, { filter }))['next_batch'] as string);

    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
    const put = async (suffix: string, body: Json): Promise<string> => (await call(hs, 'PUT', `${path}/${suffix}`, { token: alice.access_token, body })).body['event_id'] as string;
    const sent = await put('send/m.room.message/txn-sync-1', { msgtype: 'm.text', body: 'with a transaction ID' });
    const redacted = await put('send/m.room.message/txn-sync-2', { msgtype: 'm.text', body: 'to be redacted' });
    const redaction = await put(`redact/${encodeURIComponent(redacted)}/txn-sync-3`, {});
    // The pre-v1 POST has no transaction ID: none is shown, not even to the sender.
    const posted = (await call(hs, 'POST', `${path}/send/m.room.message`, { token: alice.access_token, body: { msgtype: 'm.text', body: 'posted' } })).body['event_id'] as string;
    const ids = [sent, redaction, posted];

    /** The transaction ID each of `ids` carries in a sync's timeline of the room (null: the event is there without one). */
    const transactionIds = (body: Json): Array<unknown> => {
      const room = ((body['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
      const timeline = room === undefined ? [] : timelineOf(room);
      return ids.map((id) => {
        const event = timeline.find((candidate) => candidate['event_id'] === id);
        return event === undefined ? undefined : (((event['unsigned'] as Json | undefined)?.['transaction_id'] as string | undefined) ?? null);
      });
    };
    const incremental = async (session: Session): Promise<Json> => {
      // Sync applies the room server's output asynchronously: wait until the last event is in.
      for (let tries = 0; ; tries++) {
        const body = await sync(hs, session, { since: since.get(session)!, filter, timeout: '2000' });
        if (transactionIds(body)[2] !== undefined || tries === 20) return body;
      }
    };
    const phoneSees = ['txn-sync-1', 'txn-sync-3', null];
    const nobodyElseSees = [null, null, null];
    expect(transactionIds(await incremental(alice))).toEqual(phoneSees);
    expect(transactionIds(await sync(hs, alice, { filter }))).toEqual(phoneSees);
    for (const other of [laptop, bob]) {
      expect(transactionIds(await incremental(other))).toEqual(nobodyElseSees);
      expect(transactionIds(await sync(hs, other, { filter }))).toEqual(nobodyElseSees);
    }

    const messages = async (session: Session): Promise<unknown[]> => {
      const chunk = (await call(hs, 'GET', `${path}/messages?dir=b&limit=50`, { token: session.access_token })).body['chunk'] as Json[];
      return ids.map((id) => (chunk.find((event) => event['event_id'] === id)?.['unsigned'] as Json | undefined)?.['transaction_id'] ?? null);
    };
    expect(await messages(alice)).toEqual(phoneSees);
    expect(await messages(laptop)).toEqual(nobodyElseSees);
    expect(await messages(bob)).toEqual(nobodyElseSees);
  }, 60_000);

  it("matches a matrix-js-sdk client's local echo to the event its own sync brings back by transaction ID", async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PublicChat });
    const laptop = await login(hs, 'alice');
    // What each client's /sync responses carried for an event, before the SDK touches it.
    const seen = new Map<string, Array<{ device: string; unsigned: Json | undefined }>>();
    const recording = (device: string): typeof fetch => async (input, init) => {
      const response = await fetch(input, init);
      if (String(input instanceof Request ? input.url : input).includes('/_matrix/client/v3/sync')) {
        const body = (await response.clone().json()) as Json;
        const room = ((body['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
        for (const event of room === undefined ? [] : timelineOf(room)) {
          const id = event['event_id'] as string;
          seen.set(id, [...(seen.get(id) ?? []), { device, unsigned: event['unsigned'] as Json | undefined }]);
        }
      }
      return response;
    };
    const started = async (session: Session, device: string): Promise<MatrixClient> => {
      const client = sdk.createClient({ baseUrl: hs.baseUrl, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id, fetchFn: recording(device) });
      const prepared = new Promise<void>((resolve) => client.on(sdk.ClientEvent.Sync, (state: string) => state === 'PREPARED' && resolve()));
      await client.startClient({ initialSyncLimit: 1 });
      await prepared;
      return client;
    };
    const phone = await started(alice, 'phone');
    const other = await started(laptop, 'laptop');
    try {
      const { event_id: eventId } = await phone.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'echo' } as never, 'sdk-txn-1');
      const deadline = Date.now() + 10_000;
      while ((seen.get(eventId)?.length ?? 0) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // Each device's own sync: the sending one carries the SDK's transaction ID, the other none.
      expect(Object.fromEntries((seen.get(eventId) ?? []).map(({ device, unsigned }) => [device, unsigned?.['transaction_id']]))).toEqual({ phone: 'sdk-txn-1', laptop: undefined });
      // The sender's local echo became that event, once.
      const timeline = phone.getRoom(roomId)!.getLiveTimeline().getEvents();
      expect(timeline.filter((event) => event.getContent()['body'] === 'echo').map((event) => [event.getId(), event.status])).toEqual([[eventId, null]]);
      expect(other.getRoom(roomId)!.getLiveTimeline().getEvents().find((event) => event.getId() === eventId)?.getUnsigned().transaction_id).toBeUndefined();
    } finally {
      phone.stopClient();
      other.stopClient();
    }
  }, 60_000);

  it('serves the server-default push rules (which matrix-js-sdk needs before it syncs)', async () => {
    const rules = await call(hs, 'GET', '/_matrix/client/v3/pushrules/', { token: bob.access_token });
    expect(rules.status).toBe(200);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/pushrules/ 200', rules.body)).toEqual([]);
    const global = rules.body['global'] as Record<string, Json[]>;
    expect(global['override']!.map((rule) => rule['rule_id'])[0]).toBe('.m.rule.master');
    expect(global['underride']!.map((rule) => rule['rule_id'])).toEqual(['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
    const invite = global['override']!.find((rule) => rule['rule_id'] === '.m.rule.invite_for_me')!;
    expect(invite['conditions']).toContainEqual({ key: 'state_key', kind: 'event_match', pattern: bob.user_id });
    const one = await call(hs, 'GET', '/_matrix/client/v3/pushrules/global/underride/.m.rule.message', { token: bob.access_token });
    expect(one.body).toMatchObject({ rule_id: '.m.rule.message', actions: ['notify'] });
    expect((await call(hs, 'GET', '/_matrix/client/v3/pushrules/global/override/nope', { token: bob.access_token })).body['errcode']).toBe('M_NOT_FOUND');
  });

  it('round-trips account data and tags, and syncs only what changed', async () => {
    const { room_id: roomId } = await aliceClient.createRoom({ preset: sdk.Preset.PrivateChat });
    await aliceClient.setAccountData('org.example.settings' as never, { theme: 'dark' } as never);
    await aliceClient.setRoomAccountData(roomId, 'org.example.room' as never, { pinned: true } as never);
    await aliceClient.setRoomTag(roomId, 'm.favourite', { order: 0.5 });
    await aliceClient.setRoomTag(roomId, 'u.work', {});
    await aliceClient.deleteRoomTag(roomId, 'u.work');
    expect(await aliceClient.getAccountDataFromServer('org.example.settings' as never)).toEqual({ theme: 'dark' });
    expect(await aliceClient.getRoomTags(roomId)).toEqual({ tags: { 'm.favourite': { order: 0.5 } } });
    const room = await call(hs, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/rooms/${encodeURIComponent(roomId)}/account_data/org.example.room`, { token: alice.access_token });
    expect(room.body).toEqual({ pinned: true });

    // Sync applies the room and account data asynchronously: wait until the room and the
    // last change are in.
    let initial: Json = {};
    for (let tries = 0; tries < 100; tries++) {
      initial = await sync(hs, alice);
      const joinedRoom = (((initial['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined);
      const tags = (joinedRoom?.['account_data'] as { events: Json[] } | undefined)?.events.find((event) => event['type'] === 'm.tag');
      if (tags !== undefined && Object.keys((tags['content'] as { tags: Json }).tags).length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((initial['account_data'] as { events: Json[] }).events).toContainEqual({ type: 'org.example.settings', content: { theme: 'dark' } });
    expect((joined(initial, roomId)['account_data'] as { events: Json[] }).events).toEqual(
      expect.arrayContaining([{ type: 'org.example.room', content: { pinned: true } }, { type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]),
    );
    const waiting = sync(hs, alice, { since: initial['next_batch'] as string, timeout: '10000' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await aliceClient.setAccountData('org.example.settings' as never, { theme: 'light' } as never);
    const changed = await waiting;
    expect((changed['account_data'] as { events: Json[] }).events).toEqual([{ type: 'org.example.settings', content: { theme: 'light' } }]);
    expect(changed['rooms']).toBeUndefined();

    const managed = await call(hs, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/account_data/m.push_rules`, { token: alice.access_token, body: {} });
    expect([managed.status, managed.body['errcode']]).toEqual([405, 'M_BAD_JSON']);
    const pushRules = await call(hs, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/account_data/m.push_rules`, { token: alice.access_token });
    expect(((pushRules.body['global'] as Record<string, Json[]>)['override'] ?? [])[0]?.['rule_id']).toBe('.m.rule.master');
    const fullyRead = await call(hs, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/rooms/${encodeURIComponent(roomId)}/account_data/m.fully_read`, { token: alice.access_token, body: {} });
    expect([fullyRead.status, fullyRead.body['errcode']]).toEqual([405, 'M_BAD_JSON']);
    const other = await call(hs, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/account_data/org.example.settings`, { token: bob.access_token });
    expect([other.status, other.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const missing = await call(hs, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/account_data/org.example.none`, { token: alice.access_token });
    expect([missing.status, missing.body['errcode']]).toEqual([404, 'M_NOT_FOUND']);
  });

  it('refuses missing and unknown tokens and a malformed since', async () => {
    expect((await call(hs, 'GET', '/_matrix/client/v3/sync')).body['errcode']).toBe('M_MISSING_TOKEN');
    expect((await call(hs, 'GET', '/_matrix/client/v3/sync', { token: 'nope' })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    const bad = await call(hs, 'GET', '/_matrix/client/v3/sync?since=garbage', { token: bob.access_token });
    expect([bad.status, bad.body['errcode']]).toEqual([400, 'M_INVALID_PARAM']);
  });
});
