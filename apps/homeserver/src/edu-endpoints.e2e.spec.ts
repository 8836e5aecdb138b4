import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;
interface Session {
  readonly access_token: string;
  readonly user_id: string;
  readonly device_id: string;
}

const SERVER = 'edu.test';
const SPEC = {
  receipt: 'POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} 200',
  receiptError: 'POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} 400',
  readMarkers: 'POST /_matrix/client/v3/rooms/{roomId}/read_markers 200',
  typing: 'PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId} 200',
  sendToDevice: 'PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId} 200',
} as const;

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

async function register(hs: HomeserverProcess, username: string): Promise<Session> {
  const first = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'correct horse' } });
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'correct horse', auth: { type: 'm.login.dummy', session: first.body['session'] } } });
  expect(done.status).toBe(200);
  return done.body as unknown as Session;
}

const enc = encodeURIComponent;

describe('receipts, read markers, typing and send-to-device over HTTP', () => {
  let hs: HomeserverProcess;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  let roomId: string;
  let otherRoomId: string;
  let first: string;
  let second: string;
  let elsewhere: string;

  const post = (session: Session, path: string, body: unknown = {}) => call(hs, 'POST', `/_matrix/client/v3${path}`, { token: session.access_token, body });
  const put = (session: Session, path: string, body: unknown) => call(hs, 'PUT', `/_matrix/client/v3${path}`, { token: session.access_token, body });
  const send = async (session: Session, room: string, body: string): Promise<string> => {
    const sent = await put(session, `/rooms/${enc(room)}/send/m.room.message/${Math.random().toString(36).slice(2)}`, { msgtype: 'm.text', body });
    expect(sent.status).toBe(200);
    return sent.body['event_id'] as string;
  };
  const receipt = (session: Session, type: string, eventId: string, body: unknown = {}, room = roomId) => post(session, `/rooms/${enc(room)}/receipt/${enc(type)}/${enc(eventId)}`, body);
  const fullyRead = (session: Session, room = roomId) => call(hs, 'GET', `/_matrix/client/v3/user/${enc(session.user_id)}/rooms/${enc(room)}/account_data/m.fully_read`, { token: session.access_token });

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
    alice = await register(hs, 'alice');
    bob = await register(hs, 'bob');
    carol = await register(hs, 'carol');
    roomId = (await post(alice, '/createRoom', { preset: 'public_chat' })).body['room_id'] as string;
    otherRoomId = (await post(alice, '/createRoom', { preset: 'private_chat' })).body['room_id'] as string;
    expect((await post(bob, `/rooms/${enc(roomId)}/join`)).status).toBe(200);
    first = await send(alice, roomId, 'first');
    second = await send(bob, roomId, 'second');
    elsewhere = await send(alice, otherRoomId, 'elsewhere');
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  describe('POST /rooms/{roomId}/receipt/{receiptType}/{eventId}', () => {
    it('accepts m.read, m.read.private and threaded receipts with {}', async () => {
      for (const [type, body] of [
        ['m.read', {}],
        ['m.read.private', {}],
        ['m.read', { thread_id: 'main' }],
        ['m.read.private', { thread_id: first }],
      ] as const) {
        const res = await receipt(bob, type, second, body);
        expect(res).toEqual({ status: 200, body: {} });
        expect(specErrors('client-server', SPEC.receipt, res.body)).toEqual([]);
      }
    });

    it('sets the fully read marker for m.fully_read, as room account data', async () => {
      expect(await receipt(bob, 'm.fully_read', first)).toEqual({ status: 200, body: {} });
      expect(await fullyRead(bob)).toEqual({ status: 200, body: { event_id: first } });
    });

    it('refuses other receipt types, and thread_id with m.fully_read or malformed, with M_INVALID_PARAM', async () => {
      for (const [type, body] of [
        ['m.unknown', {}],
        ['m.receipt', {}],
        ['m.fully_read', { thread_id: 'main' }],
        ['m.read', { thread_id: '' }],
        ['m.read', { thread_id: 42 }],
        ['m.read', { thread_id: 'not an event' }],
      ] as const) {
        const res = await receipt(bob, type, second, body);
        expect([type, body, res.status, res.body['errcode']]).toEqual([type, body, 400, 'M_INVALID_PARAM']);
        expect(specErrors('client-server', SPEC.receiptError, res.body)).toEqual([]);
      }
    });

    it('answers 404 M_NOT_FOUND for an unknown event and for an event of another room', async () => {
      for (const eventId of [`$nothere:${SERVER}`, elsewhere]) {
        const res = await receipt(bob, 'm.read', eventId);
        expect([eventId, res.status, res.body['errcode']]).toEqual([eventId, 404, 'M_NOT_FOUND']);
      }
    });

    it('answers 403 M_FORBIDDEN to a user who is not joined', async () => {
      for (const type of ['m.read', 'm.fully_read']) {
        const res = await receipt(carol, type, first);
        expect([type, res.status, res.body['errcode']]).toEqual([type, 403, 'M_FORBIDDEN']);
      }
      expect((await fullyRead(carol)).status).toBe(404);
    });

    it('needs an access token', async () => {
      const res = await call(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(first)}`, { body: {} });
      expect([res.status, res.body['errcode']]).toEqual([401, 'M_MISSING_TOKEN']);
    });
  });

  describe('POST /rooms/{roomId}/read_markers', () => {
    it('moves the fully read marker and the receipts; the marker shows in room account data', async () => {
      const res = await post(alice, `/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': second, 'm.read': second, 'm.read.private': first });
      expect(res).toEqual({ status: 200, body: {} });
      expect(specErrors('client-server', SPEC.readMarkers, res.body)).toEqual([]);
      expect(await fullyRead(alice)).toEqual({ status: 200, body: { event_id: second } });
      // Receipts alone leave the marker where it is.
      expect(await post(alice, `/rooms/${enc(roomId)}/read_markers`, { 'm.read': first })).toEqual({ status: 200, body: {} });
      expect(await fullyRead(alice)).toEqual({ status: 200, body: { event_id: second } });
    });

    it('refuses wrongly typed markers with M_BAD_JSON and malformed event IDs with M_INVALID_PARAM', async () => {
      for (const [body, errcode] of [
        [{ 'm.read': 5 }, 'M_BAD_JSON'],
        [{ 'm.fully_read': { event_id: first } }, 'M_BAD_JSON'],
        [{ 'm.read.private': null }, 'M_BAD_JSON'],
        [{ 'm.fully_read': 'not an event' }, 'M_INVALID_PARAM'],
      ] as const) {
        const res = await post(alice, `/rooms/${enc(roomId)}/read_markers`, body);
        expect([body, res.status, res.body['errcode']]).toEqual([body, 400, errcode]);
      }
    });

    it('moves nothing when one of the events is unknown (404 M_NOT_FOUND)', async () => {
      const res = await post(alice, `/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': first, 'm.read': `$nothere:${SERVER}` });
      expect([res.status, res.body['errcode']]).toEqual([404, 'M_NOT_FOUND']);
      expect(await fullyRead(alice)).toEqual({ status: 200, body: { event_id: second } });
    });

    it('refuses a non-member with M_FORBIDDEN, and server-managed m.fully_read cannot be set directly', async () => {
      const res = await post(carol, `/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': first });
      expect([res.status, res.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
      const direct = await put(alice, `/user/${enc(alice.user_id)}/rooms/${enc(roomId)}/account_data/m.fully_read`, { event_id: first });
      expect(direct.status).toBe(405);
      expect(await fullyRead(alice)).toEqual({ status: 200, body: { event_id: second } });
    });
  });

  describe('PUT /rooms/{roomId}/typing/{userId}', () => {
    const typing = (session: Session, userId: string, body: unknown) => put(session, `/rooms/${enc(roomId)}/typing/${enc(userId)}`, body);

    it('accepts typing with a timeout (also one over the cap), and stopping, with {}', async () => {
      for (const body of [{ typing: true, timeout: 10_000 }, { typing: true, timeout: 3_600_000 }, { typing: true }, { typing: false }]) {
        const res = await typing(alice, alice.user_id, body);
        expect([body, res.status, res.body]).toEqual([body, 200, {}]);
        expect(specErrors('client-server', SPEC.typing, res.body)).toEqual([]);
      }
    });

    it('refuses typing for another user, and for a user who is not joined, with M_FORBIDDEN', async () => {
      for (const [session, userId] of [
        [alice, bob.user_id],
        [carol, carol.user_id],
      ] as const) {
        const res = await typing(session, userId, { typing: true, timeout: 1000 });
        expect([userId, res.status, res.body['errcode']]).toEqual([userId, 403, 'M_FORBIDDEN']);
      }
    });

    it('refuses a body without a boolean typing, or with a timeout that is not a number, with M_BAD_JSON', async () => {
      for (const body of [{}, { timeout: 1000 }, { typing: 'yes', timeout: 1000 }, { typing: true, timeout: 'soon' }, { typing: true, timeout: -1 }]) {
        const res = await typing(alice, alice.user_id, body);
        expect([body, res.status, res.body['errcode']]).toEqual([body, 400, 'M_BAD_JSON']);
      }
    });
  });

  describe('PUT /sendToDevice/{eventType}/{txnId}', () => {
    const sendToDevice = (session: Session, txnId: string, body: unknown) => put(session, `/sendToDevice/m.room_key_request/${enc(txnId)}`, body);

    it('accepts messages to devices, to every device (*), and to remote users (queued for the federation sender), with {}', async () => {
      const body = {
        messages: {
          [bob.user_id]: { [bob.device_id]: { action: 'request', request_id: 'r1' } },
          [carol.user_id]: { '*': { action: 'request', request_id: 'r1' } },
          [`@dave:elsewhere.test`]: { DEVICE: { action: 'request' } },
          [`@nobody:${SERVER}`]: { '*': {} },
        },
      };
      const res = await sendToDevice(alice, 'txn-1', body);
      expect(res).toEqual({ status: 200, body: {} });
      expect(specErrors('client-server', SPEC.sendToDevice, res.body)).toEqual([]);
      // A retry with the same transaction ID is accepted again (sync keeps one copy).
      expect(await sendToDevice(alice, 'txn-1', body)).toEqual({ status: 200, body: {} });
      expect(await sendToDevice(alice, 'txn-2', { messages: {} })).toEqual({ status: 200, body: {} });
    });

    it('refuses malformed bodies with M_BAD_JSON, and keys that are not user IDs with M_INVALID_PARAM', async () => {
      for (const [body, errcode] of [
        [{}, 'M_BAD_JSON'],
        [{ messages: [] }, 'M_BAD_JSON'],
        [{ messages: 'hello' }, 'M_BAD_JSON'],
        [{ messages: { [bob.user_id]: [] } }, 'M_BAD_JSON'],
        [{ messages: { [bob.user_id]: { [bob.device_id]: 'content' } } }, 'M_BAD_JSON'],
        [{ messages: { [bob.user_id]: { '*': null } } }, 'M_BAD_JSON'],
        [{ messages: { bob: { '*': {} } } }, 'M_INVALID_PARAM'],
        [{ messages: { [bob.user_id]: { '': {} } } }, 'M_INVALID_PARAM'],
      ] as const) {
        const res = await sendToDevice(alice, 'txn-bad', body);
        expect([body, res.status, res.body['errcode']]).toEqual([body, 400, errcode]);
      }
    });

    it('needs an access token', async () => {
      const res = await call(hs, 'PUT', '/_matrix/client/v3/sendToDevice/m.test/txn-3', { body: { messages: {} } });
      expect([res.status, res.body['errcode']]).toEqual([401, 'M_MISSING_TOKEN']);
    });
  });
});
