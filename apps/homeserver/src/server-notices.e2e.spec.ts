import { createHmac } from 'node:crypto';
import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

const SERVER = 'notices.test';
const SECRET = 'notices-shared-secret';
const NOTICES_USER = `@_server:${SERVER}`;
const ENV = { AXON_SERVER_NAME: SERVER, AXON_REGISTRATION_SHARED_SECRET: SECRET, AXON_RATE_LIMITS_ENABLED: 'false' };
const NOTICE = { msgtype: 'm.text', body: 'hello from server notices!' };

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

/** Registers through Synapse's shared-secret registration, as Complement does (`IsAdmin` for the admin). */
async function register(hs: HomeserverProcess, username: string, admin: boolean): Promise<Session> {
  const { body: first } = await call(hs, 'GET', '/_synapse/admin/v1/register');
  const nonce = first['nonce'] as string;
  const password = `${username}-pw`;
  const mac = createHmac('sha1', SECRET).update(`${nonce}\0${username}\0${password}\0${admin ? 'admin' : 'notadmin'}`).digest('hex');
  const res = await call(hs, 'POST', '/_synapse/admin/v1/register', { body: { nonce, username, password, admin, mac } });
  expect(res.status).toBe(200);
  return res.body as unknown as Session;
}

/** `POST` (no txnId) or `PUT .../{txnId}` a notice; answers the HTTP outcome. */
function sendNotice(hs: HomeserverProcess, session: Session, body: unknown, txnId?: string): Promise<{ status: number; body: Json }> {
  return txnId === undefined
    ? call(hs, 'POST', '/_synapse/admin/v1/send_server_notice', { token: session.access_token, body })
    : call(hs, 'PUT', `/_synapse/admin/v1/send_server_notice/${enc(txnId)}`, { token: session.access_token, body });
}

async function mustSendNotice(hs: HomeserverProcess, admin: Session, body: unknown, txnId?: string): Promise<string> {
  const res = await sendNotice(hs, admin, body, txnId);
  expect(res.status).toBe(200);
  expect(res.body['event_id']).toEqual(expect.any(String));
  return res.body['event_id'] as string;
}

const rooms = (body: Json, section: 'join' | 'invite' | 'leave'): Json => ((body['rooms'] as Json | undefined)?.[section] as Json | undefined) ?? {};

/**
 * Complement's `MustSyncUntil`: an initial sync, then incremental ones from each answer's
 * `next_batch`, until `check` answers something (or the deadline passes).
 */
async function syncUntil<T>(hs: HomeserverProcess, session: Session, what: string, check: (body: Json) => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let since: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ timeout: since === undefined ? '0' : '1000', ...(since === undefined ? {} : { since }) });
    const res = await call(hs, 'GET', `/_matrix/client/v3/sync?${query.toString()}`, { token: session.access_token });
    expect(res.status).toBe(200);
    const found = check(res.body);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    since = res.body['next_batch'] as string;
  }
}

/** Complement's `syncUntilInvite`: the first invited room whose invite state's first event the notices user sent. */
function syncUntilInvite(hs: HomeserverProcess, session: Session): Promise<string> {
  return syncUntil(hs, session, 'the server notices invite', (body) => {
    for (const [roomId, room] of Object.entries(rooms(body, 'invite'))) {
      const events = ((room as Json)['invite_state'] as { events: Json[] } | undefined)?.events ?? [];
      if (events[0]?.['sender'] === NOTICES_USER) return roomId;
    }
    return undefined;
  });
}

describe('server notices (Complement TestServerNotices)', () => {
  let hs: HomeserverProcess;
  let admin: Session;
  let alice: Session;
  let eventId: string;
  let roomId: string;
  const reqBody = (): Json => ({ user_id: alice.user_id, content: NOTICE });

  beforeAll(async () => {
    hs = await startHomeserver({ ...ENV, AXON_SERVER_NOTICES_LOCALPART: '_server', AXON_ENABLE_REGISTRATION: 'true' });
    admin = await register(hs, 'admin', true);
    alice = await register(hs, 'alice', false);
  });
  afterAll(async () => {
    await hs?.stop();
  });

  it('/send_server_notice is not allowed as normal user', async () => {
    const res = await call(hs, 'POST', '/_synapse/admin/v1/send_server_notice', { token: alice.access_token });
    expect(res).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
    const put = await sendNotice(hs, alice, reqBody(), 'mine');
    expect(put).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
  });

  it('/send_server_notice as an admin is allowed', async () => {
    eventId = await mustSendNotice(hs, admin, reqBody());
  });

  it('Alice is invited to the server alert room', async () => {
    roomId = await syncUntilInvite(hs, alice);
  });

  it('Alice cannot reject the invite', async () => {
    const res = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: alice.access_token, body: {} });
    expect(res).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM' }) as Json });
  });

  it('Alice can join the alert room, and sees the notice from the notices user', async () => {
    const join = await call(hs, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: alice.access_token, body: {} });
    expect(join).toEqual({ status: 200, body: { room_id: roomId } });
    const notice = await syncUntil(hs, alice, 'the notice in the timeline', (body) => {
      const room = rooms(body, 'join')[roomId] as Json | undefined;
      return ((room?.['timeline'] as { events: Json[] } | undefined)?.events ?? []).find((event) => event['event_id'] === eventId);
    });
    expect(notice).toMatchObject({ type: 'm.room.message', sender: NOTICES_USER, content: NOTICE });
  });

  it('the room is private, named from the config, tagged m.server_notice, and Alice cannot post in it', async () => {
    const name = await call(hs, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name`, { token: alice.access_token });
    expect(name).toEqual({ status: 200, body: { name: 'Server Notices' } });
    const joinRules = await call(hs, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.join_rules`, { token: alice.access_token });
    expect(joinRules.body).toEqual({ join_rule: 'invite' });
    const member = await call(hs, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(NOTICES_USER)}`, { token: alice.access_token });
    expect(member.body).toMatchObject({ membership: 'join', displayname: 'Server Notices' });

    const tags = await call(hs, 'GET', `/_matrix/client/v3/user/${enc(alice.user_id)}/rooms/${enc(roomId)}/tags`, { token: alice.access_token });
    expect(tags).toEqual({ status: 200, body: { tags: { 'm.server_notice': {} } } });
    const tagEvent = await syncUntil(hs, alice, 'the m.server_notice tag in sync', (body) => {
      const room = rooms(body, 'join')[roomId] as Json | undefined;
      return ((room?.['account_data'] as { events: Json[] } | undefined)?.events ?? []).find((event) => event['type'] === 'm.tag');
    });
    expect(tagEvent['content']).toEqual({ tags: { 'm.server_notice': {} } });

    const post = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/reply`, { token: alice.access_token, body: { msgtype: 'm.text', body: 'hi' } });
    expect(post).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
  });

  it('Alice can leave the alert room, after joining it', async () => {
    const res = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: alice.access_token, body: {} });
    expect(res).toEqual({ status: 200, body: {} });
  });

  it('After leaving the alert room and on re-invitation, no new room is created', async () => {
    await mustSendNotice(hs, admin, reqBody());
    const newRoomId = await syncUntilInvite(hs, alice);
    expect(newRoomId).toBe(roomId);
    const joined = await call(hs, 'GET', '/_matrix/client/v3/joined_rooms', { token: alice.access_token });
    expect(joined.body).toEqual({ joined_rooms: [] });
  });

  it('Sending a notice with a transactionID is idempotent', async () => {
    const eventId1 = await mustSendNotice(hs, admin, reqBody(), '1');
    const eventId2 = await mustSendNotice(hs, admin, reqBody(), '1');
    expect(eventId2).toBe(eventId1);
    // Another transaction ID, or no transaction ID, is another notice.
    const eventId3 = await mustSendNotice(hs, admin, reqBody(), '2');
    const eventId4 = await mustSendNotice(hs, admin, reqBody());
    expect(new Set([eventId1, eventId3, eventId4]).size).toBe(3);
  });

  it('sends other event types and state events, as Synapse does', async () => {
    const stateId = await mustSendNotice(hs, admin, { user_id: alice.user_id, type: 'm.room.topic', state_key: '', content: { topic: 'maintenance tonight' } });
    expect((await call(hs, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: alice.access_token, body: {} })).status).toBe(200);
    const topic = await call(hs, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic`, { token: alice.access_token });
    expect(topic).toEqual({ status: 200, body: { topic: 'maintenance tonight' } });
    const event = await call(hs, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(stateId)}`, { token: alice.access_token });
    expect(event.body).toMatchObject({ type: 'm.room.topic', state_key: '', sender: NOTICES_USER });
  });

  it('refuses unknown, remote and malformed users and bodies without user_id or content', async () => {
    expect(await sendNotice(hs, admin, { user_id: `@nobody:${SERVER}`, content: NOTICE })).toEqual({ status: 404, body: expect.objectContaining({ errcode: 'M_NOT_FOUND' }) as Json });
    expect(await sendNotice(hs, admin, { user_id: '@someone:elsewhere.test', content: NOTICE })).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_UNKNOWN' }) as Json });
    expect((await sendNotice(hs, admin, { user_id: 'not a user', content: NOTICE })).status).toBe(400);
    expect(await sendNotice(hs, admin, { content: NOTICE })).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_MISSING_PARAM' }) as Json });
    expect(await sendNotice(hs, admin, { user_id: alice.user_id })).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_MISSING_PARAM' }) as Json });
  });

  it('keeps the notices user ID from registration', async () => {
    const available = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=_server');
    expect(available).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_USER_IN_USE' }) as Json });
    const res = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username: '_server', password: 'pw', auth: { type: 'm.login.dummy' } } });
    expect(res).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_USER_IN_USE' }) as Json });
  });

  it('gives each user their own room, and the notices user cannot log in', async () => {
    const bob = await register(hs, 'bob', false);
    await mustSendNotice(hs, admin, { user_id: bob.user_id, content: NOTICE });
    const bobRoom = await syncUntilInvite(hs, bob);
    expect(bobRoom).not.toBe(roomId);
    const login = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '_server' }, password: '' } });
    expect(login.status).toBe(403);
  });
});

describe('server notices when not configured', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver(ENV);
  });
  afterAll(async () => {
    await hs?.stop();
  });

  it('answers admins 400 M_UNKNOWN and others 403', async () => {
    const admin = await register(hs, 'admin', true);
    const alice = await register(hs, 'alice', false);
    const res = await sendNotice(hs, admin, { user_id: alice.user_id, content: NOTICE });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errcode: 'M_UNKNOWN', error: expect.stringContaining('Server notices are not enabled') as string });
    expect((await sendNotice(hs, alice, { user_id: alice.user_id, content: NOTICE }, 't')).status).toBe(403);
  });
});
