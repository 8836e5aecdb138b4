import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

type StateEvent = { type: string; state_key: string; sender: string; content: Record<string, unknown>; event_id: string };

/** Polls until `check` holds (federation is asynchronous: the other server learns a little later). */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 500)})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let syncs = 0;

/**
 * One initial `/sync` of a user, raw. Synapse answers a repeated identical sync request
 * from a cache for a while (`sync_response_cache_duration`): each request here has a
 * filter of its own.
 */
async function syncOf(server: FederatedServer, who: FederatedUser): Promise<{ rooms?: { invite?: Record<string, { invite_state: { events: StateEvent[] } }>; join?: Record<string, unknown>; leave?: Record<string, unknown> } }> {
  const filter = encodeURIComponent(JSON.stringify({ presence: { not_types: [`none.${++syncs}`] } }));
  const response = await fetch(`${server.clientUrl}/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { headers: { authorization: `Bearer ${who.accessToken}` } });
  if (!response.ok) throw new Error(`sync: ${response.status} ${await response.text()}`);
  return (await response.json()) as never;
}

const memberOf = (state: readonly StateEvent[], userId: string): string | undefined => state.find((e) => e.type === 'm.room.member' && e.state_key === userId)?.content['membership'] as string | undefined;

// Rooms shared across servers: a user of one server joins a room made on another, through
// make_join and send_join (Axon as the resident and as the joining server, with Synapse
// both ways), in room versions 10 and 12.
describe.each(['10', '12'])('joining rooms across servers (hs1, hs2, Synapse), room version %s', (version) => {
  let net: FederationNet;
  const users = new Map<string, FederatedUser>();

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    for (const server of [net.hs1, net.hs2, net.synapse]) users.set(server.label, await net.register(server, `user${version}`));
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  const user = (server: FederatedServer): FederatedUser => users.get(server.label)!;
  const state = async (who: FederatedUser, roomId: string): Promise<StateEvent[]> => (await who.client.roomState(roomId)) as unknown as StateEvent[];

  it.each([
    ['hs2', 'hs1'],
    ['synapse', 'hs1'],
    ['hs1', 'synapse'],
  ] as const)('a user of %s joins a public room of %s, and both servers see the same membership', async (joiner, resident) => {
    const host = user(net[resident]);
    const guest = user(net[joiner]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'public_chat' as never, room_version: version, name: `made on ${resident}` });
    await guest.client.joinRoom(roomId, { viaServers: [net[resident].serverName] });

    const hostState = await eventually('the resident sees the join', () => state(host, roomId), (s) => memberOf(s, guest.userId) === 'join');
    const guestState = await state(guest, roomId);
    expect(memberOf(guestState, guest.userId)).toBe('join');
    expect(memberOf(guestState, host.userId)).toBe('join');
    // The joining server took the room's state from the resident: the same events.
    const key = (e: StateEvent): string => `${e.type}|${e.state_key}|${e.event_id}`;
    expect(guestState.map(key).sort()).toEqual(hostState.map(key).sort());
    expect(guestState.find((e) => e.type === 'm.room.name')?.content['name']).toBe(`made on ${resident}`);
    // The joining server's /sync has the room with its state (events it never saw as timeline events).
    const synced = await eventually('the joined room in /sync', () => syncOf(net[joiner], guest), (sync) => sync.rooms?.join?.[roomId] !== undefined);
    const section = synced.rooms!.join![roomId] as { state?: { events: StateEvent[] }; timeline?: { events: StateEvent[] } };
    const seen = [...(section.state?.events ?? []), ...(section.timeline?.events ?? [])];
    expect(seen.find((e) => e.type === 'm.room.name')?.content['name']).toBe(`made on ${resident}`);
    expect(seen.filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort()).toEqual([guest.userId, host.userId].sort());
  });

  it.each([
    ['hs1', 'hs2'],
    ['hs1', 'synapse'],
    ['synapse', 'hs1'],
  ] as const)('a user of %s invites a user of %s to an invite-only room: the invite shows with the room\'s stripped state, and the invitee joins', async (inviter, invitee) => {
    const host = user(net[inviter]);
    const guest = user(net[invitee]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'private_chat' as never, room_version: version, name: `invite-only on ${inviter}` });
    await host.client.invite(roomId, guest.userId);
    const invited = await eventually('the invite reaches the invitee', () => syncOf(net[invitee], guest), (sync) => sync.rooms?.invite?.[roomId] !== undefined);
    const stripped = invited.rooms!.invite![roomId]!.invite_state.events;
    expect(stripped.find((e) => e.type === 'm.room.name')?.content['name']).toBe(`invite-only on ${inviter}`);
    expect(stripped.find((e) => e.type === 'm.room.member' && e.state_key === guest.userId)?.content['membership']).toBe('invite');
    await guest.client.joinRoom(roomId);
    await eventually('the inviter sees the join', () => state(host, roomId), (s) => memberOf(s, guest.userId) === 'join');
    expect(memberOf(await state(guest, roomId), guest.userId)).toBe('join');
  });

  it.each([
    ['hs1', 'hs2'],
    ['hs1', 'synapse'],
    ['synapse', 'hs1'],
  ] as const)('a user of %s invites a user of %s, then withdraws the invite', async (inviter, invitee) => {
    const host = user(net[inviter]);
    const guest = user(net[invitee]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'private_chat' as never, room_version: version });
    await host.client.invite(roomId, guest.userId);
    await eventually('the invite reaches the invitee', () => syncOf(net[invitee], guest), (sync) => sync.rooms?.invite?.[roomId] !== undefined);
    await host.client.kick(roomId, guest.userId, 'changed my mind');
    await eventually('the invite is gone for the invitee', () => syncOf(net[invitee], guest), (sync) => sync.rooms?.invite?.[roomId] === undefined);
    await expect(guest.client.joinRoom(roomId, { viaServers: [net[inviter].serverName] })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
  });

  it.each([
    ['hs1', 'synapse'],
    ['synapse', 'hs1'],
  ] as const)('a user of %s invites a user of %s, who rejects the invite through the inviting server', async (inviter, invitee) => {
    const host = user(net[inviter]);
    const guest = user(net[invitee]);
    const { room_id: roomId } = await host.client.createRoom({ preset: 'private_chat' as never, room_version: version });
    await host.client.invite(roomId, guest.userId);
    await eventually('the invite reaches the invitee', () => syncOf(net[invitee], guest), (sync) => sync.rooms?.invite?.[roomId] !== undefined);
    await guest.client.leave(roomId);
    await eventually('the inviter sees the rejection', () => state(host, roomId), (s) => memberOf(s, guest.userId) === 'leave');
    await eventually('the invite is gone for the invitee', () => syncOf(net[invitee], guest), (sync) => sync.rooms?.invite?.[roomId] === undefined);
  });
});
