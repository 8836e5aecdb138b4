import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

type RoomEvent = { type: string; state_key?: string; sender: string; content: Record<string, unknown>; event_id: string };

async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 800)})`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

// A room on each server, joined by a user of each of the three servers; every user says
// something; every server then has every message, in the same order, and the same state.
describe.each(['10', '12'])('messages across servers (hs1, hs2, Synapse), room version %s', (version) => {
  let net: FederationNet;
  let servers: FederatedServer[];
  const users = new Map<string, FederatedUser>();

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    servers = [net.hs1, net.hs2, net.synapse];
    for (const server of servers) users.set(server.label, await net.register(server, `talker${version}`));
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  const user = (server: FederatedServer): FederatedUser => users.get(server.label)!;
  const messages = async (who: FederatedUser, roomId: string): Promise<string[]> => {
    const page = await who.client.createMessagesRequest(roomId, null, 100, 'b' as never);
    return (page.chunk as RoomEvent[]).filter((e) => e.type === 'm.room.message').map((e) => e.content['body'] as string).reverse();
  };
  const stateOf = async (who: FederatedUser, roomId: string): Promise<string[]> =>
    ((await who.client.roomState(roomId)) as unknown as RoomEvent[]).map((e) => `${e.type}|${e.state_key}|${e.event_id}`).sort();

  it.each(['hs1', 'hs2', 'synapse'] as const)('a room on %s: everyone joins, everyone talks, every server has it all', async (home) => {
    const host = user(net[home]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'public_chat' as never, room_version: version });
    const guests = servers.filter((server) => server !== net[home]);
    for (const server of guests) await user(server).client.joinRoom(roomId, { viaServers: [net[home].serverName] });
    // Everyone sees everyone joined before talking (the joins travel too).
    for (const server of servers) {
      await eventually(`${server.label} sees all three joined`, () => stateOf(user(server), roomId), (state) => state.filter((k) => k.startsWith('m.room.member|')).length === 3);
    }
    const said: string[] = [];
    for (const server of servers) {
      const text = `hello from ${server.label} in ${home}'s room`;
      await user(server).client.sendTextMessage(roomId, text);
      said.push(text);
      // Each message reaches everyone before the next is sent: the order is then the same everywhere.
      for (const reader of servers) await eventually(`${reader.label} reads "${text}"`, () => messages(user(reader), roomId), (seen) => seen.includes(text));
    }
    for (const reader of servers) expect(await messages(user(reader), roomId)).toEqual(said);
    const states = await Promise.all(servers.map((server) => stateOf(user(server), roomId)));
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
  });
});
