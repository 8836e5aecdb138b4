import { startFederationNet, type FederatedServer, type FederatedUser, type FederationNet } from '@axon/testing';

// Look-ups of another server's users, aliases and room directory, through the asking
// user's own server (query/profile, query/directory, publicRooms), between Axon and
// Synapse both ways.
describe('queries across servers (hs1, hs2, Synapse)', () => {
  let net: FederationNet;
  const users = new Map<string, FederatedUser>();

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    for (const server of [net.hs1, net.hs2, net.synapse]) {
      const who = await net.register(server, 'looker');
      await who.client.setDisplayName(`Looker of ${server.label}`);
      users.set(server.label, who);
    }
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  const user = (server: FederatedServer): FederatedUser => users.get(server.label)!;
  const pairs = [
    ['hs1', 'hs2'],
    ['hs1', 'synapse'],
    ['synapse', 'hs1'],
  ] as const;

  it.each(pairs)('a user of %s reads the profile of a user of %s', async (asker, owner) => {
    const profile = await user(net[asker]).client.getProfileInfo(user(net[owner]).userId);
    expect(profile.displayname).toBe(`Looker of ${owner}`);
    await expect(user(net[asker]).client.getProfileInfo(`@nobody:${net[owner].serverName}`)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
  });

  it.each(pairs)('a user of %s resolves an alias of %s, joins by it, and finds the room in its directory', async (asker, owner) => {
    const localpart = `looked-up-${asker}-${owner}`;
    const { room_id: roomId } = await user(net[owner]).client.createRoom({ preset: 'public_chat' as never, room_alias_name: localpart, visibility: 'public' as never, name: `room of ${owner}` });
    const alias = `#${localpart}:${net[owner].serverName}`;
    const resolved = await user(net[asker]).client.getRoomIdForAlias(alias);
    expect(resolved.room_id).toBe(roomId);
    expect(resolved.servers).toContain(net[owner].serverName);
    await expect(user(net[asker]).client.getRoomIdForAlias(`#nothing:${net[owner].serverName}`)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
    await user(net[asker]).client.joinRoom(alias);
    expect((await user(net[asker]).client.getJoinedRooms()).joined_rooms).toContain(roomId);
    const directory = await user(net[asker]).client.publicRooms({ server: net[owner].serverName, limit: 50 });
    expect(directory.chunk.find((room) => room.room_id === roomId)?.name).toBe(`room of ${owner}`);
  });
});
