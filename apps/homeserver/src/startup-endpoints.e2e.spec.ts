import { createHmac } from 'node:crypto';
import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

// Endpoints clients call at start-up or routinely: OpenID tokens, TURN credentials, the
// user directory, room summaries, reports, and what /versions and /capabilities advertise.
const SERVER = 'startup.test';
const TURN_SECRET = 'turn-secret-never-logged';
const TURN_URIS = ['turn:turn.startup.test:3478?transport=udp', 'turns:turn.startup.test:5349?transport=tcp'];

async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

interface Account {
  access_token: string;
  user_id: string;
}

async function register(hs: HomeserverProcess, username: string): Promise<Account> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw' } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  expect(done.status).toBe(200);
  return done.body as unknown as Account;
}

/** Polls until `check` passes (the user directory is a read model: it follows the room server's output). */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const errorOf = (response: { status: number; body: Json }): [number, unknown] => [response.status, response.body['errcode']];

describe('start-up endpoints', () => {
  let hs: HomeserverProcess;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let dave: Account;

  const createRoom = async (who: Account, body: Json): Promise<string> => {
    const created = await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: who.access_token, body });
    expect(created.status).toBe(200);
    return created.body['room_id'] as string;
  };
  const join = async (who: Account, room: string): Promise<void> => {
    expect((await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: who.access_token, body: {} })).status).toBe(200);
  };
  const invite = async (who: Account, room: string, user: string): Promise<void> => {
    expect((await call(hs, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { token: who.access_token, body: { user_id: user } })).status).toBe(200);
  };
  const search = (who: Account, body: Json) => call(hs, 'POST', '/_matrix/client/v3/user_directory/search', { token: who.access_token, body });
  const found = async (who: Account, term: string): Promise<string[]> => {
    const res = await search(who, { search_term: term, limit: 50 });
    expect(res.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/user_directory/search 200', res.body)).toEqual([]);
    return (res.body['results'] as { user_id: string }[]).map((r) => r.user_id).sort();
  };

  beforeAll(async () => {
    hs = await startHomeserver({
      AXON_SERVER_NAME: SERVER,
      AXON_ENABLE_REGISTRATION: 'true',
      AXON_RATE_LIMITS_ENABLED: 'false',
      AXON_TURN_URIS: TURN_URIS.join(','),
      AXON_TURN_SHARED_SECRET: TURN_SECRET,
      AXON_TURN_USER_LIFETIME_MS: '86400000',
    });
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((name) => register(hs, name))) as [Account, Account, Account, Account];
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  describe('OpenID', () => {
    it('issues a token for oneself that the federation API exchanges for the user ID', async () => {
      const issued = await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, { token: alice.access_token, body: {} });
      expect(issued.status).toBe(200);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/user/{userId}/openid/request_token 200', issued.body)).toEqual([]);
      expect(issued.body).toMatchObject({ token_type: 'Bearer', matrix_server_name: SERVER, expires_in: 3600 });

      const info = await call(hs, 'GET', `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(issued.body['access_token'] as string)}`);
      expect(info.status).toBe(200);
      expect(specErrors('server-server', 'GET /_matrix/federation/v1/openid/userinfo 200', info.body)).toEqual([]);
      expect(info.body).toEqual({ sub: alice.user_id });
    });

    it('refuses tokens for others, unknown tokens, and OpenID tokens as access tokens', async () => {
      const forBob = await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(bob.user_id)}/openid/request_token`, { token: alice.access_token, body: {} });
      expect(errorOf(forBob)).toEqual([403, 'M_FORBIDDEN']);
      const anonymous = await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, { body: {} });
      expect(errorOf(anonymous)).toEqual([401, 'M_MISSING_TOKEN']);

      const unknown = await call(hs, 'GET', '/_matrix/federation/v1/openid/userinfo?access_token=nope');
      expect(errorOf(unknown)).toEqual([401, 'M_UNKNOWN_TOKEN']);
      expect(specErrors('server-server', 'GET /_matrix/federation/v1/openid/userinfo 401', unknown.body)).toEqual([]);
      expect(errorOf(await call(hs, 'GET', '/_matrix/federation/v1/openid/userinfo'))).toEqual([401, 'M_MISSING_TOKEN']);
      // A client access token is not an OpenID token, and the reverse.
      expect(errorOf(await call(hs, 'GET', `/_matrix/federation/v1/openid/userinfo?access_token=${alice.access_token}`))).toEqual([401, 'M_UNKNOWN_TOKEN']);
      const issued = await call(hs, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, { token: alice.access_token, body: {} });
      expect(errorOf(await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: issued.body['access_token'] as string }))).toEqual([401, 'M_UNKNOWN_TOKEN']);
    });
  });

  describe('TURN', () => {
    it('hands out time-limited credentials that the TURN server can check with the shared secret', async () => {
      const before = Math.floor(Date.now() / 1000);
      const res = await call(hs, 'GET', '/_matrix/client/v3/voip/turnServer', { token: alice.access_token });
      expect(res.status).toBe(200);
      expect(specErrors('client-server', 'GET /_matrix/client/v3/voip/turnServer 200', res.body)).toEqual([]);
      expect(res.body['uris']).toEqual(TURN_URIS);
      expect(res.body['ttl']).toBe(86_400);
      const username = res.body['username'] as string;
      const [expiry, user] = [Number(username.slice(0, username.indexOf(':'))), username.slice(username.indexOf(':') + 1)];
      expect(user).toBe(alice.user_id);
      expect(expiry).toBeGreaterThanOrEqual(before + 86_400);
      expect(expiry).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 86_400);
      // What coturn does with use-auth-secret: the password is Base64(HMAC-SHA1(secret, username)).
      expect(res.body['password']).toBe(createHmac('sha1', TURN_SECRET).update(username).digest('base64'));
      expect(errorOf(await call(hs, 'GET', '/_matrix/client/v3/voip/turnServer'))).toEqual([401, 'M_MISSING_TOKEN']);
      expect(JSON.stringify(hs.logs)).not.toContain(TURN_SECRET);
    });
  });

  describe('user directory', () => {
    let privateRoom: string;

    beforeAll(async () => {
      expect((await call(hs, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: 'Bobby Tables' } })).status).toBe(200);
      privateRoom = await createRoom(alice, { preset: 'private_chat' });
      await invite(alice, privateRoom, bob.user_id);
      await join(bob, privateRoom);
      const publicRoom = await createRoom(carol, { preset: 'public_chat' });
      expect(publicRoom).toMatch(/^!/);
      // Dave is only invited to a private room: nobody shares a room with him.
      await invite(alice, await createRoom(alice, { preset: 'private_chat' }), dave.user_id);
    });

    it('finds users who share a room and users in public rooms, by user ID or display name word prefixes, case-insensitively', async () => {
      await eventually(async () => expect(await found(alice, 'bob')).toEqual([bob.user_id]));
      await eventually(async () => expect(await found(alice, 'caro')).toEqual([carol.user_id]));
      expect(await found(alice, 'TAB')).toEqual([bob.user_id]);
      expect(await found(alice, 'bobby tables')).toEqual([bob.user_id]);
      expect(await found(alice, 'ables')).toEqual([]);
      expect(await found(alice, 'dave')).toEqual([]);
      // Carol shares no room with Bob, but Bob sees her in a public room; she does not see him.
      expect(await found(bob, 'carol')).toEqual([carol.user_id]);
      expect(await found(carol, 'bob')).toEqual([]);
      // The server name is a word of every local user's ID.
      expect(await found(dave, SERVER.split('.')[0]!)).toEqual([carol.user_id]);

      const res = await search(alice, { search_term: 'bob' });
      expect(res.body).toEqual({ limited: false, results: [{ user_id: bob.user_id, display_name: 'Bobby Tables' }] });
    });

    it('applies limit and says when the list was cut', async () => {
      await eventually(async () => expect(await found(alice, SERVER.split('.')[0]!)).toEqual([alice.user_id, bob.user_id, carol.user_id].filter((u) => u !== alice.user_id).sort()));
      const cut = await search(alice, { search_term: SERVER.split('.')[0]!, limit: 1 });
      expect(cut.status).toBe(200);
      expect(cut.body['limited']).toBe(true);
      // Those sharing a room come first.
      expect((cut.body['results'] as Json[]).map((r) => r['user_id'])).toEqual([bob.user_id]);
      expect(errorOf(await search(alice, { limit: 1 }))).toEqual([400, 'M_UNKNOWN']);
      expect(errorOf(await call(hs, 'POST', '/_matrix/client/v3/user_directory/search', { body: { search_term: 'bob' } }))).toEqual([401, 'M_MISSING_TOKEN']);
    });

    it('follows profile and membership changes', async () => {
      expect((await call(hs, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: 'Robert Drop' } })).status).toBe(200);
      expect(await found(alice, 'drop')).toEqual([bob.user_id]);
      expect(await found(alice, 'tables')).toEqual([]);
      expect((await call(hs, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(privateRoom)}/leave`, { token: bob.access_token, body: {} })).status).toBe(200);
      await eventually(async () => expect(await found(alice, 'bob')).toEqual([]));
      // A room made public puts its members in everyone's reach.
      const room = await createRoom(dave, { preset: 'private_chat' });
      await eventually(async () => expect(await found(carol, 'dave')).toEqual([]));
      expect((await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.join_rules/`, { token: dave.access_token, body: { join_rule: 'public' } })).status).toBe(200);
      await eventually(async () => expect(await found(carol, 'dave')).toEqual([dave.user_id]));
    });
  });

  describe('room summaries', () => {
    const summaryOf = (room: string, token?: string, path = `/_matrix/client/v1/room_summary/${encodeURIComponent(room)}`) =>
      call(hs, 'GET', path, token === undefined ? {} : { token });

    it('summarises a public room for anyone, signed in or not, also by alias and on the im.nheko.summary paths', async () => {
      const room = await createRoom(alice, { preset: 'public_chat', name: 'Lobby', topic: 'Say hi', room_alias_name: 'summary-lobby', room_version: '12' });
      await join(bob, room);
      const anonymous = await summaryOf(room);
      expect(anonymous.status).toBe(200);
      expect(specErrors('client-server', 'GET /_matrix/client/v1/room_summary/{roomIdOrAlias} 200', anonymous.body)).toEqual([]);
      expect(anonymous.body).toEqual({
        room_id: room,
        room_version: '12',
        name: 'Lobby',
        topic: 'Say hi',
        canonical_alias: `#summary-lobby:${SERVER}`,
        num_joined_members: 2,
        join_rule: 'public',
        world_readable: false,
        guest_can_join: false,
      });
      const byAlias = await summaryOf(`#summary-lobby:${SERVER}`, carol.access_token);
      expect(byAlias.body).toEqual({ ...anonymous.body, membership: 'leave' });
      expect((await summaryOf(room, bob.access_token)).body['membership']).toBe('join');
      for (const path of [`/_matrix/client/unstable/im.nheko.summary/summary/${encodeURIComponent(room)}`, `/_matrix/client/unstable/im.nheko.summary/rooms/${encodeURIComponent(room)}/summary`]) {
        expect((await summaryOf(room, undefined, path)).body).toEqual(anonymous.body);
      }
    });

    it('summarises a private room only for its members and invitees; knock rooms for anyone', async () => {
      const room = await createRoom(alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
      await invite(alice, room, carol.user_id);
      const member = await summaryOf(room, alice.access_token);
      expect(member.status).toBe(200);
      expect(specErrors('client-server', 'GET /_matrix/client/v1/room_summary/{roomIdOrAlias} 200', member.body)).toEqual([]);
      expect(member.body).toMatchObject({ room_id: room, join_rule: 'invite', encryption: 'm.megolm.v1.aes-sha2', membership: 'join', num_joined_members: 1 });
      expect((await summaryOf(room, carol.access_token)).body['membership']).toBe('invite');
      const outsider = await summaryOf(room, dave.access_token);
      expect(errorOf(outsider)).toEqual([404, 'M_NOT_FOUND']);
      expect(specErrors('client-server', 'GET /_matrix/client/v1/room_summary/{roomIdOrAlias} 404', outsider.body)).toEqual([]);
      expect(errorOf(await summaryOf(room))).toEqual([404, 'M_NOT_FOUND']);

      expect((await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.join_rules/`, { token: alice.access_token, body: { join_rule: 'knock' } })).status).toBe(200);
      expect((await summaryOf(room, dave.access_token)).body).toMatchObject({ join_rule: 'knock', membership: 'leave' });
    });

    it('answers rooms this server is not in as Synapse does, and refuses a bad token', async () => {
      const unknown = `!unknown:elsewhere.test`;
      expect(errorOf(await summaryOf(unknown, alice.access_token))).toEqual([400, 'M_UNKNOWN']);
      expect(errorOf(await call(hs, 'GET', `/_matrix/client/v1/room_summary/${encodeURIComponent(unknown)}?via=elsewhere.test`, { token: alice.access_token }))).toEqual([404, 'M_NOT_FOUND']);
      expect(errorOf(await summaryOf(`#nowhere:${SERVER}`))).toEqual([404, 'M_NOT_FOUND']);
      expect(errorOf(await summaryOf(unknown, 'not-a-token'))).toEqual([401, 'M_UNKNOWN_TOKEN']);
    });
  });

  describe('reports', () => {
    let room: string;
    let eventId: string;

    beforeAll(async () => {
      room = await createRoom(alice, { preset: 'private_chat' });
      await invite(alice, room, bob.user_id);
      await join(bob, room);
      const sent = await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/r1`, { token: alice.access_token, body: { msgtype: 'm.text', body: 'rude' } });
      eventId = sent.body['event_id'] as string;
    });

    const report = (who: Account | undefined, path: string, body: Json) => call(hs, 'POST', `/_matrix/client/v3${path}`, { ...(who ? { token: who.access_token } : {}), body });

    it('takes event reports from those who can see the event', async () => {
      const ok = await report(bob, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, { reason: 'this makes me sad', score: -100 });
      expect(ok.status).toBe(200);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/report/{eventId} 200', ok.body)).toEqual([]);
      expect((await report(bob, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, {})).status).toBe(200);
      const outsider = await report(carol, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, { reason: 'x' });
      expect(errorOf(outsider)).toEqual([404, 'M_NOT_FOUND']);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/report/{eventId} 404', outsider.body)).toEqual([]);
      expect(errorOf(await report(bob, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(`$${'A'.repeat(43)}`)}`, { reason: 'x' }))).toEqual([404, 'M_NOT_FOUND']);
      expect(errorOf(await report(bob, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, { reason: 5 }))).toEqual([400, 'M_BAD_JSON']);
      expect(errorOf(await report(undefined, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, { reason: 'x' }))).toEqual([401, 'M_MISSING_TOKEN']);
      // A redacted event can no longer be reported.
      expect((await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(eventId)}/d1`, { token: alice.access_token, body: {} })).status).toBe(200);
      expect(errorOf(await report(bob, `/rooms/${encodeURIComponent(room)}/report/${encodeURIComponent(eventId)}`, { reason: 'x' }))).toEqual([404, 'M_NOT_FOUND']);
    });

    it('takes room reports from anyone, for rooms that exist', async () => {
      const ok = await report(dave, `/rooms/${encodeURIComponent(room)}/report`, { reason: '' });
      expect(ok.status).toBe(200);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/report 200', ok.body)).toEqual([]);
      const missing = await report(dave, `/rooms/${encodeURIComponent(`!missing:${SERVER}`)}/report`, { reason: 'x' });
      expect(errorOf(missing)).toEqual([404, 'M_NOT_FOUND']);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/rooms/{roomId}/report 404', missing.body)).toEqual([]);
      expect(errorOf(await report(dave, `/rooms/${encodeURIComponent(room)}/report`, {}))).toEqual([400, 'M_MISSING_PARAM']);
    });

    it('takes user reports without telling whether the user exists', async () => {
      const ok = await report(alice, `/users/${encodeURIComponent(dave.user_id)}/report`, { reason: 'spam' });
      expect(ok.status).toBe(200);
      expect(specErrors('client-server', 'POST /_matrix/client/v3/users/{userId}/report 200', ok.body)).toEqual([]);
      expect((await report(alice, `/users/${encodeURIComponent(`@ghost:${SERVER}`)}/report`, { reason: 'spam' })).status).toBe(200);
      expect((await report(alice, `/users/${encodeURIComponent('@someone:elsewhere.test')}/report`, { reason: 'spam' })).status).toBe(200);
      expect(errorOf(await report(alice, `/users/${encodeURIComponent(dave.user_id)}/report`, { reason: 'x'.repeat(1001) }))).toEqual([400, 'M_BAD_JSON']);
      expect(errorOf(await report(alice, `/users/${encodeURIComponent(dave.user_id)}/report`, {}))).toEqual([400, 'M_MISSING_PARAM']);
    });
  });

  describe('what the server advertises', () => {
    it('advertises no unstable feature and only capabilities it serves', async () => {
      const versions = await call(hs, 'GET', '/_matrix/client/versions');
      expect(specErrors('client-server', 'GET /_matrix/client/versions 200', versions.body)).toEqual([]);
      expect(versions.body['unstable_features']).toEqual({});
      const capabilities = await call(hs, 'GET', '/_matrix/client/v3/capabilities', { token: alice.access_token });
      expect(Object.keys(capabilities.body['capabilities'] as Json).sort()).toEqual(['m.3pid_changes', 'm.change_password', 'm.get_login_token', 'm.room_versions', 'm.set_avatar_url', 'm.set_displayname']);
      // m.get_login_token is advertised: its endpoint answers (401 with the flows, not 404).
      expect((await call(hs, 'POST', '/_matrix/client/v1/login/get_token', { token: alice.access_token, body: {} })).status).toBe(401);
    });
  });
});

describe('TURN without configuration', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: 'noturn.test', AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('answers {} as Synapse does', async () => {
    const user = await register(hs, 'erin');
    const res = await call(hs, 'GET', '/_matrix/client/v3/voip/turnServer', { token: user.access_token });
    expect([res.status, res.body]).toEqual([200, {}]);
  });
});
