import type { RemoteRoomsDefinition } from '@axon/contracts-grpc';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import { parseRoomId, parseServerName, parseUserId, type ServerName } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { RemoteJoin } from '../remote-rooms/remote-join';

/**
 * `RemoteRooms`: local users joining rooms through other servers, for client-api.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#joining-rooms
 */
export function createRemoteRoomsService(join: Pick<RemoteJoin, 'join'>): ServiceImplementation<RemoteRoomsDefinition> {
  return {
    async joinRoom({ roomId, userId, servers, contentJson }) {
      const room = parseRoomId(roomId);
      const user = parseUserId(userId);
      if (!room.ok || !user.ok) throw new MatrixError('M_INVALID_PARAM', 'room_id and user_id must be a room ID and a user ID', 400);
      const via = servers.flatMap((server) => {
        const name = parseServerName(server);
        return name.ok ? [name.value] : [];
      }) as ServerName[];
      const content = contentJson === '' ? {} : (JSON.parse(contentJson) as unknown);
      const eventId = await join.join(user.value, room.value, via, isJsonObject(content as never) ? (content as JsonObject) : {});
      return { eventId };
    },
  };
}
