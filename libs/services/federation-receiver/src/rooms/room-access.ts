import type { RoomQueryDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { isServerAllowedByAcl, isJsonObject } from '@axon/matrix-events';
import type { RoomId, ServerName } from '@axon/matrix-identifiers';
import type { ServiceClient } from '@axon/platform-rpc';

export type RoomQuery = ServiceClient<typeof RoomQueryDefinition>;

/** The server of a user ID (after its first colon). */
export const serverOfUser = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/**
 * Who may ask about or write to a room over federation: the room's server ACL
 * (`m.room.server_acl`, enforced on every inbound path that concerns a room) and, for
 * reads of the room, whether the asking server has a joined member in it.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#server-access-control-lists-acls
 */
export class RoomAccess {
  constructor(private readonly query: Pick<RoomQuery, 'getRoomInfo' | 'getCurrentState' | 'getMembers'>) {}

  /** The room's version, or undefined for a room unknown here. */
  async versionOf(roomId: RoomId): Promise<string | undefined> {
    const info = await this.query.getRoomInfo({ roomId });
    return info.exists ? info.roomVersion : undefined;
  }

  async aclAllows(roomId: RoomId, server: ServerName): Promise<boolean> {
    const { events } = await this.query.getCurrentState({ roomId, types: ['m.room.server_acl'] });
    const acl = events
      .map((event) => JSON.parse(event.pduJson) as { state_key?: unknown; content?: unknown })
      .find((pdu) => pdu.state_key === '' && isJsonObject(pdu.content as never));
    return isServerAllowedByAcl(acl?.content as never, server);
  }

  /** 403 M_FORBIDDEN when the room's ACL denies `server`. */
  async requireAllowed(roomId: RoomId, server: ServerName): Promise<void> {
    if (!(await this.aclAllows(roomId, server))) throw new MatrixError('M_FORBIDDEN', `server ${server} is denied by the room's server ACL`, 403);
  }

  /** The servers with a joined member in the room now. */
  async joinedServers(roomId: RoomId): Promise<Set<string>> {
    const { events } = await this.query.getMembers({ roomId, atEventId: '', memberships: ['join'], notMemberships: [] });
    return new Set(events.map((event) => serverOfUser((JSON.parse(event.pduJson) as { state_key: string }).state_key)));
  }

  /** 404 for an unknown room, 403 unless `server` is allowed by the ACL and has a joined member in the room. */
  async requireInRoom(roomId: RoomId, server: ServerName): Promise<string> {
    const version = await this.versionOf(roomId);
    if (version === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
    await this.requireAllowed(roomId, server);
    if (!(await this.joinedServers(roomId)).has(server)) throw new MatrixError('M_FORBIDDEN', `server ${server} is not in room ${roomId}`, 403);
    return version;
  }
}
