import { RoomQueryDefinition } from '@axon/contracts-grpc';
import type { RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import type { ServiceClient } from '@axon/platform-rpc';
import { serversOfMembers } from './destinations';

/** Who is in a room, as the consumers need it to address PDUs and EDUs. */
export interface RoomMembership {
  /** The servers with a member joined to `roomId`: after `atEventId` when given, now otherwise. */
  joinedServers(roomId: RoomId, atEventId?: string): Promise<Set<ServerName>>;
  /** The rooms `userId` is joined to. */
  roomsOf(userId: UserId): Promise<RoomId[]>;
}

/** `RoomMembership` over the room server's `RoomQuery` (`GetMembers`, `GetRoomsOfUser`). */
export class RoomQueryMembership implements RoomMembership {
  constructor(private readonly rooms: Pick<ServiceClient<typeof RoomQueryDefinition>, 'getMembers' | 'getRoomsOfUser'>) {}

  async joinedServers(roomId: RoomId, atEventId?: string): Promise<Set<ServerName>> {
    const { events } = await this.rooms.getMembers({ roomId, atEventId: atEventId ?? '', memberships: ['join'], notMemberships: [] });
    return serversOfMembers(events.map((event) => stateKeyOf(event.pduJson)));
  }

  async roomsOf(userId: UserId): Promise<RoomId[]> {
    // The room server's own room IDs: branded as read.
    return (await this.rooms.getRoomsOfUser({ userId, membership: 'join' })).roomIds as RoomId[];
  }
}

function stateKeyOf(pduJson: string): string {
  const stateKey = (JSON.parse(pduJson) as { state_key?: unknown }).state_key;
  return typeof stateKey === 'string' ? stateKey : '';
}
