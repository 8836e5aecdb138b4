import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

type Ephemeral = { type: string; content: Record<string, unknown> };
type SyncBody = { rooms?: { join?: Record<string, { ephemeral?: { events: Ephemeral[] } }> }; presence?: { events: Array<{ sender: string; content: Record<string, unknown> }> } };

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
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 600)})`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

let syncs = 0;

/** An initial sync, each with a filter of its own (Synapse caches identical sync requests for a while). */
async function syncOf(server: FederatedServer, who: FederatedUser): Promise<SyncBody> {
  const filter = encodeURIComponent(JSON.stringify({ account_data: { not_types: [`none.${++syncs}`] } }));
  const response = await fetch(`${server.clientUrl}/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { headers: { authorization: `Bearer ${who.accessToken}` } });
  if (!response.ok) throw new Error(`sync: ${response.status}`);
  return (await response.json()) as SyncBody;
}

const ephemeralOf = (sync: SyncBody, roomId: string, type: string): Ephemeral | undefined => sync.rooms?.join?.[roomId]?.ephemeral?.events.find((e) => e.type === type);

// Typing, read receipts and presence of a user of one server reach the users of the
// others sharing a room with them.
describe('EDUs across servers (hs1, hs2, Synapse)', () => {
  let net: FederationNet;
  let servers: FederatedServer[];
  let roomId: string;
  const users = new Map<string, FederatedUser>();

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    servers = [net.hs1, net.hs2, net.synapse];
    for (const server of servers) users.set(server.label, await net.register(server, 'ephemeral'));
    ({ room_id: roomId } = await user(net.hs1).client.createRoom({ preset: 'public_chat' as never, room_version: '12' }));
    for (const server of [net.hs2, net.synapse]) await user(server).client.joinRoom(roomId, { viaServers: [net.hs1.serverName] });
    for (const server of servers) {
      await eventually(`${server.label} sees everyone joined`, async () => (await user(server).client.getJoinedRoomMembers(roomId)).joined, (joined) => Object.keys(joined).length === 3);
    }
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  const user = (server: FederatedServer): FederatedUser => users.get(server.label)!;
  const others = (server: FederatedServer): FederatedServer[] => servers.filter((s) => s !== server);

  it.each(['hs1', 'hs2', 'synapse'] as const)('a user of %s typing shows on the other two servers', async (typist) => {
    await user(net[typist]).client.sendTyping(roomId, true, 20_000);
    for (const reader of others(net[typist])) {
      await eventually(`${reader.label} sees ${typist} typing`, () => syncOf(reader, user(reader)), (sync) => ((ephemeralOf(sync, roomId, 'm.typing')?.content['user_ids'] as string[] | undefined) ?? []).includes(user(net[typist]).userId));
    }
    await user(net[typist]).client.sendTyping(roomId, false, 0);
  });

  it.each(['hs1', 'hs2', 'synapse'] as const)('a read receipt of a user of %s shows on the other two servers', async (reader) => {
    const { event_id: eventId } = await user(net.hs1).client.sendTextMessage(roomId, `read me, ${reader}`);
    for (const server of servers) await eventually(`${server.label} has the message`, () => user(server).client.fetchRoomEvent(roomId, eventId), (event) => event.event_id === eventId);
    await user(net[reader]).client.http.authedRequest('POST' as never, `/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, undefined, {});
    for (const server of others(net[reader])) {
      await eventually(`${server.label} sees ${reader}'s receipt`, () => syncOf(server, user(server)), (sync) => {
        const receipts = ephemeralOf(sync, roomId, 'm.receipt')?.content as Record<string, { 'm.read'?: Record<string, unknown> }> | undefined;
        return receipts?.[eventId]?.['m.read']?.[user(net[reader]).userId] !== undefined;
      });
    }
  });

  it.each(['hs1', 'synapse'] as const)('the presence of a user of %s shows on the other servers', async (who) => {
    const status = `busy on ${who}`;
    await user(net[who]).client.setPresence({ presence: 'online', status_msg: status });
    for (const server of others(net[who])) {
      await eventually(`${server.label} sees ${who}'s presence`, () => user(server).client.getPresence(user(net[who]).userId), (presence) => presence.presence === 'online' && presence.status_msg === status);
    }
  });
});
