import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

type RoomEvent = { type: string; content: Record<string, unknown>; event_id: string };

async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 300)})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A room's message bodies as `who` reads them on `server` (`/messages`, newest last), raw HTTP. */
async function bodies(server: FederatedServer, who: FederatedUser, roomId: string): Promise<string[]> {
  const response = await fetch(`${server.clientUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=1000`, {
    headers: { authorization: `Bearer ${who.accessToken}` },
  });
  if (!response.ok) throw new Error(`messages: ${response.status}`);
  const page = (await response.json()) as { chunk: RoomEvent[] };
  return page.chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content['body'] as string).reverse();
}

// hs2 is down while hs1's user talks in a room they share: hs1's sender keeps the
// transactions for hs2, and once hs2 is back every message arrives, in order, once.
describe.each(['10', '12'])('an outage of the other server, room version %s', (version) => {
  let net: FederationNet;

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  it('hs2 stopped while hs1 sends 200 messages, restarted: all 200 arrive, in order, none twice', async () => {
    const alice = await net.register(net.hs1, 'alice');
    const bob = await net.register(net.hs2, 'bob');
    const { room_id: roomId } = await alice.client.createRoom({ preset: 'public_chat' as never, room_version: version });
    await bob.client.joinRoom(roomId, { viaServers: [net.hs1.serverName] });
    await alice.client.sendTextMessage(roomId, 'before the outage');
    await eventually('hs2 has the first message', () => bodies(net.hs2, bob, roomId), (seen) => seen.includes('before the outage'));

    await net.stopServer(net.hs2);
    const sent = Array.from({ length: 200 }, (_, i) => `message ${i + 1} of 200`);
    for (const text of sent) await alice.client.sendTextMessage(roomId, text);
    await net.startServer(net.hs2);

    const seen = await eventually('hs2 has all 200', () => bodies(net.hs2, bob, roomId), (got) => got.includes(sent.at(-1)!) && got.length >= 201);
    expect(seen).toEqual(["before the outage", ...sent]);
    // And hs1 still has exactly what it sent.
    expect(await bodies(net.hs1, alice, roomId)).toEqual(['before the outage', ...sent]);
  }, 240_000);
});
