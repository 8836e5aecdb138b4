import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
}

const V3 = '/_matrix/client/v3';
const enc = encodeURIComponent;
/** Marks every value these tests send, so the logs can be searched for them. */
const MARKER = 'hostile-marker-7f3a';

/** JSON nested `depth` levels deep (the outer object is level 1). */
const nestedObject = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

/**
 * Hostile input from a client hurts no one: whatever a request carries (deep JSON, numbers
 * beyond canonical JSON, U+0000, lone surrogates, identifiers as long as the spec allows,
 * out-of-range numbers in queries), the answer is the spec's error or success, never a
 * 5xx, and nothing a request carried reaches the logs.
 */
describe('hostile input at the HTTP edge', () => {
  let hs: HomeserverProcess;
  let alice: { token: string; userId: string };
  let bob: { token: string; userId: string };
  let roomId: string;

  async function call(token: string | undefined, method: string, path: string, body?: unknown, raw?: string): Promise<Answer> {
    const res = await fetch(`${hs.baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: Json;
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      parsed = { unparsed: text };
    }
    // Whatever the input, never a server error.
    expect([method, path.slice(0, 120), res.status < 500 ? 'not 5xx' : `${res.status} ${text.slice(0, 200)}`]).toEqual([method, path.slice(0, 120), 'not 5xx']);
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async function register(username: string): Promise<{ token: string; userId: string }> {
    const first = await call(undefined, 'POST', `${V3}/register`, { username, password: 'hostile pw' });
    const done = await call(undefined, 'POST', `${V3}/register`, { username, password: 'hostile pw', auth: { type: 'm.login.dummy', session: first.body['session'] } });
    expect(done.status).toBe(200);
    return { token: done.body['access_token'] as string, userId: done.body['user_id'] as string };
  }

  const refused = (errcode: string) => ({ status: 400, body: expect.objectContaining({ errcode }) });

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    alice = await register('alice');
    bob = await register('bob');
    const created = await call(alice.token, 'POST', `${V3}/createRoom`, { preset: 'public_chat' });
    roomId = enc(created.body['room_id'] as string);
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('refuses JSON nested deeper than 100 levels with M_BAD_JSON on every body, and accepts 100', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const me = enc(alice.userId);
    const requests: Array<[string, string, string]> = [
      ['PUT', `${V3}/rooms/${roomId}/send/m.room.message/deep1`, deep],
      ['PUT', `${V3}/rooms/${roomId}/state/m.room.topic`, deep],
      ['POST', `${V3}/createRoom`, `{"creation_content":${deep}}`],
      ['PUT', `${V3}/user/${me}/account_data/org.example.deep`, deep],
      ['POST', `${V3}/user/${me}/filter`, `{"room":${deep}}`],
      ['POST', `${V3}/login`, deep],
      // A million levels within the 1 MiB body limit: refused before anything is built.
      ['PUT', `${V3}/rooms/${roomId}/send/m.room.message/deep2`, `{"a":${'['.repeat(500_000)}${']'.repeat(500_000)}}`],
    ];
    for (const [method, path, raw] of requests) {
      expect(await call(alice.token, method, path, undefined, raw)).toMatchObject(refused('M_BAD_JSON'));
    }
    const atLimit = nestedObject(100);
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/account_data/org.example.deep`, undefined, atLimit)).status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/user/${me}/account_data/org.example.deep`)).body).toEqual(JSON.parse(atLimit));
  });

  it('refuses numbers beyond canonical JSON range in every body, and keeps floats where a field takes them', async () => {
    const me = enc(alice.userId);
    for (const literal of ['9007199254740993', '-9007199254740992', '18446744073709551616', '1e400']) {
      // 9007199254740993 would be stored as ...992, 1e400 as null: refused instead.
      expect(await call(alice.token, 'PUT', `${V3}/user/${me}/account_data/org.example.n`, undefined, `{"n":${literal}}`)).toMatchObject(refused('M_BAD_JSON'));
      expect(await call(alice.token, 'POST', `${V3}/publicRooms`, undefined, `{"limit":${literal}}`)).toMatchObject(refused('M_BAD_JSON'));
    }
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/account_data/org.example.n`, undefined, '{"n":9007199254740991}')).status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/user/${me}/account_data/org.example.n`)).body).toEqual({ n: 9007199254740991 });
    // Event content: canonical JSON has no floats (room versions 6 and later).
    expect(await call(alice.token, 'PUT', `${V3}/rooms/${roomId}/send/m.room.message/float`, { body: 1.5 })).toMatchObject(refused('M_BAD_JSON'));
    // A tag's order is a float.
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/rooms/${roomId}/tags/u.work`, { order: 0.25 })).status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/user/${me}/rooms/${roomId}/tags`)).body).toEqual({ tags: { 'u.work': { order: 0.25 } } });
  });

  it('refuses U+0000 in path and query parameters with M_INVALID_PARAM', async () => {
    const me = enc(alice.userId);
    const paths: Array<[string, string, Json?]> = [
      ['PUT', `${V3}/rooms/${roomId}/send/m.room.message%00x/txn1`, { body: MARKER }],
      ['PUT', `${V3}/rooms/${roomId}/send/m.room.message/t%00x`, { body: MARKER }],
      ['PUT', `${V3}/rooms/${roomId}/state/m.room.topic/a%00b`, { topic: MARKER }],
      ['GET', `${V3}/rooms/${roomId}/state/m.room.topic/a%00b`],
      ['PUT', `${V3}/user/${me}/account_data/x%00y`, { v: MARKER }],
      ['PUT', `${V3}/user/${me}/rooms/${roomId}/tags/t%00g`, {}],
      ['PUT', `${V3}/devices/a%00b`, { display_name: MARKER }],
      ['GET', `${V3}/profile/${enc('@a\u0000b:localhost')}`],
      ['GET', `${V3}/rooms/${roomId}/event/${enc('$a\u0000')}`],
      ['GET', `${V3}/directory/room/${enc('#a\u0000b:localhost')}`],
      ['PUT', `${V3}/sendToDevice/m.test/t%00x`, { messages: {} }],
      ['GET', `${V3}/rooms/${roomId}/messages?from=%00`],
      ['GET', `${V3}/register/available?username=a%00`],
      ['GET', `${V3}/publicRooms?since=o1%00`],
    ];
    for (const [method, path, body] of paths) {
      expect(await call(alice.token, method, path, body)).toMatchObject(refused('M_INVALID_PARAM'));
    }
  });

  it('refuses U+0000 in parameter bodies with M_BAD_JSON', async () => {
    const me = enc(alice.userId);
    const nul = `${MARKER}\u0000`;
    const devices = (await call(alice.token, 'GET', `${V3}/devices`)).body['devices'] as Array<{ device_id: string }>;
    const requests: Array<[string, string, Json]> = [
      ['PUT', `${V3}/profile/${me}/displayname`, { displayname: nul }],
      ['PUT', `${V3}/profile/${me}/avatar_url`, { avatar_url: nul }],
      ['PUT', `${V3}/devices/${enc(devices[0]!.device_id)}`, { display_name: nul }],
      ['POST', `${V3}/login`, { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'hostile pw', initial_device_display_name: nul }],
      ['POST', `${V3}/register`, { username: 'carol', password: 'hostile pw', initial_device_display_name: nul }],
      ['POST', `${V3}/createRoom`, { name: nul }],
      ['POST', `${V3}/createRoom`, { room_alias_name: nul }],
      ['PUT', `${V3}/presence/${me}/status`, { presence: 'online', status_msg: nul }],
      ['POST', `${V3}/user/${me}/filter`, { room: { timeline: { types: [nul] } } }],
      ['PUT', `${V3}/sendToDevice/m.test/nul1`, { messages: { [alice.userId]: { '*': { body: nul } } } }],
      ['POST', `${V3}/rooms/${roomId}/invite`, { user_id: bob.userId, reason: nul }],
    ];
    for (const [method, path, body] of requests) {
      expect(await call(alice.token, method, path, body)).toMatchObject(refused('M_BAD_JSON'));
    }
  });

  it('keeps U+0000 in content (event content, account data, tags), as the client sent it', async () => {
    const me = enc(alice.userId);
    const value = `a\u0000b ${MARKER}`;
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/account_data/org.example.nul`, { v: value, [`k\u0000`]: 1 })).status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/user/${me}/account_data/org.example.nul`)).body).toEqual({ v: value, [`k\u0000`]: 1 });
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/rooms/${roomId}/account_data/org.example.nul`, { v: value })).status).toBe(200);
    expect((await call(alice.token, 'PUT', `${V3}/user/${me}/rooms/${roomId}/tags/u.nul`, { order: 0.5, note: value })).status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/user/${me}/rooms/${roomId}/tags`)).body['tags']).toMatchObject({ 'u.nul': { order: 0.5, note: value } });
    const sent = await call(alice.token, 'PUT', `${V3}/rooms/${roomId}/send/m.room.message/nul`, { msgtype: 'm.text', body: value });
    expect(sent.status).toBe(200);
    expect((await call(alice.token, 'GET', `${V3}/rooms/${roomId}/event/${enc(sent.body['event_id'] as string)}`)).body['content']).toEqual({ msgtype: 'm.text', body: value });

    // A member event whose content holds U+0000, then a leave: the left room still syncs.
    const room = await call(bob.token, 'POST', `${V3}/createRoom`, {});
    const bobRoom = enc(room.body['room_id'] as string);
    expect((await call(bob.token, 'PUT', `${V3}/rooms/${bobRoom}/state/m.room.member/${enc(bob.userId)}`, { membership: 'join', displayname: value })).status).toBe(200);
    let since = (await call(bob.token, 'GET', `${V3}/sync?timeout=0`)).body['next_batch'] as string;
    expect((await call(bob.token, 'POST', `${V3}/rooms/${bobRoom}/leave`, {})).status).toBe(200);
    // Incremental syncs until the leave reaches sync's read model.
    let left: string[] = [];
    for (let attempt = 0; attempt < 10 && left.length === 0; attempt++) {
      const sync = await call(bob.token, 'GET', `${V3}/sync?timeout=5000&since=${enc(since)}`);
      since = sync.body['next_batch'] as string;
      left = Object.keys((sync.body['rooms'] as { leave?: Json } | undefined)?.leave ?? {});
    }
    expect(left).toEqual([room.body['room_id']]);
  });

  it('refuses lone surrogates in every body with M_BAD_JSON', async () => {
    const me = enc(alice.userId);
    const requests: Array<[string, string, string]> = [
      ['PUT', `${V3}/user/${me}/account_data/org.example.s`, `{"v":"\\ud800 ${MARKER}"}`],
      ['PUT', `${V3}/profile/${me}/displayname`, `{"displayname":"\\udc00 ${MARKER}"}`],
      ['PUT', `${V3}/rooms/${roomId}/send/m.room.message/s1`, `{"body":"\\ud800\\u0041 ${MARKER}"}`],
      ['POST', `${V3}/login`, `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"\\ud800"}`],
    ];
    for (const [method, path, raw] of requests) {
      expect(await call(alice.token, method, path, undefined, raw)).toMatchObject(refused('M_BAD_JSON'));
    }
  });

  it('refuses a body that is not a JSON object, null included, with M_BAD_JSON', async () => {
    const me = enc(alice.userId);
    expect(await call(alice.token, 'PUT', `${V3}/rooms/${roomId}/send/m.room.message/null`, undefined, 'null')).toMatchObject(refused('M_BAD_JSON'));
    expect(await call(alice.token, 'PUT', `${V3}/rooms/${roomId}/state/m.room.topic`, undefined, 'null')).toMatchObject(refused('M_BAD_JSON'));
    expect(await call(alice.token, 'PUT', `${V3}/user/${me}/account_data/org.example.null`, undefined, '[]')).toMatchObject(refused('M_BAD_JSON'));
    expect(await call(alice.token, 'POST', `${V3}/createRoom`, undefined, '"room"')).toMatchObject(refused('M_BAD_JSON'));
    // The Content-Type is not required (spec: "API standards"): the body is JSON all the same.
    const res = await fetch(`${hs.baseUrl}${V3}/rooms/${roomId}/send/m.room.message/no-type`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ msgtype: 'm.text', body: 'no content type' }),
    });
    expect(res.status).toBe(200);
  });

  it('routes every identifier the spec allows, up to 255 bytes, and refuses longer ones with M_INVALID_PARAM', async () => {
    for (const localpart of ['u'.repeat(100), 'w'.repeat(255 - '@:localhost'.length)]) {
      const user = await register(localpart);
      const id = enc(user.userId);
      expect((await call(user.token, 'POST', `${V3}/user/${id}/filter`, { room: { timeline: { limit: 5 } } })).status).toBe(200);
      expect((await call(user.token, 'PUT', `${V3}/profile/${id}/displayname`, { displayname: 'Long' })).status).toBe(200);
      expect((await call(user.token, 'GET', `${V3}/profile/${id}/displayname`)).body).toEqual({ displayname: 'Long' });
      expect((await call(user.token, 'PUT', `${V3}/user/${id}/account_data/org.example.long`, { ok: true })).status).toBe(200);
      expect((await call(user.token, 'PUT', `${V3}/presence/${id}/status`, { presence: 'online' })).status).toBe(200);
    }
    for (const aliasLength of [151, 255]) {
      const name = 'r'.repeat(aliasLength - '#:localhost'.length);
      const created = await call(alice.token, 'POST', `${V3}/createRoom`, { preset: 'public_chat', room_alias_name: name });
      expect(created.status).toBe(200);
      const alias = enc(`#${name}:localhost`);
      expect((await call(bob.token, 'GET', `${V3}/directory/room/${alias}`)).body).toMatchObject({ room_id: created.body['room_id'] });
      expect((await call(bob.token, 'POST', `${V3}/join/${alias}`, {})).body).toEqual({ room_id: created.body['room_id'] });
    }
    const tooLong = enc(`@${'x'.repeat(245)}:localhost`);
    expect(await call(alice.token, 'GET', `${V3}/profile/${tooLong}`)).toMatchObject(refused('M_INVALID_PARAM'));
    expect(await call(alice.token, 'PUT', `${V3}/rooms/${roomId}/state/m.room.topic/${'k'.repeat(256)}`, { topic: 'x' })).toMatchObject(refused('M_INVALID_PARAM'));
  });

  it('clamps or refuses out-of-range numbers in queries and bodies before they reach another service', async () => {
    for (const limit of ['4294967296', '9007199254740991']) {
      expect((await call(alice.token, 'GET', `${V3}/publicRooms?limit=${limit}`)).status).toBe(200);
      expect((await call(alice.token, 'POST', `${V3}/publicRooms`, undefined, `{"limit":${limit}}`)).status).toBe(200);
      expect((await call(alice.token, 'GET', `${V3}/rooms/${roomId}/messages?dir=b&limit=${limit}`)).status).toBe(200);
    }
    for (const query of ['limit=9007199254740993', 'limit=1e3', 'limit=-1', 'limit=', 'limit=1&limit=2']) {
      expect(await call(alice.token, 'GET', `${V3}/publicRooms?${query}`)).toMatchObject(refused('M_INVALID_PARAM'));
    }
    for (const query of ['timeout=1e400', 'timeout=99999999999999999999', 'since=a&since=b', 'filter=%7B%7D&filter=%7B%7D']) {
      expect(await call(alice.token, 'GET', `${V3}/sync?${query}`)).toMatchObject(refused('M_INVALID_PARAM'));
    }
    expect(await call(alice.token, 'GET', `${V3}/register/available?username=a&username=b`)).toMatchObject(refused('M_INVALID_PARAM'));
    expect(await call(alice.token, 'GET', `${V3}/sync?filter=${enc(nestedObject(101))}`)).toMatchObject(refused('M_BAD_JSON'));
  });

  it('answers an unknown endpoint M_UNRECOGNIZED whatever its body, and does not parse it', async () => {
    // Found by `npm run fuzz`: a body that was not JSON made an unrouted path answer
    // 400 M_NOT_JSON, so an endpoint Axon does not serve (media upload) looked served.
    for (const [method, path, status] of [
      ['POST', '/_matrix/media/v3/upload', 404],
      ['PUT', `${V3}/no-such-endpoint/x`, 404],
      ['PUT', `${V3}/account/whoami`, 405],
    ] as const) {
      for (const raw of ['not json', `{"a":${'['.repeat(1000)}`, '{"a":"\\ud800"}']) {
        expect([method, path, await call(alice.token, method, path, undefined, raw)]).toMatchObject([method, path, { status, body: { errcode: 'M_UNRECOGNIZED' } }]);
      }
    }
  });

  it('logged nothing a request carried, and no internal error', () => {
    const lines = hs.logs.map((line) => JSON.stringify(line));
    expect(lines.filter((line) => line.includes(MARKER))).toEqual([]);
    expect(hs.logs.filter((line) => line['level'] === 'error')).toEqual([]);
  });
});
