import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

const SERVER = 'stress.test';

async function call(hs: HomeserverProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Json> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const body = (await res.json()) as Json;
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function register(hs: HomeserverProcess, username: string): Promise<{ token: string; userId: string }> {
  const first = await fetch(`${hs.baseUrl}/_matrix/client/v3/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'pw pw pw' }) });
  const session = ((await first.json()) as Json)['session'];
  const done = await call(hs, 'POST', '/_matrix/client/v3/register', { body: { username, password: 'pw pw pw', auth: { type: 'm.login.dummy', session } } });
  return { token: done['access_token'] as string, userId: done['user_id'] as string };
}

// 20 senders write concurrently into 5 rooms while 10 receivers sync incrementally; every
// receiver must see every event of its rooms exactly once, in each room's own order
// (checked against the room's /messages history).
describe('sync under concurrent senders', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
  });

  afterAll(async () => {
    await hs?.stop();
  });

  it('20 senders in 5 rooms, 10 receivers: every event once, in each room\'s order', async () => {
    const owner = await register(hs, 'owner');
    const rooms: string[] = [];
    for (let index = 0; index < 5; index++) rooms.push((await call(hs, 'POST', '/_matrix/client/v3/createRoom', { token: owner.token, body: { preset: 'public_chat' } }))['room_id'] as string);
    const senders = await Promise.all(Array.from({ length: 20 }, (_, index) => register(hs, `sender${index}`)));
    const receivers = await Promise.all(Array.from({ length: 10 }, (_, index) => register(hs, `receiver${index}`)));
    // Sender i writes to room i % 5; receiver j is in rooms j % 5 and (j + 1) % 5.
    for (const [index, sender] of senders.entries()) await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(rooms[index % 5]!)}`, { token: sender.token, body: {} });
    const roomsOf = (index: number): string[] => [rooms[index % 5]!, rooms[(index + 1) % 5]!];
    for (const [index, receiver] of receivers.entries()) {
      for (const roomId of roomsOf(index)) await call(hs, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: receiver.token, body: {} });
    }

    const filter = JSON.stringify({ room: { timeline: { limit: 1000 } } });
    const seen = receivers.map(() => new Map<string, string[]>());
    let stop = false;
    // Every receiver's first token is taken before anyone sends: what comes after it is the test.
    const firstTokens = await Promise.all(
      receivers.map(async (receiver) => (await call(hs, 'GET', `/_matrix/client/v3/sync?filter=${encodeURIComponent(filter)}`, { token: receiver.token }))['next_batch'] as string),
    );
    const loops = receivers.map(async (receiver, index) => {
      let since = firstTokens[index]!;
      const mine = seen[index]!;
      // Record only messages: the joins before the first token are not part of the test.
      const drain = async (timeout: number): Promise<boolean> => {
        const body = await call(hs, 'GET', `/_matrix/client/v3/sync?since=${encodeURIComponent(since)}&timeout=${timeout}&filter=${encodeURIComponent(filter)}`, { token: receiver.token });
        since = body['next_batch'] as string;
        const joined = ((body['rooms'] as Json | undefined)?.['join'] as Record<string, Json> | undefined) ?? {};
        let any = false;
        for (const [roomId, room] of Object.entries(joined)) {
          const timeline = room['timeline'] as { events: Json[]; limited: boolean };
          expect(timeline.limited).toBe(false);
          const list = mine.get(roomId) ?? [];
          for (const event of timeline.events) if (event['type'] === 'm.room.message') list.push(event['event_id'] as string);
          mine.set(roomId, list);
          any = any || timeline.events.length > 0;
        }
        return any;
      };
      while (!stop) await drain(1000);
      // After the senders finished: until each of its rooms holds all 60 messages (an event
      // that reaches sync late must not be missed), then one more pass to catch duplicates.
      const deadline = Date.now() + 60_000;
      while (roomsOf(index).some((roomId) => (mine.get(roomId)?.length ?? 0) < 60) && Date.now() < deadline) await drain(1000);
      await drain(500);
    });

    await Promise.all(
      senders.map(async (sender, index) => {
        for (let n = 0; n < 15; n++) {
          await call(hs, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[index % 5]!)}/send/m.room.message/t${n}`, { token: sender.token, body: { msgtype: 'm.text', body: `${index}:${n}` } });
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop = true;
    await Promise.all(loops);

    // Each room's history, oldest first, as /messages tells it.
    const history = new Map<string, string[]>();
    for (const roomId of rooms) {
      const events: string[] = [];
      let from: string | undefined;
      for (;;) {
        const page = await call(hs, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=500${from ? `&from=${from}` : ''}`, { token: owner.token });
        for (const event of page['chunk'] as Json[]) if (event['type'] === 'm.room.message') events.push(event['event_id'] as string);
        if (page['end'] === undefined) break;
        from = page['end'] as string;
      }
      expect(events.length).toBe(60);
      history.set(roomId, events);
    }
    for (const [index, mine] of seen.entries()) {
      for (const roomId of roomsOf(index)) expect(mine.get(roomId)).toEqual(history.get(roomId));
    }
  }, 180_000);
});
