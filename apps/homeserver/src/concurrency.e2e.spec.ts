import { startHomeserver, type HomeserverProcess } from '@axon/testing';
import type { MatrixClient } from 'matrix-js-sdk';

type Sdk = typeof import('matrix-js-sdk');
type Json = Record<string, unknown>;

const SERVER = 'concurrency.test';
let sdk: Sdk;

beforeAll(async () => {
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  sdk = await import('matrix-js-sdk');
});

async function call(hs: HomeserverProcess, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${hs.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Json;
}

// The room server is the only writer of a room: concurrent sends from many clients are
// put into one order, each acknowledged event is in the room exactly once, and nothing
// else is.
describe('20 clients sending to one room at once', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' });
  });

  afterAll(async () => {
    await hs?.stop();
  });

  it('produce a single history holding every acknowledged event once', async () => {
    const clients: MatrixClient[] = [];
    for (let index = 0; index < 20; index++) {
      const username = `user${index}`;
      const first = await call(hs, 'POST', '/_matrix/client/v3/register', { username, password: 'pw pw pw' });
      const done = await call(hs, 'POST', '/_matrix/client/v3/register', { username, password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first['session'] } });
      clients.push(sdk.createClient({ baseUrl: hs.baseUrl, accessToken: done['access_token'] as string, userId: done['user_id'] as string, deviceId: done['device_id'] as string }));
    }
    const { room_id: roomId } = await clients[0]!.createRoom({ preset: sdk.Preset.PublicChat });
    await Promise.all(clients.slice(1).map((client) => client.joinRoom(roomId)));

    const acknowledged = (
      await Promise.all(
        clients.map(async (client, who) => {
          const ids: string[] = [];
          for (let n = 0; n < 10; n++) ids.push((await client.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: `${who}:${n}` })).event_id);
          return ids;
        }),
      )
    ).flat();
    expect(new Set(acknowledged).size).toBe(200);

    const timeline: Json[] = [];
    let from: string | null = null;
    for (;;) {
      const page = (await clients[0]!.createMessagesRequest(roomId, from, 100, sdk.Direction.Forward)) as unknown as { chunk: Json[]; end?: string };
      timeline.push(...page.chunk);
      if (page.end === undefined) break;
      from = page.end;
    }
    const messages = timeline.filter((event) => event['type'] === 'm.room.message');
    expect(messages.map((event) => event['event_id']).sort()).toEqual([...acknowledged].sort());
    // Each client's own messages appear in the order it sent them.
    for (let who = 0; who < 20; who++) {
      const own = messages.filter((event) => (event['content'] as { body: string }).body.startsWith(`${who}:`)).map((event) => (event['content'] as { body: string }).body);
      expect(own).toEqual(Array.from({ length: 10 }, (_, n) => `${who}:${n}`));
    }
    // One history: backwards pagination is exactly the reverse.
    const backwards: Json[] = [];
    from = null;
    for (;;) {
      const page = (await clients[0]!.createMessagesRequest(roomId, from, 100, sdk.Direction.Backward)) as unknown as { chunk: Json[]; end?: string };
      backwards.push(...page.chunk);
      if (page.end === undefined) break;
      from = page.end;
    }
    expect(backwards.map((event) => event['event_id'])).toEqual(timeline.map((event) => event['event_id']).reverse());
  }, 120_000);
});
