import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

type StateEvent = { type: string; state_key: string; content: Record<string, unknown> };

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
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 400)})`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

// Kicks, bans and unbans of a user of another server, knocks answered across servers, and
// a restricted room joined through a server in the allowed room: Axon as the resident and
// as the other server, with Synapse, in room versions 10 and 12.
describe.each(['10', '12'])('moderation and knocks across servers, room version %s', (version) => {
  let net: FederationNet;
  const users = new Map<string, FederatedUser>();

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    for (const server of [net.hs1, net.hs2, net.synapse]) users.set(server.label, await net.register(server, `mod${version}`));
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  const user = (server: FederatedServer): FederatedUser => users.get(server.label)!;
  const membershipOn = async (server: FederatedServer, roomId: string, userId: string): Promise<string | undefined> => {
    const state = (await user(server).client.roomState(roomId)) as unknown as StateEvent[];
    return state.find((e) => e.type === 'm.room.member' && e.state_key === userId)?.content['membership'] as string | undefined;
  };

  it.each([
    ['hs1', 'hs2'],
    ['hs1', 'synapse'],
    ['synapse', 'hs1'],
  ] as const)('an admin on %s kicks, bans and unbans a user of %s, who can join again only when unbanned', async (admin, member) => {
    const host = user(net[admin]);
    const guest = user(net[member]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'public_chat' as never, room_version: version });
    await guest.client.joinRoom(roomId, { viaServers: [net[admin].serverName] });
    await eventually('joined', () => membershipOn(net[admin], roomId, guest.userId), (m) => m === 'join');

    await host.client.kick(roomId, guest.userId, 'out');
    await eventually("the kicked user's server learns of the kick", () => membershipOn(net[member], roomId, guest.userId).catch(() => 'gone'), (m) => m === 'leave' || m === 'gone');
    await guest.client.joinRoom(roomId, { viaServers: [net[admin].serverName] });
    await eventually('joined again', () => membershipOn(net[admin], roomId, guest.userId), (m) => m === 'join');

    await host.client.ban(roomId, guest.userId, 'banned');
    await eventually('banned on the resident', () => membershipOn(net[admin], roomId, guest.userId), (m) => m === 'ban');
    // Until the banned user's own server learns of the ban, it would take a join as its own room's.
    await eventually("the banned user's server learns of the ban", () => membershipOn(net[member], roomId, guest.userId).catch(() => 'gone'), (m) => m === 'ban' || m === 'gone');
    await expect(guest.client.joinRoom(roomId, { viaServers: [net[admin].serverName] })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });

    await host.client.unban(roomId, guest.userId);
    await eventually('unbanned', () => membershipOn(net[admin], roomId, guest.userId), (m) => m === 'leave');
    await guest.client.joinRoom(roomId, { viaServers: [net[admin].serverName] });
    await eventually('joined after the unban', () => membershipOn(net[admin], roomId, guest.userId), (m) => m === 'join');
  });

  it.each([
    ['synapse', 'hs1'],
    ['hs2', 'hs1'],
    ['hs1', 'synapse'],
  ] as const)('a user of %s knocks on a knock room of %s; an invite answers the knock, and they join', async (knocker, resident) => {
    const host = user(net[resident]);
    const guest = user(net[knocker]);
    const { room_id: roomId } = await host.client.createRoom({ room_version: version, initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
    await guest.client.knockRoom(roomId, { viaServers: [net[resident].serverName] });
    await eventually('the resident sees the knock', () => membershipOn(net[resident], roomId, guest.userId), (m) => m === 'knock');
    await host.client.invite(roomId, guest.userId);
    await eventually('the invite reaches the knocker', async () => (await guest.client.getJoinedRooms(), await fetchInvite(net[knocker], guest, roomId)), (invited) => invited);
    await guest.client.joinRoom(roomId, { viaServers: [net[resident].serverName] });
    await eventually('joined', () => membershipOn(net[resident], roomId, guest.userId), (m) => m === 'join');
  });

  it.each([
    ['hs2', 'hs1'],
    ['synapse', 'hs1'],
    ['hs1', 'synapse'],
  ] as const)('a user of %s joins a restricted room of %s through their membership of the allowed room', async (joiner, resident) => {
    const host = user(net[resident]);
    const guest = user(net[joiner]);
    const { room_id: space } = await host.client.createRoom({ preset: 'public_chat' as never, room_version: version });
    await guest.client.joinRoom(space, { viaServers: [net[resident].serverName] });
    await eventually('in the allowed room', () => membershipOn(net[resident], space, guest.userId), (m) => m === 'join');
    const { room_id: roomId } = await host.client.createRoom({
      room_version: version,
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
    });
    await guest.client.joinRoom(roomId, { viaServers: [net[resident].serverName] });
    await eventually('joined the restricted room', () => membershipOn(net[resident], roomId, guest.userId), (m) => m === 'join');
    const stranger = await net.register(net[joiner], `stranger${version}${resident}`);
    await expect(stranger.client.joinRoom(roomId, { viaServers: [net[resident].serverName] })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
  });
});

let syncs = 0;

/** Whether `who`'s initial sync lists an invite to `roomId` (a filter of its own: Synapse caches identical syncs). */
async function fetchInvite(server: FederatedServer, who: FederatedUser, roomId: string): Promise<boolean> {
  const filter = encodeURIComponent(JSON.stringify({ account_data: { not_types: [`none.${++syncs}`] } }));
  const response = await fetch(`${server.clientUrl}/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { headers: { authorization: `Bearer ${who.accessToken}` } });
  const body = (await response.json()) as { rooms?: { invite?: Record<string, unknown> } };
  return body.rooms?.invite?.[roomId] !== undefined;
}
