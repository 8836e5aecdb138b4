import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

/**
 * What clients written against other homeservers (and Complement) take for granted:
 * legacy `r0` paths, plain `application/json`, `POST /send` without a transaction ID,
 * capitals in a requested username, and filters that name rooms and users by ID.
 */
describe('client compatibility', () => {
  let hs: HomeserverProcess;
  let token: string;

  async function call(method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; type: string | null; body: Json }> {
    const res = await fetch(`${hs.baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
  }

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    token = '';
    const first = await call('POST', '/_matrix/client/v3/register', { username: 'CapitalAlice', password: 'pw pw pw' });
    const done = await call('POST', '/_matrix/client/v3/register', { username: 'CapitalAlice', password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first.body['session'] } });
    expect(done.body['user_id']).toBe('@capitalalice:localhost');
    token = done.body['access_token'] as string;
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('serves r0 paths as v3 and answers plain application/json', async () => {
    const whoami = await call('GET', '/_matrix/client/r0/account/whoami');
    expect(whoami).toMatchObject({ status: 200, type: 'application/json', body: { user_id: '@capitalalice:localhost' } });
    expect((await call('GET', '/_matrix/client/versions')).type).toBe('application/json');
    expect((await call('GET', '/_matrix/client/v3/nope')).type).toBe('application/json');
  });

  it('sends with POST and no transaction ID, each request a new event, and refuses values canonical JSON cannot hold', async () => {
    const { body } = await call('POST', '/_matrix/client/v3/createRoom', { room_version: '6' });
    const roomId = encodeURIComponent(body['room_id'] as string);
    const first = await call('POST', `/_matrix/client/v3/rooms/${roomId}/send/m.room.message`, { msgtype: 'm.text', body: 'hi' });
    const second = await call('POST', `/_matrix/client/v3/rooms/${roomId}/send/m.room.message`, { msgtype: 'm.text', body: 'hi' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body['event_id']).not.toBe(second.body['event_id']);
    for (const raw of ['{"body": 9007199254740992}', '{"body": -9007199254740992}', '{"body": 1.1}']) {
      expect(await call('POST', `/_matrix/client/v3/rooms/${roomId}/send/complement.dummy`, undefined, raw)).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    }
  });

  it('refuses to kick a user who is not in the room, and sets a membership through the state API as given', async () => {
    const { body } = await call('POST', '/_matrix/client/v3/createRoom', {});
    const roomId = encodeURIComponent(body['room_id'] as string);
    expect(await call('POST', `/_matrix/client/v3/rooms/${roomId}/kick`, { user_id: '@nobody:localhost' })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    const me = encodeURIComponent('@capitalalice:localhost');
    expect((await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.member/${me}`, { membership: 'join', displayname: 'Room Alice' })).status).toBe(200);
    expect((await call('GET', `/_matrix/client/v3/rooms/${roomId}/state/m.room.member/${me}`)).body).toEqual({ membership: 'join', displayname: 'Room Alice' });
    expect((await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.member/${me}`, { displayname: 'no membership' })).body['errcode']).toBe('M_BAD_JSON');
  });

  it('refuses a device deletion authenticated as another user with 403, and reads presence never set as offline', async () => {
    const saved = token;
    token = '';
    const first = await call('POST', '/_matrix/client/v3/register', { username: 'mallory', password: 'mallory pw' });
    await call('POST', '/_matrix/client/v3/register', { username: 'mallory', password: 'mallory pw', auth: { type: 'm.login.dummy', session: first.body['session'] } });
    token = saved;
    const devices = (await call('GET', '/_matrix/client/v3/devices')).body['devices'] as Array<{ device_id: string }>;
    const path = `/_matrix/client/v3/devices/${encodeURIComponent(devices[0]!.device_id)}`;
    const challenge = await call('DELETE', path, {});
    expect(challenge.status).toBe(401);
    const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'mallory' }, password: 'mallory pw', session: challenge.body['session'] };
    expect(await call('DELETE', path, { auth })).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect((await call('GET', `/_matrix/client/v3/presence/${encodeURIComponent('@capitalalice:localhost')}/status`)).body).toEqual({ presence: 'offline' });
  });

  it('answers the same event for the same state set twice, and the whole event with format=event', async () => {
    const { body } = await call('POST', '/_matrix/client/v3/createRoom', {});
    const roomId = encodeURIComponent(body['room_id'] as string);
    const first = await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic`, { topic: 'same' });
    const again = await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic`, { topic: 'same' });
    const other = await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic`, { topic: 'different' });
    expect(again.body['event_id']).toBe(first.body['event_id']);
    expect(other.body['event_id']).not.toBe(first.body['event_id']);
    const joinedOnce = await call('POST', `/_matrix/client/v3/rooms/${roomId}/join`, {});
    expect(joinedOnce.status).toBe(200);
    const event = await call('GET', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic/?format=event`);
    expect(event.body).toMatchObject({ type: 'm.room.topic', state_key: '', sender: '@capitalalice:localhost', event_id: other.body['event_id'], content: { topic: 'different' } });
    expect((await call('GET', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic?format=content`)).body).toEqual({ topic: 'different' });
    expect((await call('GET', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic?format=xml`)).body['errcode']).toBe('M_INVALID_PARAM');
    // A JSON body that is not an object is valid JSON, badly shaped: M_BAD_JSON.
    expect((await call('PUT', `/_matrix/client/v3/rooms/${roomId}/state/m.room.topic`, ['topic'])).body['errcode']).toBe('M_BAD_JSON');
  });

  it('refuses filters whose rooms or senders are not IDs', async () => {
    const upload = (filter: Json) => call('POST', `/_matrix/client/v3/user/${encodeURIComponent('@capitalalice:localhost')}/filter`, filter);
    expect((await upload({ room: { timeline: { rooms: ['not_a_room_id'] } } })).status).toBe(400);
    expect((await upload({ room: { timeline: { senders: ['not_a_sender_id'] } } })).status).toBe(400);
    expect((await upload({ room: { timeline: { senders: ['@bob:localhost'], rooms: ['!room:localhost'] } } })).status).toBe(200);
  });
});
