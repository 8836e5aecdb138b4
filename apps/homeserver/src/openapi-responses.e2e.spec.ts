import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNC_PATH } from '@axon/services-sync';
import { declaredRoutes, SpecClient, startHomeserver, type HomeserverProcess } from '@axon/testing';
import { HOMESERVER_SERVICES } from './bootstrap';

// Every Client-Server endpoint the homeserver serves, called as a client would, each body
// validated against the spec's OpenAPI (libs/testing/spec-data): success answers, and
// the errors a client meets and reads. Every request this suite makes goes through the
// validating client, so the server's own request metrics tell which routes it validated;
// the last test fails when a route the homeserver registers was never validated.

const SERVER = 'openapi.test';
const TOKEN = 'openapi-registration';
const V3 = '/_matrix/client/v3';

type Json = Record<string, unknown>;
interface Session {
  readonly user_id: string;
  readonly access_token: string;
  readonly device_id: string;
  readonly password: string;
}

let hs: HomeserverProcess;
let api: SpecClient;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-openapi-'));
  const config = join(dir, 'axon.yaml');
  writeFileSync(config, ['registration:', '  enabled: true', '  registration_tokens:', `    - token: ${TOKEN}`, 'rate_limits:', '  enabled: false', 'turn:', '  uris: ["turn:turn.openapi.test:3478?transport=udp"]', '  shared_secret: openapi-turn-secret', ''].join('\n'));
  hs = await startHomeserver({ AXON_CONFIG: config, AXON_SERVER_NAME: SERVER });
  api = new SpecClient(hs.baseUrl);
});
afterAll(async () => {
  await hs.stop();
});

/** Registers through the registration-token stage: the 401 with the flows, then the account. */
async function register(username: string, extra: Json = {}): Promise<Session> {
  const password = `${username}-password`;
  const first = await api.call<{ session: string; flows: unknown[] }>('POST', `${V3}/register`, {}, { body: { username, password, ...extra }, status: 401 });
  expect(first.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
  const done = await api.call<Session>('POST', `${V3}/register`, {}, {
    body: { username, password, ...extra, auth: { type: 'm.login.registration_token', token: TOKEN, session: first.session } },
  });
  return { ...done, password };
}

/** Runs a user-interactive-authentication endpoint: the 401 with the flows, then with the password stage. */
async function withPassword(method: 'POST' | 'DELETE', template: string, params: Record<string, string>, user: Session, body: Json = {}): Promise<Json> {
  const first = await api.call<{ session: string }>(method, template, params, { token: user.access_token, body, status: 401 });
  return api.call(method, template, params, {
    token: user.access_token,
    body: { ...body, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password, session: first.session } },
  });
}

let alice: Session;
let bob: Session;
let carol: Session;
let roomId: string;
let messageId: string;

describe('the Client-Server API against the spec', () => {
  it('discovery, login flows and registration', async () => {
    const versions = await api.call<{ versions: string[] }>('GET', '/_matrix/client/versions');
    expect(versions.versions).toContain('v1.19');
    await api.call('GET', '/.well-known/matrix/client');
    const flows = await api.call<{ flows: { type: string }[] }>('GET', `${V3}/login`);
    expect(flows.flows.map((f) => f.type)).toContain('m.login.password');

    expect(await api.call('GET', '/_matrix/client/v1/register/m.login.registration_token/validity', {}, { query: { token: TOKEN } })).toEqual({ valid: true });
    expect(await api.call('GET', `${V3}/register/available`, {}, { query: { username: 'alice' } })).toEqual({ available: true });
    alice = await register('alice', { initial_device_display_name: 'alice phone' });
    expect(alice).toMatchObject({ user_id: `@alice:${SERVER}`, device_id: expect.any(String), access_token: expect.any(String) });
    bob = await register('bob');
    carol = await register('carol');
    expect(await api.call('GET', `${V3}/register/available`, {}, { query: { username: 'alice' }, status: 400 })).toMatchObject({ errcode: 'M_USER_IN_USE' });
    await api.call('POST', `${V3}/register`, {}, { body: { username: 'No Spaces Allowed', password: 'pw' }, status: 400 });
  });

  it('login, refresh, whoami, login tokens and logout', async () => {
    const login = await api.call<{ access_token: string; refresh_token?: string; device_id: string; expires_in_ms?: number }>('POST', `${V3}/login`, {}, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password, refresh_token: true },
    });
    expect(login).toMatchObject({ user_id: alice.user_id, device_id: expect.any(String), refresh_token: expect.any(String), expires_in_ms: expect.any(Number) });
    const refreshed = await api.call<{ access_token: string }>('POST', `${V3}/refresh`, {}, { body: { refresh_token: login.refresh_token } });
    expect(refreshed.access_token).not.toBe(login.access_token);
    expect(await api.call('POST', `${V3}/refresh`, {}, { body: { refresh_token: 'not-a-token' }, status: 401 })).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    expect(await api.call('POST', `${V3}/login`, {}, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' }, status: 403 })).toMatchObject({
      errcode: 'M_FORBIDDEN',
    });

    expect(await api.call('GET', `${V3}/account/whoami`, {}, { token: refreshed.access_token })).toEqual({ user_id: alice.user_id, device_id: login.device_id, is_guest: false });
    expect(await api.call('GET', `${V3}/account/whoami`, {}, { status: 401 })).toMatchObject({ errcode: 'M_MISSING_TOKEN' });

    const loginToken = await withPassword('POST', '/_matrix/client/v1/login/get_token', {}, alice);
    expect(loginToken).toEqual({ login_token: expect.any(String), expires_in_ms: expect.any(Number) });
    const byToken = await api.call<{ access_token: string }>('POST', `${V3}/login`, {}, { body: { type: 'm.login.token', token: loginToken['login_token'] } });
    expect(await api.call('POST', `${V3}/logout`, {}, { token: byToken.access_token, body: {} })).toEqual({});
    expect(await api.call('POST', `${V3}/logout`, {}, { token: refreshed.access_token, body: {} })).toEqual({});
  });

  it('devices, with the fields a client reads (null when unknown, as Synapse sends them)', async () => {
    const { devices } = await api.call<{ devices: Json[] }>('GET', `${V3}/devices`, {}, { token: alice.access_token });
    expect(devices).toEqual([{ device_id: alice.device_id, display_name: 'alice phone', last_seen_ip: '127.0.0.1', last_seen_ts: expect.any(Number) }]);
    expect(await api.call('GET', `${V3}/devices/{deviceId}`, { deviceId: alice.device_id }, { token: alice.access_token })).toEqual(devices[0]);
    expect(await api.call('PUT', `${V3}/devices/{deviceId}`, { deviceId: alice.device_id }, { token: alice.access_token, body: { display_name: 'phone' } })).toEqual({});
    expect(await api.call('GET', `${V3}/devices/{deviceId}`, { deviceId: 'NOSUCHDEVICE' }, { token: alice.access_token, status: 404 })).toMatchObject({ errcode: 'M_NOT_FOUND' });
    expect(await api.call('PUT', `${V3}/devices/{deviceId}`, { deviceId: 'NOSUCHDEVICE' }, { token: alice.access_token, body: { display_name: 'x' }, status: 404 })).toMatchObject({
      errcode: 'M_NOT_FOUND',
    });

    const unnamed = await api.call<{ device_id: string }>('POST', `${V3}/login`, {}, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password } });
    const bobs = await api.call<{ devices: Json[] }>('GET', `${V3}/devices`, {}, { token: bob.access_token, nullMeansAbsent: ['display_name', 'last_seen_ip', 'last_seen_ts'] });
    // The second device has no name and was never used: its fields are there, null.
    expect(bobs.devices.find((d) => d['device_id'] === unnamed.device_id)).toEqual({ device_id: unnamed.device_id, display_name: null, last_seen_ip: null, last_seen_ts: null });

    expect(await withPassword('DELETE', `${V3}/devices/{deviceId}`, { deviceId: unnamed.device_id }, bob)).toEqual({});
    const more = await api.call<{ device_id: string }>('POST', `${V3}/login`, {}, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password } });
    expect(await withPassword('POST', `${V3}/delete_devices`, {}, bob, { devices: [more.device_id] })).toEqual({});
  });

  it('profiles, account and capabilities', async () => {
    const userId = alice.user_id;
    expect(await api.call('PUT', `${V3}/profile/{userId}/{keyName}`, { userId, keyName: 'displayname' }, { token: alice.access_token, body: { displayname: 'Alice' } })).toEqual({});
    await api.call('PUT', `${V3}/profile/{userId}/{keyName}`, { userId, keyName: 'avatar_url' }, { token: alice.access_token, body: { avatar_url: 'mxc://openapi.test/avatar' } });
    expect(await api.call('GET', `${V3}/profile/{userId}`, { userId }, { token: alice.access_token })).toEqual({ displayname: 'Alice', avatar_url: 'mxc://openapi.test/avatar' });
    expect(await api.call('GET', `${V3}/profile/{userId}/{keyName}`, { userId, keyName: 'displayname' }, { token: alice.access_token })).toEqual({ displayname: 'Alice' });
    expect(await api.call('DELETE', `${V3}/profile/{userId}/{keyName}`, { userId, keyName: 'avatar_url' }, { token: alice.access_token })).toEqual({});
    await api.call('GET', `${V3}/profile/{userId}/{keyName}`, { userId, keyName: 'avatar_url' }, { token: alice.access_token, status: 404 });
    await api.call('GET', `${V3}/profile/{userId}`, { userId: `@nobody:${SERVER}` }, { token: alice.access_token, status: 404 });
    await api.call('PUT', `${V3}/profile/{userId}/{keyName}`, { userId: bob.user_id, keyName: 'displayname' }, { token: alice.access_token, body: { displayname: 'Not Bob' }, status: 403 });

    expect(await api.call('GET', `${V3}/account/3pid`, {}, { token: alice.access_token })).toEqual({ threepids: [] });
    const { capabilities } = await api.call<{ capabilities: Json }>('GET', `${V3}/capabilities`, {}, { token: alice.access_token });
    expect(capabilities).toMatchObject({ 'm.change_password': { enabled: true }, 'm.room_versions': { default: '12' } });
    expect(await withPassword('POST', `${V3}/account/password`, {}, carol, { new_password: 'carol-password-2', logout_devices: false })).toEqual({});
    carol = { ...carol, password: 'carol-password-2' };
  });

  it('filters, account data and tags', async () => {
    const userId = alice.user_id;
    const filter = { room: { timeline: { limit: 10 } }, presence: { not_types: ['*'] } };
    const { filter_id } = await api.call<{ filter_id: string }>('POST', `${V3}/user/{userId}/filter`, { userId }, { token: alice.access_token, body: filter });
    expect(await api.call('GET', `${V3}/user/{userId}/filter/{filterId}`, { userId, filterId: filter_id }, { token: alice.access_token })).toEqual(filter);
    await api.call('GET', `${V3}/user/{userId}/filter/{filterId}`, { userId, filterId: '999999' }, { token: alice.access_token, status: 404 });

    expect(await api.call('PUT', `${V3}/user/{userId}/account_data/{type}`, { userId, type: 'org.example.settings' }, { token: alice.access_token, body: { theme: 'dark' } })).toEqual({});
    expect(await api.call('GET', `${V3}/user/{userId}/account_data/{type}`, { userId, type: 'org.example.settings' }, { token: alice.access_token })).toEqual({ theme: 'dark' });
    await api.call('GET', `${V3}/user/{userId}/account_data/{type}`, { userId, type: 'org.example.none' }, { token: alice.access_token, status: 404 });
    await api.call('PUT', `${V3}/user/{userId}/account_data/{type}`, { userId, type: 'm.fully_read' }, { token: alice.access_token, body: {}, status: 405 });
    await api.call('GET', `${V3}/user/{userId}/account_data/{type}`, { userId: bob.user_id, type: 'org.example.settings' }, { token: alice.access_token, status: 403 });
  });

  it('rooms: creation, state, messages, history and the directory', async () => {
    const token = alice.access_token;
    const created = await api.call<{ room_id: string }>('POST', `${V3}/createRoom`, {}, {
      token,
      body: { preset: 'public_chat', name: 'OpenAPI', topic: 'Shapes', room_alias_name: 'openapi', visibility: 'public' },
    });
    roomId = created.room_id;
    expect(await api.call('POST', `${V3}/createRoom`, {}, { token, body: { room_version: '999' }, status: 400 })).toMatchObject({ errcode: 'M_UNSUPPORTED_ROOM_VERSION' });

    messageId = (await api.call<{ event_id: string }>('PUT', `${V3}/rooms/{roomId}/send/{eventType}/{txnId}`, { roomId, eventType: 'm.room.message', txnId: 't1' }, { token, body: { msgtype: 'm.text', body: 'hello' } })).event_id;
    await api.call('POST', `${V3}/rooms/{roomId}/send/{eventType}`, { roomId, eventType: 'm.room.message' }, {
      token,
      body: { msgtype: 'm.text', body: 'without a transaction ID' },
      spec: `PUT ${V3}/rooms/{roomId}/send/{eventType}/{txnId}`,
    });
    await api.call('PUT', `${V3}/rooms/{roomId}/send/{eventType}/{txnId}`, { roomId, eventType: 'm.room.message', txnId: 't2' }, { token: bob.access_token, body: { msgtype: 'm.text', body: 'no' }, status: 403 });

    const stateKeyed = `${V3}/rooms/{roomId}/state/{eventType}/{stateKey}`;
    await api.call('PUT', stateKeyed, { roomId, eventType: 'org.example.state', stateKey: 'k' }, { token, body: { value: 1 } });
    await api.call('PUT', `${V3}/rooms/{roomId}/state/{eventType}`, { roomId, eventType: 'm.room.topic' }, { token, body: { topic: 'Response shapes' }, spec: `PUT ${stateKeyed}` });
    expect(await api.call('GET', stateKeyed, { roomId, eventType: 'org.example.state', stateKey: 'k' }, { token })).toEqual({ value: 1 });
    expect(await api.call('GET', `${V3}/rooms/{roomId}/state/{eventType}`, { roomId, eventType: 'm.room.topic' }, { token, spec: `GET ${stateKeyed}` })).toEqual({ topic: 'Response shapes' });
    await api.call('GET', stateKeyed, { roomId, eventType: 'org.example.none', stateKey: '' }, { token, status: 404 });
    await api.call('PUT', stateKeyed, { roomId, eventType: 'm.room.name', stateKey: '' }, { token: bob.access_token, body: { name: 'no' }, status: 403 });
    const state = await api.call<Json[]>('GET', `${V3}/rooms/{roomId}/state`, { roomId }, { token });
    expect(state.map((e) => e['type'])).toEqual(expect.arrayContaining(['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.topic']));

    const aliasName = `#openapi:${SERVER}`;
    expect(await api.call('GET', `${V3}/directory/room/{roomAlias}`, { roomAlias: aliasName }, { token })).toEqual({ room_id: roomId, servers: [SERVER] });
    expect(await api.call('PUT', `${V3}/directory/room/{roomAlias}`, { roomAlias: `#second:${SERVER}` }, { token, body: { room_id: roomId } })).toEqual({});
    await api.call('PUT', `${V3}/directory/room/{roomAlias}`, { roomAlias: `#second:${SERVER}` }, { token, body: { room_id: roomId }, status: 409 });
    expect(await api.call('GET', `${V3}/rooms/{roomId}/aliases`, { roomId }, { token })).toEqual({ aliases: [aliasName, `#second:${SERVER}`] });
    expect(await api.call('DELETE', `${V3}/directory/room/{roomAlias}`, { roomAlias: `#second:${SERVER}` }, { token })).toEqual({});
    await api.call('GET', `${V3}/directory/room/{roomAlias}`, { roomAlias: `#second:${SERVER}` }, { token, status: 404 });
    await api.call('DELETE', `${V3}/directory/room/{roomAlias}`, { roomAlias: `#second:${SERVER}` }, { token, status: 404 });
    expect(await api.call('GET', `${V3}/directory/list/room/{roomId}`, { roomId })).toEqual({ visibility: 'public' });
    expect(await api.call('PUT', `${V3}/directory/list/room/{roomId}`, { roomId }, { token, body: { visibility: 'public' } })).toEqual({});
    await api.call('GET', `${V3}/directory/list/room/{roomId}`, { roomId: `!unknown:${SERVER}` }, { status: 404 });
    const rooms = await api.call<{ chunk: Json[] }>('GET', `${V3}/publicRooms`);
    expect(rooms.chunk).toEqual([expect.objectContaining({ room_id: roomId, name: 'OpenAPI', topic: 'Response shapes', num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: 'public', canonical_alias: aliasName })]);
    await api.call('POST', `${V3}/publicRooms`, {}, { token, body: { limit: 1, filter: { generic_search_term: 'open' } } });
  });

  it('memberships, from join to forget', async () => {
    expect(await api.call('POST', `${V3}/join/{roomIdOrAlias}`, { roomIdOrAlias: `#openapi:${SERVER}` }, { token: bob.access_token, body: {} })).toEqual({ room_id: roomId });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/invite`, { roomId }, { token: alice.access_token, body: { user_id: carol.user_id } })).toEqual({});
    expect(await api.call('POST', `${V3}/rooms/{roomId}/join`, { roomId }, { token: carol.access_token, body: {} })).toEqual({ room_id: roomId });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/kick`, { roomId }, { token: alice.access_token, body: { user_id: carol.user_id, reason: 'shapes' } })).toEqual({});
    expect(await api.call('POST', `${V3}/rooms/{roomId}/ban`, { roomId }, { token: alice.access_token, body: { user_id: carol.user_id } })).toEqual({});
    await api.call('POST', `${V3}/rooms/{roomId}/join`, { roomId }, { token: carol.access_token, body: {}, status: 403 });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/unban`, { roomId }, { token: alice.access_token, body: { user_id: carol.user_id } })).toEqual({});
    await api.call('POST', `${V3}/rooms/{roomId}/kick`, { roomId }, { token: bob.access_token, body: { user_id: alice.user_id }, status: 403 });
    await api.call('POST', `${V3}/rooms/{roomId}/ban`, { roomId }, { token: bob.access_token, body: { user_id: alice.user_id }, status: 403 });
    await api.call('POST', `${V3}/rooms/{roomId}/unban`, { roomId }, { token: bob.access_token, body: { user_id: carol.user_id }, status: 403 });
    await api.call('POST', `${V3}/rooms/{roomId}/invite`, { roomId }, { token: carol.access_token, body: { user_id: bob.user_id }, status: 403 });

    const members = await api.call<{ chunk: Json[] }>('GET', `${V3}/rooms/{roomId}/members`, { roomId }, { token: alice.access_token });
    expect(members.chunk.map((e) => [e['state_key'], (e['content'] as Json)['membership']])).toEqual(
      expect.arrayContaining([[alice.user_id, 'join'], [bob.user_id, 'join'], [carol.user_id, 'leave']]),
    );
    const joined = await api.call<{ joined: Record<string, Json> }>('GET', `${V3}/rooms/{roomId}/joined_members`, { roomId }, { token: alice.access_token, nullMeansAbsent: ['display_name', 'avatar_url'] });
    // Both keys are there, null when unknown, as Synapse sends them and matrix-nio requires.
    expect(joined.joined).toEqual({ [alice.user_id]: { display_name: 'Alice', avatar_url: null }, [bob.user_id]: { display_name: 'bob', avatar_url: null } });
    await api.call('GET', `${V3}/rooms/{roomId}/joined_members`, { roomId }, { token: carol.access_token, status: 403 });
    await api.call('GET', `${V3}/rooms/{roomId}/members`, { roomId: `!unknown:${SERVER}` }, { token: carol.access_token, status: 403 });
    expect(await api.call('GET', `${V3}/joined_rooms`, {}, { token: bob.access_token })).toEqual({ joined_rooms: [roomId] });

    const knockRoom = (await api.call<{ room_id: string }>('POST', `${V3}/createRoom`, {}, { token: alice.access_token, body: { initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] } })).room_id;
    expect(await api.call('POST', `${V3}/knock/{roomIdOrAlias}`, { roomIdOrAlias: knockRoom }, { token: carol.access_token, body: { reason: 'let me in' } })).toEqual({ room_id: knockRoom });
    await api.call('POST', `${V3}/knock/{roomIdOrAlias}`, { roomIdOrAlias: roomId }, { token: carol.access_token, body: {}, status: 403 });

    expect(await api.call('POST', `${V3}/rooms/{roomId}/forget`, { roomId }, { token: bob.access_token, body: {}, status: 400 })).toMatchObject({ errcode: 'M_UNKNOWN' });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/leave`, { roomId }, { token: bob.access_token, body: {} })).toEqual({});
    expect(await api.call('POST', `${V3}/rooms/{roomId}/forget`, { roomId }, { token: bob.access_token, body: {} })).toEqual({});
    expect(await api.call('POST', `${V3}/join/{roomIdOrAlias}`, { roomIdOrAlias: roomId }, { token: bob.access_token, body: {} })).toEqual({ room_id: roomId });
  });

  it('history: events, messages, context and redactions', async () => {
    const token = alice.access_token;
    const event = await api.call<Json>('GET', `${V3}/rooms/{roomId}/event/{eventId}`, { roomId, eventId: messageId }, { token });
    expect(event).toMatchObject({ event_id: messageId, room_id: roomId, sender: alice.user_id, type: 'm.room.message', origin_server_ts: expect.any(Number), unsigned: expect.any(Object) });
    await api.call('GET', `${V3}/rooms/{roomId}/event/{eventId}`, { roomId, eventId: '$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { token, status: 404 });

    const page = await api.call<{ chunk: Json[]; start: string; end?: string; state?: Json[] }>('GET', `${V3}/rooms/{roomId}/messages`, { roomId }, { token, query: { dir: 'b', limit: '3' } });
    expect(page.chunk).toHaveLength(3);
    expect(page).toMatchObject({ start: expect.any(String), end: expect.any(String) });
    const lazy = await api.call<{ state?: Json[] }>('GET', `${V3}/rooms/{roomId}/messages`, { roomId }, { token, query: { dir: 'b', limit: '2', filter: JSON.stringify({ lazy_load_members: true }) } });
    expect(lazy.state?.map((e) => e['type'])).toEqual(expect.arrayContaining(['m.room.member']));
    const end = await api.call<{ chunk: Json[]; end?: string }>('GET', `${V3}/rooms/{roomId}/messages`, { roomId }, { token, query: { dir: 'f', from: page.start } });
    expect(end).toEqual({ chunk: [], start: page.start });
    const privateRoom = (await api.call<{ room_id: string }>('POST', `${V3}/createRoom`, {}, { token, body: { preset: 'private_chat' } })).room_id;
    await api.call('GET', `${V3}/rooms/{roomId}/messages`, { roomId: privateRoom }, { token: bob.access_token, query: { dir: 'b' }, status: 403 });

    const context = await api.call<Json>('GET', `${V3}/rooms/{roomId}/context/{eventId}`, { roomId, eventId: messageId }, { token, query: { limit: '2' } });
    expect(context).toMatchObject({ event: { event_id: messageId }, start: expect.any(String), end: expect.any(String), events_before: expect.any(Array), events_after: expect.any(Array), state: expect.any(Array) });

    const redaction = await api.call<{ event_id: string }>('PUT', `${V3}/rooms/{roomId}/redact/{eventId}/{txnId}`, { roomId, eventId: messageId, txnId: 'r1' }, { token, body: { reason: 'shapes' } });
    expect(redaction.event_id).toMatch(/^\$/);
  });

  it('receipts, read markers, typing, to-device and presence', async () => {
    const token = bob.access_token;
    expect(await api.call('POST', `${V3}/rooms/{roomId}/receipt/{receiptType}/{eventId}`, { roomId, receiptType: 'm.read', eventId: messageId }, { token, body: {} })).toEqual({});
    await api.call('POST', `${V3}/rooms/{roomId}/receipt/{receiptType}/{eventId}`, { roomId, receiptType: 'm.unknown', eventId: messageId }, { token, body: {}, status: 400 });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/read_markers`, { roomId }, { token, body: { 'm.fully_read': messageId, 'm.read': messageId } })).toEqual({});
    expect(await api.call('PUT', `${V3}/rooms/{roomId}/typing/{userId}`, { roomId, userId: bob.user_id }, { token, body: { typing: true, timeout: 1000 } })).toEqual({});
    expect(
      await api.call('PUT', `${V3}/sendToDevice/{eventType}/{txnId}`, { eventType: 'org.example.ping', txnId: 'd1' }, { token, body: { messages: { [alice.user_id]: { [alice.device_id]: { n: 1 } } } } }),
    ).toEqual({});

    expect(await api.call('PUT', `${V3}/presence/{userId}/status`, { userId: bob.user_id }, { token, body: { presence: 'online', status_msg: 'here' } })).toEqual({});
    expect(await api.call('GET', `${V3}/presence/{userId}/status`, { userId: bob.user_id }, { token: alice.access_token })).toMatchObject({
      presence: 'online',
      status_msg: 'here',
      currently_active: true,
      last_active_ago: expect.any(Number),
    });
    await api.call('GET', `${V3}/presence/{userId}/status`, { userId: `@nobody:${SERVER}` }, { token, status: 403 });

    const tags = `${V3}/user/{userId}/rooms/{roomId}/tags`;
    expect(await api.call('PUT', `${tags}/{tag}`, { userId: bob.user_id, roomId, tag: 'm.favourite' }, { token, body: { order: 0.25 } })).toEqual({});
    expect(await api.call('GET', tags, { userId: bob.user_id, roomId }, { token })).toEqual({ tags: { 'm.favourite': { order: 0.25 } } });
    expect(await api.call('DELETE', `${tags}/{tag}`, { userId: bob.user_id, roomId, tag: 'm.favourite' }, { token })).toEqual({});
    const roomData = `${V3}/user/{userId}/rooms/{roomId}/account_data/{type}`;
    expect(await api.call('PUT', roomData, { userId: bob.user_id, roomId, type: 'org.example.room' }, { token, body: { x: 1 } })).toEqual({});
    expect(await api.call('GET', roomData, { userId: bob.user_id, roomId, type: 'org.example.room' }, { token })).toEqual({ x: 1 });
    await api.call('GET', roomData, { userId: bob.user_id, roomId, type: 'org.example.none' }, { token, status: 404 });
  });

  it('push rules', async () => {
    const token = alice.access_token;
    const all = await api.call<{ global: Json }>('GET', `${V3}/pushrules/`, {}, { token });
    expect(await api.call('GET', `${V3}/pushrules/global/`, {}, { token })).toEqual(all.global);
    const rule = `${V3}/pushrules/global/{kind}/{ruleId}`;
    expect(await api.call('GET', rule, { kind: 'override', ruleId: '.m.rule.master' }, { token })).toMatchObject({ rule_id: '.m.rule.master', default: true, enabled: false });
    expect(await api.call('GET', `${rule}/enabled`, { kind: 'override', ruleId: '.m.rule.master' }, { token })).toEqual({ enabled: false });
    expect(await api.call('GET', `${rule}/actions`, { kind: 'underride', ruleId: '.m.rule.message' }, { token })).toEqual({ actions: ['notify'] });
    await api.call('GET', rule, { kind: 'override', ruleId: 'no.such.rule' }, { token, status: 404 });
  });

  it('third-party networks: none offered', async () => {
    const token = alice.access_token;
    expect(await api.call('GET', `${V3}/thirdparty/protocols`, {}, { token })).toEqual({});
    await api.call('GET', `${V3}/thirdparty/protocol/{protocol}`, { protocol: 'irc' }, { token, status: 404 });
    await api.call('GET', `${V3}/thirdparty/location/{protocol}`, { protocol: 'irc' }, { token, status: 404 });
    await api.call('GET', `${V3}/thirdparty/user/{protocol}`, { protocol: 'irc' }, { token, status: 404 });
    await api.call('GET', `${V3}/thirdparty/location`, {}, { token, query: { alias: `#openapi:${SERVER}` }, status: 404 });
    await api.call('GET', `${V3}/thirdparty/user`, {}, { token, query: { userid: alice.user_id }, status: 404 });
  });

  it('OpenID, TURN, the user directory, room summaries and reports', async () => {
    const token = alice.access_token;
    const openId = await api.call<{ access_token: string }>('POST', `${V3}/user/{userId}/openid/request_token`, { userId: alice.user_id }, { token, body: {} });
    expect(openId).toMatchObject({ token_type: 'Bearer', matrix_server_name: SERVER });
    expect(await api.call('GET', `${V3}/voip/turnServer`, {}, { token })).toMatchObject({ uris: ['turn:turn.openapi.test:3478?transport=udp'], ttl: 3600 });

    const { room_id: room } = await api.call<{ room_id: string }>('POST', `${V3}/createRoom`, {}, { token, body: { preset: 'public_chat', name: 'Summarised' } });
    await api.call('POST', `${V3}/join/{roomIdOrAlias}`, { roomIdOrAlias: room }, { token: bob.access_token, body: {} });
    const { event_id: eventId } = await api.call<{ event_id: string }>('PUT', `${V3}/rooms/{roomId}/send/{eventType}/{txnId}`, { roomId: room, eventType: 'm.room.message', txnId: 'report-me' }, { token, body: { msgtype: 'm.text', body: 'spam' } });
    // The directory is a read model of the room output: bob appears once it has applied the join.
    let results: { user_id: string }[] = [];
    for (let attempt = 0; attempt < 50 && !results.some((r) => r.user_id === bob.user_id); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      results = (await api.call<{ results: { user_id: string }[]; limited: boolean }>('POST', `${V3}/user_directory/search`, {}, { token, body: { search_term: 'bob' } })).results;
    }
    expect(results.map((r) => r.user_id)).toContain(bob.user_id);

    const summary = `/_matrix/client/v1/room_summary/{roomIdOrAlias}`;
    expect(await api.call('GET', summary, { roomIdOrAlias: room }, { token })).toMatchObject({ room_id: room, name: 'Summarised', num_joined_members: 2, join_rule: 'public' });
    // Synapse's unstable MSC3266 paths answer the same body as the stable one.
    for (const unstable of ['/_matrix/client/unstable/im.nheko.summary/summary/{roomIdOrAlias}', '/_matrix/client/unstable/im.nheko.summary/rooms/{roomIdOrAlias}/summary']) {
      expect(await api.call('GET', unstable, { roomIdOrAlias: room }, { token, spec: `GET ${summary}` })).toMatchObject({ room_id: room });
    }
    // A room this server is not in: with servers to ask (none answers yet: no federation), 404.
    await api.call('GET', summary, { roomIdOrAlias: `!nowhere:${SERVER}` }, { token, query: { via: 'elsewhere.test' }, status: 404 });

    expect(await api.call('POST', `${V3}/rooms/{roomId}/report/{eventId}`, { roomId: room, eventId }, { token: bob.access_token, body: { reason: 'spam', score: -100 } })).toEqual({});
    await api.call('POST', `${V3}/rooms/{roomId}/report/{eventId}`, { roomId: room, eventId: `$nothere:${SERVER}` }, { token: bob.access_token, body: { reason: 'spam' }, status: 404 });
    expect(await api.call('POST', `${V3}/rooms/{roomId}/report`, { roomId: room }, { token: bob.access_token, body: { reason: 'a room of spam' } })).toEqual({});
    await api.call('POST', `${V3}/rooms/{roomId}/report`, { roomId: `!nowhere:${SERVER}` }, { token: bob.access_token, body: { reason: 'x' }, status: 404 });
    expect(await api.call('POST', `${V3}/users/{userId}/report`, { userId: alice.user_id }, { token: bob.access_token, body: { reason: 'spammer' } })).toEqual({});
  });

  it('sync: joined, invited, knocked and left rooms with the fields clients read', async () => {
    const first = await api.call<Json>('GET', `${V3}/sync`, {}, { token: alice.access_token, query: { full_state: 'true' } });
    const join = (first['rooms'] as { join: Record<string, Json> }).join[roomId]!;
    expect(join).toMatchObject({
      summary: { 'm.joined_member_count': 2, 'm.invited_member_count': 0 },
      timeline: { events: expect.any(Array), limited: expect.any(Boolean), prev_batch: expect.any(String) },
      state: { events: expect.any(Array) },
      account_data: { events: expect.any(Array) },
      ephemeral: { events: expect.any(Array) },
    });
    expect(first).toMatchObject({ next_batch: expect.any(String), account_data: { events: expect.any(Array) }, to_device: { events: [expect.objectContaining({ type: 'org.example.ping' })] } });

    type Rooms = { rooms?: { invite?: Record<string, Json>; knock?: Record<string, Json>; leave?: Record<string, Json> }; next_batch: string };
    const carolSync = await api.call<Rooms>('GET', `${V3}/sync`, {}, { token: carol.access_token, query: { filter: JSON.stringify({ room: { include_leave: true } }) } });
    expect(Object.keys(carolSync.rooms?.knock ?? {})).toHaveLength(1);
    expect(carolSync.rooms?.leave?.[roomId]).toMatchObject({ timeline: { events: expect.any(Array), limited: expect.any(Boolean) }, state: { events: expect.any(Array) } });

    const carolRoom = (await api.call<{ room_id: string }>('POST', `${V3}/createRoom`, {}, { token: alice.access_token, body: { invite: [carol.user_id] } })).room_id;
    // The invite reaches the sync service after createRoom answers: a long-poll waits for it.
    let since = carolSync.next_batch;
    let invite: Json | undefined;
    while (invite === undefined) {
      const next = await api.call<Rooms>('GET', `${V3}/sync`, {}, { token: carol.access_token, query: { since, timeout: '5000' } });
      invite = next.rooms?.invite?.[carolRoom];
      since = next.next_batch;
    }
    expect(invite).toEqual({ invite_state: { events: expect.arrayContaining([expect.objectContaining({ type: 'm.room.member', state_key: carol.user_id })]) } });

    await api.call('PUT', `${V3}/rooms/{roomId}/send/{eventType}/{txnId}`, { roomId, eventType: 'm.room.message', txnId: 't3' }, { token: bob.access_token, body: { msgtype: 'm.text', body: 'later' } });
    const next = await api.call<Json>('GET', `${V3}/sync`, {}, { token: alice.access_token, query: { since: first['next_batch'] as string, timeout: '0' } });
    expect((next['rooms'] as { join: Record<string, Json> }).join[roomId]).toMatchObject({ timeline: { events: [expect.objectContaining({ type: 'm.room.message' })], limited: false } });
  });

  it('deactivation and logging out everywhere', async () => {
    const dave = await register('dave');
    expect(await withPassword('POST', `${V3}/account/deactivate`, {}, dave)).toEqual({ id_server_unbind_result: 'no-support' });
    expect(await api.call('POST', `${V3}/logout/all`, {}, { token: carol.access_token, body: {} })).toEqual({});
  });

  it('has validated every Client-Server route the homeserver registers', async () => {
    const isClientServer = (path: string): boolean => path.startsWith('/_matrix/client/') || path === '/.well-known/matrix/client';
    // Nest's controllers, and /sync, which the sync module mounts on Fastify itself (SyncRoute).
    const registered = [...declaredRoutes(HOMESERVER_SERVICES), { method: 'GET', path: SYNC_PATH }]
      .filter((r) => isClientServer(r.path))
      .map((r) => `${r.method} ${r.path}`);
    // Every request above went through the validating client; the server's request
    // metrics say which route answered each and with which status class.
    const metrics = await (await fetch(`${hs.baseUrl}/metrics`)).text();
    const answered = new Map<string, Set<string>>();
    for (const [, method, route, statusClass] of metrics.matchAll(/^hs_homeserver_http_request_duration_seconds_count\{method="(\w+)",route="([^"]+)",status_class="(\w+)"\} [1-9]/gm)) {
      if (!isClientServer(route!)) continue;
      const key = `${method} ${route}`;
      answered.set(key, (answered.get(key) ?? new Set()).add(statusClass!));
    }
    // Routes that by design answer only errors (no bridge is registered: every lookup is unknown).
    const errorOnly = new Set([
      `GET ${V3}/thirdparty/protocol/:protocol`,
      `GET ${V3}/thirdparty/location/:protocol`,
      `GET ${V3}/thirdparty/user/:protocol`,
      `GET ${V3}/thirdparty/location`,
      `GET ${V3}/thirdparty/user`,
    ]);
    const unvalidated = registered.filter((route) => !answered.get(route)?.has(errorOnly.has(route) ? '4xx' : '2xx'));
    expect(unvalidated).toEqual([]);
    // And the route list is the server's: nothing answered that the modules do not declare.
    expect([...answered.keys()].filter((route) => !registered.includes(route))).toEqual([]);
    // The wildcard route serves five of the spec's paths; each was validated on its own.
    expect([...api.validated].filter((key) => key.startsWith(`GET ${V3}/pushrules/`) && key.endsWith(' 200')).sort()).toEqual(
      [`GET ${V3}/pushrules/ 200`, `GET ${V3}/pushrules/global/ 200`, `GET ${V3}/pushrules/global/{kind}/{ruleId} 200`, `GET ${V3}/pushrules/global/{kind}/{ruleId}/actions 200`, `GET ${V3}/pushrules/global/{kind}/{ruleId}/enabled 200`],
    );
  });
});
