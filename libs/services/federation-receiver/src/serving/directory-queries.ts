import { publicRoomChunk, type AccountsDefinition, type PublicRoomsChunk, type RoomDirectoryDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseRoomAlias, parseUserId, type RoomId } from '@axon/matrix-identifiers';
import type { ServiceClient } from '@axon/platform-rpc';
import type { RoomAccess } from '../rooms/room-access';
import { serverOfUser } from '../rooms/room-access';

export interface PublicRoomsPage {
  readonly chunk: PublicRoomsChunk[];
  readonly next_batch?: string;
  readonly prev_batch?: string;
  readonly total_room_count_estimate: number;
}

/**
 * What other servers may ask about this server's users, aliases and room directory:
 * `query/profile`, `query/directory`, `publicRooms`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-for-information
 */
export class DirectoryQueries {
  constructor(
    private readonly accounts: Pick<ServiceClient<typeof AccountsDefinition>, 'getProfile'>,
    private readonly directory: Pick<ServiceClient<typeof RoomDirectoryDefinition>, 'resolveAlias' | 'listPublicRooms'>,
    private readonly access: Pick<RoomAccess, 'joinedServers'>,
    private readonly serverName: string,
  ) {}

  /** `GET /query/profile?user_id=&field=`. */
  async profile(userId: string, field: string | undefined): Promise<{ displayname?: string; avatar_url?: string }> {
    const user = parseUserId(userId);
    if (!user.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(userId)} is not a user ID`, 400);
    if (serverOfUser(user.value) !== this.serverName) throw new MatrixError('M_INVALID_PARAM', `${userId} is not a user of this server`, 400);
    if (field !== undefined && field !== 'displayname' && field !== 'avatar_url') throw new MatrixError('M_INVALID_PARAM', 'field must be displayname or avatar_url', 400);
    const profile = await this.accounts.getProfile({ userId: user.value });
    if (!profile.found) throw new MatrixError('M_NOT_FOUND', 'Profile was not found', 404);
    return {
      ...(profile.displayname !== undefined && field !== 'avatar_url' ? { displayname: profile.displayname } : {}),
      ...(profile.avatarUrl !== undefined && field !== 'displayname' ? { avatar_url: profile.avatarUrl } : {}),
    };
  }

  /** `GET /query/directory?room_alias=`: the room and the servers in it. */
  async alias(roomAlias: string): Promise<{ room_id: string; servers: string[] }> {
    const alias = parseRoomAlias(roomAlias);
    if (!alias.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomAlias)} is not a room alias`, 400);
    const found = await this.directory.resolveAlias({ alias: alias.value });
    if (!found.found) throw new MatrixError('M_NOT_FOUND', 'Room alias not found', 404);
    const servers = [...(await this.access.joinedServers(found.roomId as RoomId))];
    // This server first: it resolved the alias and is in the room.
    return { room_id: found.roomId, servers: [this.serverName, ...servers.filter((s) => s !== this.serverName)] };
  }

  /** `GET`/`POST /publicRooms`: the published rooms, a page at a time (`since` as the Client-Server API's). */
  async publicRooms(query: { limit?: number; since?: string; searchTerm?: string }): Promise<PublicRoomsPage> {
    if (query.since !== undefined && !/^o\d{1,9}$/.test(query.since)) throw new MatrixError('M_INVALID_PARAM', `invalid since token ${JSON.stringify(query.since)}`, 400);
    const offset = query.since === undefined ? 0 : Number(query.since.slice(1));
    const limit = query.limit ?? 0;
    const page = await this.directory.listPublicRooms({ limit, offset, searchTerm: query.searchTerm ?? '' });
    const end = offset + page.rooms.length;
    return {
      chunk: page.rooms.map(publicRoomChunk),
      ...(limit > 0 && end < page.total ? { next_batch: `o${end}` } : {}),
      ...(offset > 0 ? { prev_batch: `o${Math.max(0, offset - (limit > 0 ? limit : offset))}` } : {}),
      total_room_count_estimate: page.total,
    };
  }
}
