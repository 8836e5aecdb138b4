import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;
type Session = { access_token: string; user_id: string; device_id: string };

const SERVER = 'tokens.test';
const PASSWORD = 'correct horse';

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

const rooms = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
const ONLY_MESSAGES = encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }));
const bodiesOf = (events: unknown) => (events as Json[]).filter((event) => event['type'] === 'm.room.message').map((event) => (event['content'] as { body: string }).body);
const joined = (sync: Json, roomId: string) => ((sync['rooms'] as Json | undefined)?.['join'] as Json | undefined)?.[roomId] as Json | undefined;
const invited = (sync: Json, roomId: string) => ((sync['rooms'] as Json | undefined)?.['invite'] as Json | undefined)?.[roomId] as Json | undefined;
const timelineIds = (sync: Json, roomId: string) => (((joined(sync, roomId)?.['timeline'] as Json | undefined)?.['events'] as Json[] | undefined) ?? []).map((event) => event['event_id']);

describe('sync tokens in /messages, and reading your own writes in /sync', () => {
  let hs: HomeserverProcess;
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    alice = await register(hs, 'alice');
    bob = await register(hs, 'bob');
  }, 120_000);

  afterAll(async () => {
    await hs?.stop();
  });

  const sync = async (who: Session, since?: string, filter?: unknown): Promise<Json> => {
    const query = new URLSearchParams({ timeout: '0', ...(since === undefined ? {} : { since }), ...(filter === undefined ? {} : { filter: JSON.stringify(filter) }) });
    const res = await call(hs, 'GET', `/_matrix/client/v3/sync?${query}`, { token: who.access_token });
    expect(res.status).toBe(200);
    return res.body;
  };
  const send = async (who: Session, roomId: string, body: string): Promise<string> => {
    const res = await call(hs, 'PUT', `${rooms(roomId)}/send/m.room.message/${encodeURIComponent(body)}-${Math.random()}`, { token: who.access_token, body: { msgtype: 'm.text', body } });
    expect(res.status).toBe(200);
    return res.body['event_id'] as string;
  };
  const createRoom = async (who: Session, body: Json = {}): Promise<string> => {
    const res = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: who.access_token, body });
    expect(res.status).toBe(200);
    return res.body['room_id'] as string;
  };
  const messages = async (who: Session, roomId: string, query: Record<string, string>): Promise<{ status: number; body: Json }> =>
    call(hs, 'GET', `${rooms(roomId)}/messages?${new URLSearchParams({ limit: '100', ...query })}&filter=${ONLY_MESSAGES}`, { token: who.access_token });

  it('pages back from a next_batch to exactly the messages that sync covered, and forward from it to the later ones, in rooms on several partitions', async () => {
    const roomIds = [await createRoom(alice), await createRoom(alice), await createRoom(alice), await createRoom(alice)];
    const N = 4;
    const M = 3;
    // Interleaved, so the rooms' partitions all move while each room's messages are sent.
    for (let n = 1; n <= N; n++) for (const [index, roomId] of roomIds.entries()) await send(alice, roomId, `r${index} early ${n}`);
    const first = await sync(alice);
    for (const roomId of roomIds) expect(bodiesOf((joined(first, roomId)?.['timeline'] as Json)['events'])).toContain(`r${roomIds.indexOf(roomId)} early ${N}`);
    const token = first['next_batch'] as string;
    for (let m = 1; m <= M; m++) for (const [index, roomId] of roomIds.entries()) await send(alice, roomId, `r${index} late ${m}`);
    const second = await sync(alice, token);
    const later = second['next_batch'] as string;

    for (const [index, roomId] of roomIds.entries()) {
      const early = Array.from({ length: N }, (_, n) => `r${index} early ${n + 1}`);
      const late = Array.from({ length: M }, (_, m) => `r${index} late ${m + 1}`);

      const back = await messages(alice, roomId, { from: token, dir: 'b' });
      expect(back.status).toBe(200);
      expect(back.body['start']).toBe(token);
      expect(bodiesOf(back.body['chunk'])).toEqual([...early].reverse());

      const forward = await messages(alice, roomId, { from: token, dir: 'f' });
      expect(forward.body['start']).toBe(token);
      expect(bodiesOf(forward.body['chunk'])).toEqual(late);
      // `start` is `from` (spec): a token to page from again, in either direction.
      expect(bodiesOf((await messages(alice, roomId, { from: back.body['start'] as string, dir: 'f' })).body['chunk'])).toEqual(late);
      expect(bodiesOf((await messages(alice, roomId, { from: forward.body['start'] as string, dir: 'b' })).body['chunk'])).toEqual([...early].reverse());

      // A sync token as `to`, both ways: exactly what lies between the two syncs.
      expect(bodiesOf((await messages(alice, roomId, { from: token, to: later, dir: 'f' })).body['chunk'])).toEqual(late);
      expect(bodiesOf((await messages(alice, roomId, { from: later, to: token, dir: 'b' })).body['chunk'])).toEqual([...late].reverse());
      // From the later token backwards: everything, newest first; forwards: nothing yet.
      expect(bodiesOf((await messages(alice, roomId, { from: later, dir: 'b' })).body['chunk'])).toEqual([...early, ...late].reverse());
      expect(bodiesOf((await messages(alice, roomId, { from: later, dir: 'f' })).body['chunk'])).toEqual([]);
    }
  });

  it('pages back from a limited timeline prev_batch to the messages before the timeline', async () => {
    const roomId = await createRoom(alice);
    for (let n = 1; n <= 6; n++) await send(alice, roomId, `m${n}`);
    const limited = await sync(alice, undefined, { room: { rooms: [roomId], timeline: { limit: 2, types: ['m.room.message'] } } });
    const timeline = joined(limited, roomId)!['timeline'] as Json;
    expect(bodiesOf(timeline['events'])).toEqual(['m5', 'm6']);
    expect(timeline['limited']).toBe(true);
    const back = await messages(alice, roomId, { from: timeline['prev_batch'] as string, dir: 'b' });
    expect(bodiesOf(back.body['chunk'])).toEqual(['m4', 'm3', 'm2', 'm1']);
  });

  it('refuses a malformed sync token as from with M_INVALID_PARAM', async () => {
    const roomId = await createRoom(alice);
    const token = (await sync(alice))['next_batch'] as string;
    for (const bad of [`${token}.1`, token.replace(/^s3_/, 's9_'), token.replace(/^s3_/, 's2_')]) {
      const res = await messages(alice, roomId, { from: bad, dir: 'b' });
      expect(res.status).toBe(400);
      expect(res.body['errcode']).toBe('M_INVALID_PARAM');
    }
  });

  it("shows an invite in the invitee's first /sync after createRoom returned, every time", async () => {
    let since = (await sync(bob))['next_batch'] as string;
    for (let attempt = 0; attempt < 20; attempt++) {
      const roomId = await createRoom(alice, { invite: [bob.user_id], preset: 'private_chat' });
      const initial = await sync(bob);
      expect(invited(initial, roomId)).toBeDefined();
      const incremental = await sync(bob, since);
      expect(invited(incremental, roomId)).toBeDefined();
      since = incremental['next_batch'] as string;
    }
  });

  it("shows a sent message, a state change and a join in the sender's and the other members' next incremental /sync", async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    let aliceSince = (await sync(alice))['next_batch'] as string;
    const joinedRes = await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    expect(joinedRes.status).toBe(200);
    const bobFirst = await sync(bob);
    expect(joined(bobFirst, roomId)).toBeDefined();
    let bobSince = bobFirst['next_batch'] as string;
    for (let attempt = 0; attempt < 20; attempt++) {
      const eventId = await send(alice, roomId, `now ${attempt}`);
      const mine = await sync(alice, aliceSince);
      expect(timelineIds(mine, roomId)).toContain(eventId);
      aliceSince = mine['next_batch'] as string;
      const theirs = await sync(bob, bobSince);
      expect(timelineIds(theirs, roomId)).toContain(eventId);
      bobSince = theirs['next_batch'] as string;
    }
    const topic = await call(hs, 'PUT', `${rooms(roomId)}/state/m.room.topic/`, { token: alice.access_token, body: { topic: 'fresh' } });
    expect(topic.status).toBe(200);
    expect(timelineIds(await sync(bob, bobSince), roomId)).toContain(topic.body['event_id']);
  });
});
