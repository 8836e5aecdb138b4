import { startHomeserver, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient, MatrixEvent, RoomMember, User } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'edus.test';
// Presence is on (the default) here: every /sync marks its user online unless it says otherwise.
const ENV = { AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' };
const PASSWORD = 'pw pw pw';
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

interface Session {
  access_token: string;
  user_id: string;
  device_id: string;
}

const enc = encodeURIComponent;

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
  return done.body as unknown as Session;
}

async function login(hs: HomeserverProcess, user: string): Promise<Session> {
  const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body as unknown as Session;
}

async function syncOn(hs: HomeserverProcess, session: Session, query: Record<string, string> = {}): Promise<Json> {
  const res = await call(hs, 'GET', `/_matrix/client/v3/sync?${new URLSearchParams(query).toString()}`, { token: session.access_token });
  expect(res.status).toBe(200);
  return res.body;
}

const joinedRoom = (body: Json, roomId: string): Json | undefined => ((body['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
const timelineOf = (room: Json | undefined): Json[] => (room?.['timeline'] as { events: Json[] } | undefined)?.events ?? [];
const ephemeralOf = (room: Json | undefined, type: string): Json[] => ((room?.['ephemeral'] as { events: Json[] } | undefined)?.events ?? []).filter((event) => event['type'] === type);
const roomAccountDataOf = (room: Json | undefined, type: string): Json[] => ((room?.['account_data'] as { events: Json[] } | undefined)?.events ?? []).filter((event) => event['type'] === type);
const toDeviceOf = (body: Json): Json[] => (body['to_device'] as { events: Json[] } | undefined)?.events ?? [];
const deviceListsOf = (body: Json): { changed: string[]; left: string[] } => {
  const lists = (body['device_lists'] as { changed?: string[]; left?: string[] } | undefined) ?? {};
  return { changed: lists.changed ?? [], left: lists.left ?? [] };
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined (or the deadline passes, then fails). */
async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Incremental syncs from `since` (each from the previous answer's `next_batch`) until
 * `done` holds for an answer; returns every answer, in order. Presence is on, so answers
 * may hold unrelated presence changes.
 */
async function syncUntil(hs: HomeserverProcess, session: Session, since: string, what: string, done: (body: Json) => boolean, query: Record<string, string> = {}): Promise<Json[]> {
  const answers: Json[] = [];
  const deadline = Date.now() + 15_000;
  let token = since;
  for (;;) {
    const body = await syncOn(hs, session, { ...query, since: token, timeout: '1000' });
    answers.push(body);
    token = body['next_batch'] as string;
    if (done(body)) return answers;
    if (Date.now() > deadline) throw new Error(`timed out syncing until ${what}`);
  }
}

describe('/sync: typing, receipts, presence, to-device, ignored users, device lists', () => {
  let hs: HomeserverProcess;
  let users = 0;
  const clients: MatrixClient[] = [];

  beforeAll(async () => {
    hs = await startHomeserver(ENV);
  }, 60_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.stopClient();
  });

  afterAll(async () => {
    await hs?.stop();
  });

  const sync = (session: Session, query: Record<string, string> = {}): Promise<Json> => syncOn(hs, session, query);
  const fresh = async (name: string): Promise<Session> => register(hs, `${name}${++users}`);
  const createRoom = async (session: Session, body: Json = { preset: 'public_chat' }): Promise<string> => {
    const res = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: session.access_token, body });
    expect(res.status).toBe(200);
    return res.body['room_id'] as string;
  };
  const join = async (session: Session, roomId: string): Promise<void> => {
    expect((await call(hs, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: session.access_token, body: {} })).status).toBe(200);
  };
  const send = async (session: Session, roomId: string, body: string): Promise<string> => {
    const res = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${Math.random().toString(36).slice(2)}`, { token: session.access_token, body: { msgtype: 'm.text', body } });
    expect(res.status).toBe(200);
    return res.body['event_id'] as string;
  };
  const client = (session: Session): MatrixClient => sdk.createClient({ baseUrl: hs.baseUrl, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id });
  const startClient = async (session: Session): Promise<MatrixClient> => {
    const started = client(session);
    clients.push(started);
    const prepared = new Promise<void>((resolve) => started.on(sdk.ClientEvent.Sync, (state: string) => state === 'PREPARED' && resolve()));
    await started.startClient({ initialSyncLimit: 20 });
    await prepared;
    return started;
  };
  /** The event as the client's room has it, once its sync brought it. */
  const eventIn = (matrixClient: MatrixClient, roomId: string, eventId: string): Promise<MatrixEvent> =>
    waitFor(`${eventId} in ${matrixClient.getUserId()}'s client`, () => matrixClient.getRoom(roomId)?.findEventById(eventId) ?? undefined);

  it('typing starts and stops (matrix-js-sdk), and a short timeout ends it by itself', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const roomId = await createRoom(alice);
    await join(bob, roomId);
    const aliceClient = client(alice);
    const bobClient = await startClient(bob);
    await waitFor('alice in bob’s room', () => bobClient.getRoom(roomId)?.getMember(alice.user_id) ?? undefined);
    const seen: boolean[] = [];
    bobClient.on(sdk.RoomMemberEvent.Typing, (_event: MatrixEvent, member: RoomMember) => {
      if (member.roomId === roomId && member.userId === alice.user_id) seen.push(member.typing);
    });

    await aliceClient.sendTyping(roomId, true, 20_000);
    await waitFor('alice typing', () => (seen.includes(true) ? true : undefined));
    expect(bobClient.getRoom(roomId)!.getMember(alice.user_id)!.typing).toBe(true);
    await aliceClient.sendTyping(roomId, false, 0);
    await waitFor('alice no longer typing', () => (seen.at(-1) === false ? true : undefined));
    expect(bobClient.getRoom(roomId)!.getMember(alice.user_id)!.typing).toBe(false);

    // A typing of five seconds (long enough that bob's sync sees it first, even on a loaded
    // machine) ends on its own: bob's raw sync sees it, then an empty m.typing.
    const start = (await sync(bob, { set_presence: 'offline' }))['next_batch'] as string;
    const typed = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, { token: alice.access_token, body: { typing: true, timeout: 5000 } });
    expect(typed.status).toBe(200);
    const typingOf = (body: Json): Json[] => ephemeralOf(joinedRoom(body, roomId), 'm.typing');
    const answers = await syncUntil(hs, bob, start, 'the typing to end', (body) => typingOf(body).some((event) => (event['content'] as { user_ids: string[] }).user_ids.length === 0), { set_presence: 'offline' });
    const typings = answers.flatMap(typingOf);
    expect(typings[0]).toEqual({ type: 'm.typing', content: { user_ids: [alice.user_id] } });
    expect(typings.at(-1)).toEqual({ type: 'm.typing', content: { user_ids: [] } });
  });

  it('receipts and the fully read marker move, private receipts stay private, threaded ones carry thread_id', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const roomId = await createRoom(alice);
    await join(bob, roomId);
    const m1 = await send(alice, roomId, 'one');
    const m2 = await send(alice, roomId, 'two');
    const m3 = await send(alice, roomId, 'three');
    const m4 = await send(alice, roomId, 'four');
    const aliceClient = await startClient(alice);
    const bobClient = await startClient(bob);
    const receiptsSeen: MatrixEvent[] = [];
    aliceClient.on(sdk.RoomEvent.Receipt, (event: MatrixEvent) => receiptsSeen.push(event));

    // A public receipt from bob's matrix-js-sdk client reaches alice's.
    await bobClient.sendReadReceipt(await eventIn(bobClient, roomId, m1));
    const bobOn = (eventId: string) => () => (aliceClient.getRoom(roomId)?.getReceiptsForEvent(new sdk.MatrixEvent({ event_id: eventId, room_id: roomId })) ?? []).find((receipt) => receipt.userId === bob.user_id);
    expect(await waitFor('bob’s receipt on m1 in alice’s client', bobOn(m1))).toMatchObject({ userId: bob.user_id, type: 'm.read' });
    expect(receiptsSeen.some((event) => Object.keys(event.getContent()).includes(m1))).toBe(true);

    const receiptsOf = (body: Json): Json[] => ephemeralOf(joinedRoom(body, roomId), 'm.receipt');
    const receiptOf = (body: Json, eventId: string, type: string, userId: string): Json | undefined => {
      for (const event of receiptsOf(body)) {
        const found = (((event['content'] as Json)[eventId] as Json | undefined)?.[type] as Json | undefined)?.[userId] as Json | undefined;
        if (found !== undefined) return found;
      }
      return undefined;
    };

    // A private receipt: in bob's own sync, never in alice's.
    const priv = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read.private/${enc(m2)}`, { token: bob.access_token, body: {} });
    expect(priv.status).toBe(200);
    const bobInitial = await waitFor('bob’s private receipt in his sync', async () => {
      const body = await sync(bob);
      return receiptOf(body, m2, 'm.read.private', bob.user_id) === undefined ? undefined : body;
    });
    expect(receiptOf(bobInitial, m2, 'm.read.private', bob.user_id)).toEqual({ ts: expect.any(Number) });
    const aliceInitial = await sync(alice);
    expect(receiptOf(aliceInitial, m1, 'm.read', bob.user_id)).toEqual({ ts: expect.any(Number) });
    expect(JSON.stringify(receiptsOf(aliceInitial))).not.toContain('m.read.private');

    // A threaded receipt carries its thread_id.
    const threaded = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(m2)}`, { token: bob.access_token, body: { thread_id: 'main' } });
    expect(threaded.status).toBe(200);
    const [threadedSync] = (await syncUntil(hs, alice, aliceInitial['next_batch'] as string, 'the threaded receipt', (body) => receiptOf(body, m2, 'm.read', bob.user_id) !== undefined)).slice(-1);
    expect(receiptOf(threadedSync!, m2, 'm.read', bob.user_id)).toEqual({ ts: expect.any(Number), thread_id: 'main' });

    // Moving bob's unthreaded receipt to a later event moves it in alice's incremental sync and client.
    await bobClient.sendReadReceipt(await eventIn(bobClient, roomId, m3));
    const [moved] = (await syncUntil(hs, alice, threadedSync!['next_batch'] as string, 'the receipt on m3', (body) => receiptOf(body, m3, 'm.read', bob.user_id) !== undefined)).slice(-1);
    expect(receiptOf(moved!, m3, 'm.read', bob.user_id)).toEqual({ ts: expect.any(Number) });
    expect(receiptOf(moved!, m1, 'm.read', bob.user_id)).toBeUndefined();
    await waitFor('bob’s receipt on m3 in alice’s client', bobOn(m3));
    expect(aliceClient.getRoom(roomId)!.getEventReadUpTo(bob.user_id)).toBe(m3);

    // The fully read marker is bob's room account data m.fully_read, moved through sync.
    const before = (await sync(bob))['next_batch'] as string;
    await bobClient.setRoomReadMarkers(roomId, m3);
    const fullyReadOf = (body: Json): Json[] => roomAccountDataOf(joinedRoom(body, roomId), 'm.fully_read');
    const [marked] = (await syncUntil(hs, bob, before, 'm.fully_read on m3', (body) => fullyReadOf(body).length > 0)).slice(-1);
    expect(fullyReadOf(marked!)).toEqual([{ type: 'm.fully_read', content: { event_id: m3 } }]);
    const markers = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, { token: bob.access_token, body: { 'm.fully_read': m4, 'm.read': m4 } });
    expect(markers.status).toBe(200);
    const [remarked] = (await syncUntil(hs, bob, marked!['next_batch'] as string, 'm.fully_read on m4', (body) => fullyReadOf(body).length > 0)).slice(-1);
    expect(fullyReadOf(remarked!)).toEqual([{ type: 'm.fully_read', content: { event_id: m4 } }]);
    await waitFor('bob’s receipt on m4 in alice’s client', bobOn(m4));
    await waitFor('m.fully_read on m4 in bob’s client', () => (bobClient.getRoom(roomId)?.getAccountData('m.fully_read')?.getContent()['event_id'] === m4 ? true : undefined));
  });

  it('presence: set by a user, seen by a client sharing a room and through GET, refused to strangers, set by syncing', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const loner = await fresh('loner');
    const roomId = await createRoom(alice);
    await join(bob, roomId);
    // Alice's client does not sync (syncing would mark her online again): setPresence is one PUT.
    const aliceClient = client(alice);
    const bobClient = await startClient(bob);
    const updates: string[] = [];
    bobClient.on(sdk.UserEvent.Presence, (_event: MatrixEvent | undefined, user: User) => {
      if (user.userId === alice.user_id) updates.push(user.presence);
    });

    await aliceClient.setPresence({ presence: 'unavailable', status_msg: 'lunch' });
    await waitFor('alice unavailable in bob’s client', () => (bobClient.getUser(alice.user_id)?.presence === 'unavailable' ? true : undefined));
    expect(updates).toContain('unavailable');
    expect(bobClient.getUser(alice.user_id)!.presenceStatusMsg).toBe('lunch');

    const got = await call(hs, 'GET', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: bob.access_token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ presence: 'unavailable', status_msg: 'lunch', currently_active: false, last_active_ago: expect.any(Number) });
    const bobSync = await sync(bob, { set_presence: 'offline' });
    const events = ((bobSync['presence'] as { events: Json[] } | undefined)?.events ?? []).filter((event) => event['sender'] === alice.user_id);
    expect(events).toEqual([{ type: 'm.presence', sender: alice.user_id, content: { presence: 'unavailable', status_msg: 'lunch', currently_active: false, last_active_ago: expect.any(Number) } }]);

    const stranger = await call(hs, 'GET', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: loner.access_token });
    expect([stranger.status, stranger.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const forOther = await call(hs, 'PUT', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: bob.access_token, body: { presence: 'online' } });
    expect([forOther.status, forOther.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);

    // Syncing with set_presence=online marks alice online (and active).
    await sync(alice, { set_presence: 'online' });
    await waitFor('alice online in bob’s client', () => (bobClient.getUser(alice.user_id)?.presence === 'online' ? true : undefined));
    const online = await call(hs, 'GET', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: bob.access_token });
    expect(online.body).toMatchObject({ presence: 'online', currently_active: true });
  });

  it('presence of users who only now share a room comes with the incremental sync that brings them, however old', async () => {
    const alice = await fresh('alice');
    const carol = await fresh('carol');
    // Carol is online long before she and alice share a room.
    await call(hs, 'PUT', `/_matrix/client/v3/presence/${enc(carol.user_id)}/status`, { token: carol.access_token, body: { presence: 'online', status_msg: 'around' } });
    const roomId = await createRoom(alice);
    const before = await sync(alice, { set_presence: 'offline' });
    await join(carol, roomId);
    let events: Json[] = [];
    await waitFor('carol’s presence in alice’s incremental sync', async () => {
      const body = await sync(alice, { since: before['next_batch'] as string, set_presence: 'offline', timeout: '1000' });
      events = ((body['presence'] as { events: Json[] } | undefined)?.events ?? []).filter((event) => event['sender'] === carol.user_id);
      return events.length > 0 ? true : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'm.presence', content: { presence: 'online', status_msg: 'around' } });
  });

  it('presence disabled by config: no presence in /sync, and GET answers offline', async () => {
    const off = await startHomeserver({ ...ENV, AXON_PRESENCE_ENABLED: 'false' });
    try {
      const alice = await register(off, 'alice');
      const bob = await register(off, 'bob');
      const created = await call(off, 'POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat' } });
      const roomId = created.body['room_id'] as string;
      expect((await call(off, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.access_token, body: {} })).status).toBe(200);
      const put = await call(off, 'PUT', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: alice.access_token, body: { presence: 'unavailable', status_msg: 'lunch' } });
      expect(put.status).toBe(200);
      await syncOn(off, alice, { set_presence: 'online' });
      // Wait until bob's sync has the room (and so everything before it), then look for presence.
      const initial = await waitFor('the room in bob’s sync', async () => {
        const body = await syncOn(off, bob);
        return timelineOf(joinedRoom(body, roomId)).some((event) => event['type'] === 'm.room.member' && event['state_key'] === bob.user_id) ? body : undefined;
      });
      expect(initial['presence']).toBeUndefined();
      const later = await syncOn(off, bob, { since: initial['next_batch'] as string, timeout: '500' });
      expect(later['presence']).toBeUndefined();
      const got = await call(off, 'GET', `/_matrix/client/v3/presence/${enc(alice.user_id)}/status`, { token: bob.access_token });
      expect([got.status, got.body]).toEqual([200, { presence: 'offline' }]);
    } finally {
      await off.stop();
    }
  }, 60_000);

  it('to-device messages arrive exactly once per device, stay until acknowledged, and come 100 at a time', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const aliceClient = client(alice);
    const start = (await sync(bob))['next_batch'] as string;
    const message = { sender: alice.user_id, type: 'org.example.test', content: { n: 1 } };

    await aliceClient.sendToDevice('org.example.test', new Map([[bob.user_id, new Map([[bob.device_id, { n: 1 }]])]]), 'txn1');
    const [got] = (await syncUntil(hs, bob, start, 'the to-device message', (body) => toDeviceOf(body).length > 0)).slice(-1);
    expect(toDeviceOf(got!)).toEqual([message]);
    // Not acknowledged yet: a sync from the same (older) token gets it again.
    expect(toDeviceOf(await sync(bob, { since: start }))).toEqual([message]);
    // Syncing from the token after it acknowledges it: it is gone, also for the old token.
    const acked = await sync(bob, { since: got!['next_batch'] as string });
    expect(toDeviceOf(acked)).toEqual([]);
    expect(toDeviceOf(await sync(bob, { since: start }))).toEqual([]);

    // The same request again (same transaction ID) before bob synced is not delivered twice.
    const repeat = { messages: { [bob.user_id]: { [bob.device_id]: { n: 2 } } } };
    await aliceClient.sendToDevice('org.example.test', new Map([[bob.user_id, new Map([[bob.device_id, { n: 2 }]])]]), 'txn2');
    expect((await call(hs, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.test/txn2', { token: alice.access_token, body: repeat })).status).toBe(200);
    await aliceClient.sendToDevice('org.example.test', new Map([[bob.user_id, new Map([[bob.device_id, { n: 3 }]])]]), 'txn3');
    const afterRepeat = await syncUntil(hs, bob, acked['next_batch'] as string, 'the third message', (body) => toDeviceOf(body).some((event) => (event['content'] as Json)['n'] === 3));
    const next = await sync(bob, { since: afterRepeat.at(-1)!['next_batch'] as string });
    expect([...afterRepeat, next].flatMap(toDeviceOf)).toEqual([
      { ...message, content: { n: 2 } },
      { ...message, content: { n: 3 } },
    ]);
    let bobToken = next['next_batch'] as string;

    // `*` reaches each of bob's devices once.
    const second = await login(hs, bob.user_id);
    let secondToken = (await sync(second))['next_batch'] as string;
    await aliceClient.sendToDevice('org.example.test', new Map([[bob.user_id, new Map([['*', { n: 4 }]])]]), 'txn4');
    for (const [device, token] of [
      [bob, bobToken],
      [second, secondToken],
    ] as const) {
      const answers = await syncUntil(hs, device, token, `the * message on ${device.device_id}`, (body) => toDeviceOf(body).length > 0);
      const next = await sync(device, { since: answers.at(-1)!['next_batch'] as string });
      expect([...answers, next].flatMap(toDeviceOf)).toEqual([{ ...message, content: { n: 4 } }]);
      if (device === bob) bobToken = next['next_batch'] as string;
      else secondToken = next['next_batch'] as string;
    }

    // 150 messages to bob's first device; a marker to his second (same recipient, so the same
    // partition, applied in order) tells when all 150 are in.
    for (let index = 0; index < 150; index++) {
      const res = await call(hs, 'PUT', `/_matrix/client/v3/sendToDevice/org.example.bulk/bulk${index}`, { token: alice.access_token, body: { messages: { [bob.user_id]: { [bob.device_id]: { index } } } } });
      expect(res.status).toBe(200);
    }
    await aliceClient.sendToDevice('org.example.marker', new Map([[bob.user_id, new Map([[second.device_id, {}]])]]), 'marker');
    await syncUntil(hs, second, secondToken, 'the marker', (body) => toDeviceOf(body).length > 0);
    const first100 = await sync(bob, { since: bobToken });
    const last50 = await sync(bob, { since: first100['next_batch'] as string });
    const none = await sync(bob, { since: last50['next_batch'] as string });
    expect(toDeviceOf(first100).map((event) => (event['content'] as Json)['index'])).toEqual([...Array(100).keys()]);
    expect(toDeviceOf(last50).map((event) => (event['content'] as Json)['index'])).toEqual([...Array(50).keys()].map((index) => index + 100));
    expect(toDeviceOf(none)).toEqual([]);
    expect(toDeviceOf(first100)[0]).toEqual({ sender: alice.user_id, type: 'org.example.bulk', content: { index: 0 } });
  }, 60_000);

  it('a to-device request repeated (same transaction ID) after the recipient acknowledged it is not delivered again', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const body = { messages: { [bob.user_id]: { [bob.device_id]: { n: 1 } } } };
    const start = (await sync(bob))['next_batch'] as string;
    expect((await call(hs, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.test/retried', { token: alice.access_token, body })).status).toBe(200);
    const delivered = await syncUntil(hs, bob, start, 'the message', (answer) => toDeviceOf(answer).length > 0);
    expect(delivered.flatMap(toDeviceOf)).toEqual([{ sender: alice.user_id, type: 'org.example.test', content: { n: 1 } }]);
    // Bob acknowledges it (syncs from the token after it); then alice's client retries the same request.
    const acked = await sync(bob, { since: delivered.at(-1)!['next_batch'] as string });
    expect(toDeviceOf(acked)).toEqual([]);
    expect((await call(hs, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.test/retried', { token: alice.access_token, body })).status).toBe(200);
    const marker = { messages: { [bob.user_id]: { [bob.device_id]: { marker: true } } } };
    expect((await call(hs, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.marker/marker', { token: alice.access_token, body: marker })).status).toBe(200);
    const after = await syncUntil(hs, bob, acked['next_batch'] as string, 'the marker', (answer) => toDeviceOf(answer).some((event) => event['type'] === 'org.example.marker'));
    expect(after.flatMap(toDeviceOf)).toEqual([{ sender: alice.user_id, type: 'org.example.marker', content: { marker: true } }]);
  });

  it('hides an ignored user’s messages and invites, and shows new ones again once unignored', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const carol = await fresh('carol');
    const roomId = await createRoom(alice);
    await join(bob, roomId);
    await join(carol, roomId);
    const bobClient = await startClient(bob);
    // Resolves once bob's client saw the new list through sync.
    await bobClient.setIgnoredUsers([carol.user_id]);
    expect(bobClient.isUserIgnored(carol.user_id)).toBe(true);
    const start = (await sync(bob))['next_batch'] as string;

    const fromCarol = await send(carol, roomId, 'from carol');
    const fromAlice = await send(alice, roomId, 'from alice');
    const answers = await syncUntil(hs, bob, start, 'alice’s message', (body) => timelineOf(joinedRoom(body, roomId)).some((event) => event['event_id'] === fromAlice));
    const ids = answers.flatMap((body) => timelineOf(joinedRoom(body, roomId)).map((event) => event['event_id']));
    expect(ids).toContain(fromAlice);
    expect(ids).not.toContain(fromCarol);
    expect(timelineOf(joinedRoom(await sync(bob), roomId)).map((event) => event['event_id'])).not.toContain(fromCarol);

    // Carol's invite: once carol's own sync shows it, bob's sync still does not.
    const carolRoom = await createRoom(carol, { preset: 'private_chat', invite: [bob.user_id] });
    await waitFor('the invite in carol’s sync', async () =>
      timelineOf(joinedRoom(await sync(carol), carolRoom)).some((event) => event['type'] === 'm.room.member' && event['state_key'] === bob.user_id) ? true : undefined,
    );
    const afterInvite = await sync(bob, { since: answers.at(-1)!['next_batch'] as string });
    expect(((afterInvite['rooms'] as Json | undefined)?.['invite'] as Json | undefined)?.[carolRoom]).toBeUndefined();
    const initial = await sync(bob);
    expect(((initial['rooms'] as Json | undefined)?.['invite'] as Json | undefined)?.[carolRoom]).toBeUndefined();

    await bobClient.setIgnoredUsers([]);
    const again = await send(carol, roomId, 'carol again');
    await syncUntil(hs, bob, initial['next_batch'] as string, 'carol’s new message', (body) => timelineOf(joinedRoom(body, roomId)).some((event) => event['event_id'] === again));
    await eventIn(bobClient, roomId, again);
  });

  it('device lists: a new device of a room-mate is in changed, a user no longer sharing a room is in left', async () => {
    const alice = await fresh('alice');
    const bob = await fresh('bob');
    const carol = await fresh('carol');
    const withBob = await createRoom(alice);
    const withCarol = await createRoom(alice);
    await join(bob, withBob);
    await join(carol, withCarol);
    const ready = await waitFor('both rooms in alice’s sync with their members', async () => {
      const body = await sync(alice);
      const joinedIn = (roomId: string, user: string): boolean => timelineOf(joinedRoom(body, roomId)).some((event) => event['type'] === 'm.room.member' && event['state_key'] === user);
      return joinedIn(withBob, bob.user_id) && joinedIn(withCarol, carol.user_id) ? body : undefined;
    });

    await login(hs, bob.user_id);
    const changed = await syncUntil(hs, alice, ready['next_batch'] as string, 'bob in device_lists.changed', (body) => deviceListsOf(body).changed.includes(bob.user_id));
    expect(changed.flatMap((body) => deviceListsOf(body).changed)).not.toContain(carol.user_id);

    expect((await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(withCarol)}/leave`, { token: carol.access_token, body: {} })).status).toBe(200);
    const left = await syncUntil(hs, alice, changed.at(-1)!['next_batch'] as string, 'carol in device_lists.left', (body) => deviceListsOf(body).left.includes(carol.user_id));
    const last = deviceListsOf(left.at(-1)!);
    expect(last.left).toEqual([carol.user_id]);
    expect(last.changed).not.toContain(carol.user_id);
  });
});
