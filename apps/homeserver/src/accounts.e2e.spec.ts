import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specErrors, startHomeserver, withoutNulls, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'accounts.test';
let sdk: Sdk;

beforeAll(async () => {
  // The SDK logs every request at debug level; the test output needs none of it.
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

/** A plain HTTP call: status and JSON body. */
async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** The MatrixError an SDK call rejects with. */
async function sdkError(promise: Promise<unknown>): Promise<{ errcode: string; httpStatus: number; data: Json }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(sdk.MatrixError);
  return error as { errcode: string; httpStatus: number; data: Json };
}

function client(hs: HomeserverProcess, session?: { access_token: string; user_id: string; device_id?: string | undefined }): MatrixClient {
  return sdk.createClient({
    baseUrl: hs.baseUrl,
    ...(session ? { accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id } : {}),
  });
}

/** Registers through the UIA dummy flow, checking the 401 against the spec. */
async function register(hs: HomeserverProcess, username: string, password: string, extra: Json = {}): Promise<Json> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password, ...extra } });
  expect(first.status).toBe(401);
  expect(specErrors('client-server', 'POST /_matrix/client/v3/register 401', first.body)).toEqual([]);
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', {
    body: { username, password, ...extra, auth: { type: 'm.login.dummy', session: first.body['session'] } },
  });
  expect(done.status).toBe(200);
  expect(specErrors('client-server', 'POST /_matrix/client/v3/register 200', done.body)).toEqual([]);
  return done.body;
}

async function login(hs: HomeserverProcess, user: string, password: string, extra: Json = {}): Promise<{ access_token: string; user_id: string; device_id: string; refresh_token?: string }> {
  const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; user_id: string; device_id: string };
}

const passwordAuth = (user: string, password: string, session?: unknown) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user },
  password,
  ...(session !== undefined ? { session } : {}),
});

describe('accounts on an open homeserver', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
  });
  afterAll(async () => {
    await hs?.stop();
  });

  it('registers through the dummy flow with matrix-js-sdk, then whoami answers for the new device', async () => {
    const anon = client(hs);
    const first = await sdkError(anon.registerRequest({ username: 'alice', password: 'alice-pw', initial_device_display_name: 'Laptop' }));
    expect(first.httpStatus).toBe(401);
    expect(first.data['flows']).toEqual([{ stages: ['m.login.dummy'] }]);
    expect(first.data).toMatchObject({ params: {}, completed: [] });
    expect(first.data['errcode']).toBeUndefined();
    const registered = await anon.registerRequest({
      username: 'alice',
      password: 'alice-pw',
      initial_device_display_name: 'Laptop',
      // Not in the SDK's RegisterRequest type, but in the spec's request body.
      ...({ device_id: 'ALICEDEV' } as object),
      auth: { type: 'm.login.dummy', session: first.data['session'] as string },
    });
    expect(registered).toMatchObject({ user_id: `@alice:${SERVER}`, device_id: 'ALICEDEV' });
    const alice = client(hs, registered as { access_token: string; user_id: string });
    await expect(alice.whoami()).resolves.toEqual({ user_id: `@alice:${SERVER}`, device_id: 'ALICEDEV', is_guest: false });
    const devices = await alice.getDevices();
    expect(devices.devices).toEqual([expect.objectContaining({ device_id: 'ALICEDEV', display_name: 'Laptop', last_seen_ip: '127.0.0.1' })]);
    expect(typeof devices.devices[0]!.last_seen_ts).toBe('number');
    const whoami = await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: registered.access_token! });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/account/whoami 200', whoami.body)).toEqual([]);
    // Default display name: the localpart.
    await expect(alice.getProfileInfo(`@alice:${SERVER}`)).resolves.toEqual({ displayname: 'alice' });
  });

  it('answers username availability: available, taken, invalid', async () => {
    const anon = client(hs);
    await expect(anon.isUsernameAvailable('nobody-yet')).resolves.toBe(true);
    const available = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=nobody-yet');
    expect(specErrors('client-server', 'GET /_matrix/client/v3/register/available 200', available.body)).toEqual([]);
    await register(hs, 'taken', 'pw-taken');
    const taken = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=taken');
    expect(taken).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_USER_IN_USE' }) as Json });
    const invalid = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=Not%20Valid');
    expect(invalid).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_INVALID_USERNAME' }) as Json });
    const again = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username: 'taken', password: 'x' } });
    expect(again).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_USER_IN_USE' }) as Json });
    const bad = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username: 'sp ace', password: 'x' } });
    expect(bad).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_INVALID_USERNAME' }) as Json });
    // Capitals are taken as lower-case: TAKEN is taken.
    const upper = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=TAKEN');
    expect(upper).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_USER_IN_USE' }) as Json });
  });

  it('registers without logging in (inhibit_login), and refuses guests while guest access is off', async () => {
    const body = await register(hs, 'quiet', 'quiet-pw', { inhibit_login: true });
    expect(body).toEqual({ user_id: `@quiet:${SERVER}` });
    const guest = await call(hs, 'POST', '/_matrix/client/v3/register?kind=guest', { body: {} });
    expect(guest).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_GUEST_ACCESS_FORBIDDEN' }) as Json });
  });

  it('logs in with every user identifier form and refuses wrong passwords and third-party identifiers', async () => {
    await register(hs, 'bob', 'bob-pw', { inhibit_login: true });
    const flows = await call(hs, 'GET', '/_matrix/client/v3/login');
    expect(specErrors('client-server', 'GET /_matrix/client/v3/login 200', flows.body)).toEqual([]);
    expect(flows.body['flows']).toEqual(expect.arrayContaining([{ type: 'm.login.password' }, { type: 'm.login.token', get_login_token: true }]));

    const anon = client(hs);
    const byLocalpart = await anon.loginWithPassword('bob', 'bob-pw');
    expect(byLocalpart.user_id).toBe(`@bob:${SERVER}`);
    const byMxid = await anon.login('m.login.password', { identifier: { type: 'm.id.user', user: `@bob:${SERVER}` }, password: 'bob-pw' });
    expect(byMxid.user_id).toBe(`@bob:${SERVER}`);
    const legacy = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'bob', password: 'bob-pw' } });
    expect(legacy.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/login 200', legacy.body)).toEqual([]);
    expect(new Set([byLocalpart.device_id, byMxid.device_id, legacy.body['device_id']]).size).toBe(3);

    const wrong = await sdkError(anon.loginWithPassword('bob', 'not-bob-pw'));
    expect([wrong.httpStatus, wrong.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const unknown = await sdkError(anon.loginWithPassword('nobody', 'bob-pw'));
    expect([unknown.httpStatus, unknown.errcode]).toEqual([403, 'M_FORBIDDEN']);
    for (const identifier of [
      { type: 'm.id.thirdparty', medium: 'email', address: 'bob@example.org' },
      { type: 'm.id.phone', country: 'GB', phone: '07700900001' },
    ]) {
      const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier, password: 'bob-pw' } });
      expect(res).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
      expect(specErrors('client-server', 'Error', res.body)).toEqual([]);
    }
    const badType = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.magic' } });
    expect(badType.status).toBe(400);
  });

  it('answers M_MISSING_TOKEN and M_UNKNOWN_TOKEN, and accepts the access_token query parameter', async () => {
    const missing = await call(hs, 'GET', '/_matrix/client/v3/account/whoami');
    expect(missing).toEqual({ status: 401, body: expect.objectContaining({ errcode: 'M_MISSING_TOKEN' }) as Json });
    const unknown = await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: 'axo_not-a-token' });
    expect(unknown).toEqual({ status: 401, body: expect.objectContaining({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false }) as Json });
    const session = await login(hs, 'bob', 'bob-pw');
    const res = await fetch(`${hs.baseUrl}/_matrix/client/v3/account/whoami?access_token=${encodeURIComponent(session.access_token)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: `@bob:${SERVER}` });
  });

  it('offers no third-party protocols (no bridge is registered) and finds no bridged user or location', async () => {
    const dora = (await register(hs, 'dora', 'dora-pw')) as { access_token: string };
    const token = dora.access_token;
    expect((await call(hs, 'GET', '/_matrix/client/v3/thirdparty/protocols')).status).toBe(401);
    const protocols = await call(hs, 'GET', '/_matrix/client/v3/thirdparty/protocols', { token });
    expect(protocols).toEqual({ status: 200, body: {} });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/thirdparty/protocols 200', protocols.body)).toEqual([]);
    for (const path of ['protocol/irc', 'location/irc?channel=%23matrix', 'user/irc?nick=dora', 'location?alias=%23room%3Aexample.test', 'user?userid=%40dora%3Aexample.test']) {
      const res = await call(hs, 'GET', `/_matrix/client/v3/thirdparty/${path}`, { token });
      expect([path, res.status, res.body['errcode']]).toEqual([path, 404, 'M_NOT_FOUND']);
    }
  });

  it('lists, renames and deletes devices, deletion behind UIA with the password', async () => {
    await register(hs, 'carol', 'carol-pw', { inhibit_login: true });
    const one = await login(hs, 'carol', 'carol-pw');
    const two = await login(hs, 'carol', 'carol-pw');
    const three = await login(hs, 'carol', 'carol-pw');
    const carol = client(hs, one);
    const list = await call(hs, 'GET', '/_matrix/client/v3/devices', { token: one.access_token });
    // Unknown names and last-seen fields come as null (as Synapse sends them, matrix-nio requires the keys), where the schema has them absent.
    expect(specErrors('client-server', 'GET /_matrix/client/v3/devices 200', withoutNulls(list.body, ['display_name', 'last_seen_ip', 'last_seen_ts']))).toEqual([]);
    for (const device of list.body['devices'] as Json[]) expect(Object.keys(device).sort()).toEqual(['device_id', 'display_name', 'last_seen_ip', 'last_seen_ts']);
    expect((list.body['devices'] as Json[]).map((d) => d['device_id']).sort()).toEqual([one.device_id, two.device_id, three.device_id].sort());

    await carol.setDeviceDetails(two.device_id, { display_name: 'Phone' });
    const device = await call(hs, 'GET', `/_matrix/client/v3/devices/${two.device_id}`, { token: one.access_token });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/devices/{deviceId} 200', withoutNulls(device.body, ['last_seen_ip', 'last_seen_ts']))).toEqual([]);
    // Never used since it logged in: not seen yet, null as Synapse sends it.
    expect(device.body).toEqual({ device_id: two.device_id, display_name: 'Phone', last_seen_ip: null, last_seen_ts: null });
    expect((await call(hs, 'GET', '/_matrix/client/v3/devices/NOSUCH', { token: one.access_token })).status).toBe(404);
    // A device ID with NUL is no device ID: refused before any service sees it, by the HTTP
    // edge like every malformed path parameter (M_INVALID_PARAM); in the distributed
    // deployment nginx refuses %00 in a path itself, with a 400 page of its own, while it
    // reads the request line (too early for an error_page: it answers 500 "empty URI").
    const nul = await fetch(`${hs.baseUrl}/_matrix/client/v3/devices/A%00B`, { headers: { authorization: `Bearer ${one.access_token}` } });
    expect(nul.status).toBe(400);
    if (process.env['AXON_TEST_DISTRIBUTED'] !== '1') expect(((await nul.json()) as Json)['errcode']).toBe('M_INVALID_PARAM');

    const challenge = await sdkError(carol.deleteDevice(two.device_id));
    expect(challenge.httpStatus).toBe(401);
    expect(challenge.data['flows']).toEqual([{ stages: ['m.login.password'] }]);
    const wrong = await sdkError(carol.deleteDevice(two.device_id, passwordAuth('carol', 'nope', challenge.data['session'])));
    expect([wrong.httpStatus, wrong.errcode]).toEqual([401, 'M_FORBIDDEN']);
    expect(wrong.data['session']).toBe(challenge.data['session']);
    await carol.deleteDevice(two.device_id, passwordAuth('carol', 'carol-pw', challenge.data['session']));
    const dead = await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: two.access_token });
    expect(dead.body['errcode']).toBe('M_UNKNOWN_TOKEN');

    const many = await sdkError(carol.deleteMultipleDevices([three.device_id]));
    await carol.deleteMultipleDevices([three.device_id], passwordAuth(`@carol:${SERVER}`, 'carol-pw', many.data['session']));
    expect((await carol.getDevices()).devices.map((d) => d.device_id)).toEqual([one.device_id]);
  });

  it('changes the password with UIA and logs out every other device', async () => {
    await register(hs, 'dave', 'old-pw', { inhibit_login: true });
    const keep = await login(hs, 'dave', 'old-pw');
    const other = await login(hs, 'dave', 'old-pw');
    const dave = client(hs, keep);
    const challenge = await sdkError(dave.setPassword({}, 'new-pw'));
    expect(challenge.httpStatus).toBe(401);
    await dave.setPassword(passwordAuth('dave', 'old-pw', challenge.data['session']), 'new-pw');
    expect((await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: other.access_token })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    await expect(dave.whoami()).resolves.toMatchObject({ device_id: keep.device_id });
    expect((await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'dave', password: 'old-pw' } })).status).toBe(403);
    await login(hs, 'dave', 'new-pw');
  });

  it('deactivation kills the token at once and the account cannot log in again', async () => {
    await register(hs, 'erin', 'erin-pw', { inhibit_login: true });
    const session = await login(hs, 'erin', 'erin-pw');
    const erin = client(hs, session);
    const challenge = await sdkError(erin.deactivateAccount());
    const done = await call(hs, 'POST', '/_matrix/client/v3/account/deactivate', {
      token: session.access_token,
      body: { auth: passwordAuth('erin', 'erin-pw', challenge.data['session']) },
    });
    expect(done.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/account/deactivate 200', done.body)).toEqual([]);
    expect((await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: session.access_token })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    const again = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'erin', password: 'erin-pw' } });
    expect(again.status).toBe(403);
    expect(['M_USER_DEACTIVATED', 'M_FORBIDDEN']).toContain(again.body['errcode']);
    const taken = await call(hs, 'GET', '/_matrix/client/v3/register/available?username=erin');
    expect(taken.body['errcode']).toBe('M_USER_IN_USE');
  });

  it('logs out one device, then all of them', async () => {
    const a = await login(hs, 'bob', 'bob-pw');
    const b = await login(hs, 'bob', 'bob-pw');
    await client(hs, a).logout();
    expect((await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: a.access_token })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    await expect(client(hs, b).whoami()).resolves.toMatchObject({ device_id: b.device_id });
    const c = await login(hs, 'bob', 'bob-pw');
    expect((await call(hs, 'POST', '/_matrix/client/v3/logout/all', { token: c.access_token, body: {} })).status).toBe(200);
    for (const token of [b.access_token, c.access_token]) {
      expect((await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    }
  });

  it('issues single-use login tokens behind UIA', async () => {
    const session = await login(hs, 'bob', 'bob-pw');
    const bob = client(hs, session);
    const challenge = await sdkError(bob.requestLoginToken());
    expect(challenge.httpStatus).toBe(401);
    const issued = await call(hs, 'POST', '/_matrix/client/v1/login/get_token', {
      token: session.access_token,
      body: { auth: passwordAuth('bob', 'bob-pw', challenge.data['session']) },
    });
    expect(issued.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v1/login/get_token 200', issued.body)).toEqual([]);
    const loggedIn = await client(hs).loginWithToken(issued.body['login_token'] as string);
    expect(loggedIn.user_id).toBe(`@bob:${SERVER}`);
    const reused = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.token', token: issued.body['login_token'] } });
    expect(reused).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
  });

  it('gets and sets profiles, only one’s own', async () => {
    await register(hs, 'frank', 'frank-pw', { inhibit_login: true });
    const frank = client(hs, await login(hs, 'frank', 'frank-pw'));
    await frank.setDisplayName('Frank F.');
    await frank.setAvatarUrl('mxc://accounts.test/frank');
    const profile = await call(hs, 'GET', `/_matrix/client/v3/profile/@frank:${SERVER}`);
    expect(profile.body).toEqual({ displayname: 'Frank F.', avatar_url: 'mxc://accounts.test/frank' });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/profile/{userId} 200', profile.body)).toEqual([]);
    const field = await call(hs, 'GET', `/_matrix/client/v3/profile/@frank:${SERVER}/displayname`);
    expect(field.body).toEqual({ displayname: 'Frank F.' });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/profile/{userId}/{keyName} 200', field.body)).toEqual([]);
    await expect(frank.getProfileInfo(`@frank:${SERVER}`, 'avatar_url')).resolves.toEqual({ avatar_url: 'mxc://accounts.test/frank' });

    const bob = await login(hs, 'bob', 'bob-pw');
    const forbidden = await call(hs, 'PUT', `/_matrix/client/v3/profile/@frank:${SERVER}/displayname`, { token: bob.access_token, body: { displayname: 'Hacked' } });
    expect(forbidden).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
    expect((await call(hs, 'GET', `/_matrix/client/v3/profile/@nobody:${SERVER}`)).status).toBe(404);
    // A path that is no user ID is refused at the HTTP edge, before any lookup.
    expect(await call(hs, 'GET', '/_matrix/client/v3/profile/nobody')).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_INVALID_PARAM' }) as Json });
    expect((await call(hs, 'GET', '/_matrix/client/v3/profile/nobody/displayname')).status).toBe(400);
    expect((await call(hs, 'GET', `/_matrix/client/v3/profile/@frank:${SERVER}/m.tz`)).status).toBe(404);
  });

  it('checks account data paths: a malformed room ID at the edge (M_INVALID_PARAM), then the owner (M_FORBIDDEN)', async () => {
    const session = await login(hs, 'bob', 'bob-pw');
    const path = (user: string, room: string) => `/_matrix/client/v3/user/${encodeURIComponent(user)}/rooms/${encodeURIComponent(room)}/account_data/org.example.x`;
    const room = `!somewhere:${SERVER}`;
    expect(await call(hs, 'PUT', path(`@frank:${SERVER}`, room), { token: session.access_token, body: {} })).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
    expect(await call(hs, 'PUT', path(`@frank:${SERVER}`, 'not-a-room'), { token: session.access_token, body: {} })).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_INVALID_PARAM' }) as Json });
    expect(await call(hs, 'PUT', path(session.user_id, 'not-a-room'), { token: session.access_token, body: {} })).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_INVALID_PARAM' }) as Json });
    expect((await call(hs, 'PUT', path(session.user_id, room), { token: session.access_token, body: { a: 1 } })).status).toBe(200);
    expect(await call(hs, 'GET', path(session.user_id, room), { token: session.access_token })).toEqual({ status: 200, body: { a: 1 } });
  });

  it('stores filters for oneself only, validating their shape', async () => {
    const session = await login(hs, 'bob', 'bob-pw');
    const definition = { room: { timeline: { limit: 10, types: ['m.room.message'] } }, event_format: 'client' };
    const created = await call(hs, 'POST', `/_matrix/client/v3/user/@bob:${SERVER}/filter`, { token: session.access_token, body: definition });
    expect(created.status).toBe(200);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/user/{userId}/filter 200', created.body)).toEqual([]);
    const fetched = await call(hs, 'GET', `/_matrix/client/v3/user/@bob:${SERVER}/filter/${created.body['filter_id'] as string}`, { token: session.access_token });
    expect(fetched.body).toEqual(definition);
    expect(specErrors('client-server', 'GET /_matrix/client/v3/user/{userId}/filter/{filterId} 200', fetched.body)).toEqual([]);
    const sdkFilter = await client(hs, session).getFilter(`@bob:${SERVER}`, created.body['filter_id'] as string, false);
    expect(sdkFilter.getDefinition()).toEqual(definition);

    const invalid = await call(hs, 'POST', `/_matrix/client/v3/user/@bob:${SERVER}/filter`, { token: session.access_token, body: { room: { timeline: { limit: 'ten' } } } });
    expect(invalid).toEqual({ status: 400, body: expect.objectContaining({ errcode: 'M_BAD_JSON' }) as Json });
    const others = await call(hs, 'POST', `/_matrix/client/v3/user/@frank:${SERVER}/filter`, { token: session.access_token, body: {} });
    expect(others.status).toBe(403);
    expect((await call(hs, 'GET', `/_matrix/client/v3/user/@bob:${SERVER}/filter/999999`, { token: session.access_token })).status).toBe(404);
  });

  it('advertises capabilities, including the room versions', async () => {
    const session = await login(hs, 'bob', 'bob-pw');
    const res = await call(hs, 'GET', '/_matrix/client/v3/capabilities', { token: session.access_token });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/capabilities 200', res.body)).toEqual([]);
    const capabilities = await client(hs, session).getCapabilities();
    expect(capabilities).toMatchObject({
      'm.change_password': { enabled: true },
      'm.3pid_changes': { enabled: false },
      'm.get_login_token': { enabled: true },
      'm.room_versions': { default: '12', available: expect.objectContaining({ '1': 'stable', '12': 'stable' }) as Json },
    });
    const threepids = await call(hs, 'GET', '/_matrix/client/v3/account/3pid', { token: session.access_token });
    expect(threepids.body).toEqual({ threepids: [] });
    expect(specErrors('client-server', 'GET /_matrix/client/v3/account/3pid 200', threepids.body)).toEqual([]);
  });

  it('keeps accounts, passwords and profiles across a restart on the same data directory', async () => {
    const dataDir = hs.dataDir;
    const before = await login(hs, 'frank', 'frank-pw');
    await hs.stop();
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' }, { dataDir });
    await expect(client(hs, before).whoami()).resolves.toMatchObject({ user_id: `@frank:${SERVER}` });
    await login(hs, 'frank', 'frank-pw');
    await login(hs, 'dave', 'new-pw');
    expect((await call(hs, 'GET', `/_matrix/client/v3/profile/@frank:${SERVER}`)).body).toMatchObject({ displayname: 'Frank F.' });
  });
});

describe('registration tokens, guests, refresh tokens and rate limits', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-accounts-'));
    const config = join(dir, 'axon.yaml');
    writeFileSync(
      config,
      [
        'registration:',
        '  enabled: true',
        '  guest_access: true',
        '  registration_tokens:',
        '    - token: once-only',
        '      uses_allowed: 1',
        '    - token: long-gone',
        '      expiry_time: 1000',
        'auth:',
        // Long enough for the uses before expiry on a loaded machine; the test waits it out.
        '  access_token_lifetime_ms: 5000',
        'rate_limits:',
        '  enabled: true',
        '  login: { per_second: 0.001, burst_count: 6 }',
        '  registration: { per_second: 100, burst_count: 100 }',
        '  general: { per_second: 100, burst_count: 100 }',
      ].join('\n'),
    );
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_CONFIG: config });
  });
  afterAll(async () => {
    await hs?.stop();
  });

  it('requires a valid registration token, counting its uses', async () => {
    const validity = await call(hs, 'GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=once-only');
    expect(validity.body).toEqual({ valid: true });
    expect(specErrors('client-server', 'GET /_matrix/client/v1/register/m.login.registration_token/validity 200', validity.body)).toEqual([]);
    expect((await call(hs, 'GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=long-gone')).body).toEqual({ valid: false });
    expect((await call(hs, 'GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=unknown')).body).toEqual({ valid: false });

    const anon = client(hs);
    const first = await sdkError(anon.registerRequest({ username: 'tokened', password: 'pw' }));
    expect(first.data['flows']).toEqual([{ stages: ['m.login.registration_token'] }]);
    const dummy = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username: 'tokened', password: 'pw', auth: { type: 'm.login.dummy', session: first.data['session'] } } });
    expect(dummy.status).toBe(400);
    const wrong = await sdkError(
      anon.registerRequest({ username: 'tokened', password: 'pw', auth: { type: 'm.login.registration_token', token: 'long-gone', session: first.data['session'] as string } }),
    );
    expect([wrong.httpStatus, wrong.errcode]).toEqual([401, 'M_FORBIDDEN']);
    const done = await anon.registerRequest({
      username: 'tokened',
      password: 'pw',
      auth: { type: 'm.login.registration_token', token: 'once-only', session: first.data['session'] as string },
    });
    expect(done.user_id).toBe(`@tokened:${SERVER}`);
    expect((await call(hs, 'GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=once-only')).body).toEqual({ valid: false });
    const second = await sdkError(anon.registerRequest({ username: 'second', password: 'pw' }));
    const spent = await sdkError(
      anon.registerRequest({ username: 'second', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once-only', session: second.data['session'] as string } }),
    );
    expect([spent.httpStatus, spent.errcode]).toEqual([401, 'M_FORBIDDEN']);
  });

  it('registers guests when guest access is on', async () => {
    const guest = await call(hs, 'POST', '/_matrix/client/v3/register?kind=guest', { body: {} });
    expect(guest.status).toBe(200);
    const whoami = await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: guest.body['access_token'] as string });
    expect(whoami.body).toMatchObject({ user_id: guest.body['user_id'], is_guest: true });
  });

  it('expires refreshable access tokens with soft_logout, and refreshes them once per refresh token', async () => {
    const session = await login(hs, 'tokened', 'pw', { refresh_token: true });
    expect(session).toMatchObject({ refresh_token: expect.any(String) as string, expires_in_ms: 5000 });
    await expect(client(hs, session).whoami()).resolves.toMatchObject({ user_id: `@tokened:${SERVER}` });
    await new Promise((r) => setTimeout(r, 5_000 + 300));
    const expired = await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: session.access_token });
    expect(expired).toEqual({ status: 401, body: expect.objectContaining({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: true }) as Json });

    const lost = await client(hs).refreshToken(session.refresh_token!);
    expect(specErrors('client-server', 'POST /_matrix/client/v3/refresh 200', lost)).toEqual([]);
    // Spec: the old refresh token stays valid until the new tokens are used (a client
    // that lost the response retries); the retry replaces the pair issued before it.
    const refreshed = await client(hs).refreshToken(session.refresh_token!);
    expect((await call(hs, 'GET', '/_matrix/client/v3/account/whoami', { token: lost.access_token })).body['errcode']).toBe('M_UNKNOWN_TOKEN');
    await expect(client(hs, { ...session, access_token: refreshed.access_token }).whoami()).resolves.toMatchObject({ device_id: session.device_id });
    // The new access token was used: the old refresh token is revoked now.
    const reused = await call(hs, 'POST', '/_matrix/client/v3/refresh', { body: { refresh_token: session.refresh_token } });
    expect(reused).toEqual({ status: 401, body: expect.objectContaining({ errcode: 'M_UNKNOWN_TOKEN' }) as Json });
    // Using the new refresh token revokes the one it replaced, too.
    const next = await client(hs).refreshToken(refreshed.refresh_token!);
    await client(hs).refreshToken(next.refresh_token!);
    const replaced = await call(hs, 'POST', '/_matrix/client/v3/refresh', { body: { refresh_token: refreshed.refresh_token } });
    expect(replaced.body['errcode']).toBe('M_UNKNOWN_TOKEN');
  });

  it('rate-limits logins with 429 M_LIMIT_EXCEEDED and retry_after_ms', async () => {
    let limited: { status: number; body: Json } | undefined;
    for (let i = 0; i < 8 && !limited; i++) {
      const res = await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'tokened', password: 'wrong' } });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(403);
    }
    expect(limited?.body).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: expect.any(Number) as number });
    expect(limited!.body['retry_after_ms'] as number).toBeGreaterThan(0);
    expect(specErrors('client-server', 'Error', limited!.body)).toEqual([]);
  });
});

describe('open registration on the default rate limits', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true' });
  });
  afterAll(async () => {
    await hs?.stop();
  });

  /** One sign-up as a client goes through it: the 401 with the flows, then the dummy stage. */
  async function signUp(username: string): Promise<{ status: number; body: Json }> {
    const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'a password' } });
    if (first.status !== 401) return first;
    return call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'a password', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  }

  it('counts completed registrations per address, not the steps of each: three in a row, then 429', async () => {
    for (const name of ['first', 'second', 'third']) expect((await signUp(name)).status).toBe(200);
    const fourth = await signUp('fourth');
    expect(fourth).toEqual({ status: 429, body: expect.objectContaining({ errcode: 'M_LIMIT_EXCEEDED' }) as Json });
    expect(fourth.body['retry_after_ms'] as number).toBeGreaterThan(0);
  });
});

describe('closed registration with a shared secret', () => {
  let hs: HomeserverProcess;
  const secret = 'test-shared-secret';
  const mac = (nonce: string, username: string, password: string, admin: boolean) =>
    createHmac('sha1', secret).update(`${nonce}\0${username}\0${password}\0${admin ? 'admin' : 'notadmin'}`).digest('hex');

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_REGISTRATION_SHARED_SECRET: secret, AXON_RATE_LIMITS_ENABLED: 'false' });
  });
  afterAll(async () => {
    await hs?.stop();
  });

  it('refuses open registration with M_FORBIDDEN', async () => {
    const res = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username: 'open', password: 'pw' } });
    expect(res).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
    const err = await sdkError(client(hs).registerRequest({ username: 'open', password: 'pw' }));
    expect(err.errcode).toBe('M_FORBIDDEN');
    const validity = await call(hs, 'GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=x');
    expect(validity.status).toBe(403);
  });

  it('registers with a good MAC, refuses a bad MAC and a reused nonce', async () => {
    const { body: first } = await call(hs, 'GET', '/_synapse/admin/v1/register');
    const nonce = first['nonce'] as string;
    expect(nonce).toMatch(/^[0-9a-f]+$/);
    const good = await call(hs, 'POST', '/_synapse/admin/v1/register', {
      body: { nonce, username: 'admin', password: 'admin-pw', admin: true, displayname: 'The Admin', mac: mac(nonce, 'admin', 'admin-pw', true) },
    });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ user_id: `@admin:${SERVER}`, home_server: SERVER, access_token: expect.any(String) as string });
    await expect(client(hs, good.body as { access_token: string; user_id: string }).whoami()).resolves.toMatchObject({ user_id: `@admin:${SERVER}` });
    expect((await call(hs, 'GET', `/_matrix/client/v3/profile/@admin:${SERVER}/displayname`)).body).toEqual({ displayname: 'The Admin' });

    const reused = await call(hs, 'POST', '/_synapse/admin/v1/register', {
      body: { nonce, username: 'again', password: 'pw', admin: false, mac: mac(nonce, 'again', 'pw', false) },
    });
    expect(reused.status).toBe(400);

    const { body: second } = await call(hs, 'GET', '/_synapse/admin/v1/register');
    const bad = await call(hs, 'POST', '/_synapse/admin/v1/register', {
      body: { nonce: second['nonce'], username: 'sneaky', password: 'pw', admin: true, mac: mac(second['nonce'] as string, 'sneaky', 'pw', false) },
    });
    expect(bad).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
    await login(hs, 'admin', 'admin-pw');
    expect((await call(hs, 'POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'sneaky', password: 'pw' } })).status).toBe(403);
  });
});

describe('the first account from `npm run create-user`, on defaults', () => {
  let hs: HomeserverProcess;
  // Where the server keeps its data: the client-api's own directory when distributed.
  const secretDir = () => (process.env['AXON_TEST_DISTRIBUTED'] === '1' ? join(hs.dataDir, 'client-api-1') : hs.dataDir);

  beforeAll(async () => {
    // No registration settings at all: open registration is off, no shared secret is
    // configured. Only the registration rate limit's refill is slowed (its burst stays the
    // default 3): at the default 0.17 tokens a second, four CLI starts under a loaded CI
    // took long enough that a token came back before the fourth attempt.
    const config = join(mkdtempSync(join(tmpdir(), 'axon-create-user-')), 'axon.yaml');
    writeFileSync(config, 'rate_limits:\n  registration: { per_second: 0.001, burst_count: 3 }\n');
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_CONFIG: config });
  });
  afterAll(async () => {
    await hs?.stop();
  });

  /** Runs the built CLI as `npm run create-user` does, with the password on stdin. */
  function createUser(args: string[], password: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const cli = join(__dirname, '../../../dist/apps/homeserver/src/create-user.js');
    const child = spawn(process.execPath, [cli, ...args, '--url', hs.baseUrl], {
      env: { PATH: process.env['PATH'] ?? '', AXON_SERVER_NAME: SERVER, AXON_DATA_DIR: secretDir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(`${password}\n`);
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('generated a registration secret readable only by the server', () => {
    const mode = statSync(join(secretDir(), 'registration.secret')).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('creates an admin who can log in, and a second user right after, with no device left behind', async () => {
    const first = await createUser(['alice', '--admin'], 'first-user-pw');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`Created @alice:${SERVER} (server admin)`);
    const alice = await login(hs, 'alice', 'first-user-pw');
    expect(alice.user_id).toBe(`@alice:${SERVER}`);
    // The CLI's own registration session was logged out: the login above is the only device.
    const devices = await call(hs, 'GET', '/_matrix/client/v3/devices', { token: alice.access_token });
    expect((devices.body['devices'] as Json[]).map((d) => d['device_id'])).toEqual([alice.device_id]);
    // An admin reaches past the admin check of the server-notices API (which is off here).
    const notice = await call(hs, 'POST', '/_synapse/admin/v1/send_server_notice', { token: alice.access_token, body: { user_id: alice.user_id, content: { msgtype: 'm.text', body: 'hi' } } });
    expect(notice.body['error']).toContain('Server notices are not enabled');

    const second = await createUser(['@bob:' + SERVER], 'second-user-pw');
    expect(second.code).toBe(0);
    const bob = await login(hs, 'bob', 'second-user-pw');
    const refused = await call(hs, 'POST', '/_synapse/admin/v1/send_server_notice', { token: bob.access_token, body: { user_id: bob.user_id, content: { msgtype: 'm.text', body: 'hi' } } });
    expect(refused).toEqual({ status: 403, body: expect.objectContaining({ errcode: 'M_FORBIDDEN' }) as Json });
  });

  it('says why when the user exists, attempts run out or the secret is not there', async () => {
    const taken = await createUser(['alice'], 'pw');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('M_USER_IN_USE');
    // Each attempt took one token of the registration burst (3, as Synapse's): the fourth
    // in a row waits, whatever secret it brings (a wrong MAC is tested above).
    const fourth = await createUser(['carol'], 'pw', { AXON_REGISTRATION_SHARED_SECRET: 'not-the-secret' });
    expect(fourth.code).toBe(1);
    expect(fourth.stderr).toContain('M_LIMIT_EXCEEDED');
    const missing = await createUser(['carol'], 'pw', { AXON_DATA_DIR: mkdtempSync(join(tmpdir(), 'axon-no-secret-')) });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('start the homeserver once');
  });
});
