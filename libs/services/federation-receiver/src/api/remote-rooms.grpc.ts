import type { RemoteRoomsDefinition } from '@axon/contracts-grpc';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import { parseRoomAlias, parseRoomId, parseServerName, parseUserId, type ServerName } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { RemoteJoin } from '../remote-rooms/remote-join';
import type { RemoteMembership } from '../remote-rooms/remote-membership';
import type { RemoteQueries } from '../remote-rooms/remote-queries';

/**
 * `RemoteRooms`: local users joining rooms through other servers, and their look-ups of
 * other servers' profiles, aliases and room directories, for client-api.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#joining-rooms
 */
/**
 * What a local user asked of other servers, when none of them could be reached (or one
 * failed on its side): a refusal of the kind the Client-Server endpoint documents, not a
 * server error. Another server's own refusal (a Matrix 4xx) passes through as it is.
 */
async function orUnreachable<T>(work: Promise<T>, unreachable: (reason: string) => MatrixError): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof MatrixError && error.status < 500) throw error;
    throw unreachable(error instanceof Error ? error.message : String(error));
  }
}

const notFound = (what: string) => (reason: string) => new MatrixError('M_NOT_FOUND', `${what}: ${reason}`, 404);

export function createRemoteRoomsService(join: Pick<RemoteJoin, 'join'>, queries: RemoteQueries, membership: Pick<RemoteMembership, 'invite' | 'leave' | 'knock'>): ServiceImplementation<RemoteRoomsDefinition> {
  const parsed = (roomId: string, userId: string, servers: readonly string[], contentJson: string) => {
    const room = parseRoomId(roomId);
    const user = parseUserId(userId);
    if (!room.ok || !user.ok) throw new MatrixError('M_INVALID_PARAM', 'room_id and user_id must be a room ID and a user ID', 400);
    const via = servers.flatMap((server) => {
      const name = parseServerName(server);
      return name.ok ? [name.value] : [];
    });
    const content = contentJson === '' ? {} : (JSON.parse(contentJson) as unknown);
    return { roomId: room.value, userId: user.value, via, content: isJsonObject(content as never) ? (content as JsonObject) : {} };
  };
  const serverOf = (id: string): ServerName => {
    const name = parseServerName(id.slice(id.indexOf(':') + 1));
    if (!name.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(id)} names no server`, 400);
    return name.value;
  };
  return {
    async queryProfile({ userId, field }) {
      const user = parseUserId(userId);
      if (!user.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(userId)} is not a user ID`, 400);
      const profile = await orUnreachable(queries.profile(serverOf(user.value), user.value, field), notFound(`the profile of ${user.value} could not be had`));
      return profile === undefined ? { found: false } : { found: true, ...profile };
    },
    async queryDirectory({ roomAlias }) {
      const alias = parseRoomAlias(roomAlias);
      if (!alias.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomAlias)} is not a room alias`, 400);
      const found = await orUnreachable(queries.alias(serverOf(alias.value), alias.value), notFound(`${alias.value} could not be resolved`));
      return found === undefined ? { found: false, roomId: '', servers: [] } : { found: true, roomId: found.roomId, servers: found.servers };
    },
    async queryPublicRooms({ server, limit, since, searchTerm }) {
      const name = parseServerName(server);
      if (!name.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(server)} is not a server name`, 400);
      return { pageJson: JSON.stringify(await orUnreachable(queries.publicRooms(name.value, { limit, since, searchTerm }), notFound(`the room directory of ${name.value} could not be had`))) };
    },
    async joinRoom({ roomId, userId, servers, contentJson }) {
      const request = parsed(roomId, userId, servers, contentJson);
      return { eventId: await orUnreachable(join.join(request.userId, request.roomId, request.via, request.content), notFound(`${request.roomId} could not be joined through any server`)) };
    },
    async leaveRoom({ roomId, userId, servers, contentJson }) {
      const request = parsed(roomId, userId, servers, contentJson);
      return { eventId: await orUnreachable(membership.leave(request.userId, request.roomId, request.via, request.content), notFound(`${request.roomId} could not be left through any server`)) };
    },
    async knockRoom({ roomId, userId, servers, contentJson }) {
      const request = parsed(roomId, userId, servers, contentJson);
      return { eventId: await orUnreachable(membership.knock(request.userId, request.roomId, request.via, request.content), notFound(`${request.roomId} could not be knocked on through any server`)) };
    },
    async invite({ roomId, sender, target, contentJson }) {
      const request = parsed(roomId, sender, [], contentJson);
      const invitee = parseUserId(target);
      if (!invitee.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(target)} is not a user ID`, 400);
      return {
        eventId: await orUnreachable(
          membership.invite(request.roomId, request.userId, invitee.value, request.content),
          (reason) => new MatrixError('M_FORBIDDEN', `the server of ${invitee.value} did not take the invite: ${reason}`, 403),
        ),
      };
    },
  };
}
