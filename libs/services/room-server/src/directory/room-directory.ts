import type { PublicRoom, RoomDirectoryDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { RoomStorage } from '../storage/room-storage';

type Content = Record<string, unknown>;

function stringField(content: Content | undefined, key: string): string {
  const value = content?.[key];
  return typeof value === 'string' ? value : '';
}

/**
 * `RoomDirectory`: this server's room aliases and published rooms
 * (`DirectoryRepository`). A public room's summary is
 * read from its current state when listed.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#published-room-directory
 */
export function createRoomDirectory(storage: RoomStorage): ServiceImplementation<RoomDirectoryDefinition> {
  const { db, directory } = storage;
  const roomExists = (roomId: string): Promise<boolean> => storage.rooms.exists(db, roomId);

  const summaries = async (roomIds: readonly string[]): Promise<PublicRoom[]> => {
    if (roomIds.length === 0) return [];
    const state = await directory.summaryState(db, roomIds);
    const joined = await storage.memberships.joinedCounts(db, roomIds);
    const byRoom = new Map<string, Map<string, Content>>();
    for (const row of state) {
      const content = (JSON.parse(row.pdu_json) as { content?: Content }).content ?? {};
      let entry = byRoom.get(row.room_id);
      if (entry === undefined) byRoom.set(row.room_id, (entry = new Map()));
      entry.set(row.type, content);
    }
    return roomIds.map((roomId) => {
      const roomState = byRoom.get(roomId);
      return {
        roomId,
        numJoinedMembers: joined.get(roomId) ?? 0,
        worldReadable: stringField(roomState?.get('m.room.history_visibility'), 'history_visibility') === 'world_readable',
        guestCanJoin: stringField(roomState?.get('m.room.guest_access'), 'guest_access') === 'can_join',
        name: stringField(roomState?.get('m.room.name'), 'name'),
        topic: stringField(roomState?.get('m.room.topic'), 'topic'),
        canonicalAlias: stringField(roomState?.get('m.room.canonical_alias'), 'alias'),
        avatarUrl: stringField(roomState?.get('m.room.avatar'), 'url'),
        joinRule: stringField(roomState?.get('m.room.join_rules'), 'join_rule'),
        roomType: stringField(roomState?.get('m.room.create'), 'type'),
      };
    });
  };

  return {
    async createAlias({ alias, roomId, creator }) {
      if (!(await roomExists(roomId))) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
      return { created: await directory.createAlias(db, alias, roomId, creator, Date.now()) };
    },
    async resolveAlias({ alias }) {
      const found = await directory.resolveAlias(db, alias);
      return found === undefined ? { found: false, roomId: '', creator: '' } : { found: true, roomId: found.room_id, creator: found.creator };
    },
    async deleteAlias({ alias }) {
      return { found: await directory.deleteAlias(db, alias) };
    },
    async listAliases({ roomId }) {
      return { aliases: await directory.aliasesOf(db, roomId) };
    },
    async setVisibility({ roomId, visibility }) {
      if (!(await roomExists(roomId))) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
      if (visibility === 'public') await directory.publish(db, roomId);
      else if (visibility === 'private') await directory.unpublish(db, roomId);
      else throw new MatrixError('M_INVALID_PARAM', 'visibility must be "public" or "private"', 400);
      return {};
    },
    async getVisibility({ roomId }) {
      if (!(await roomExists(roomId))) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
      return { visibility: (await directory.isPublished(db, roomId)) ? 'public' : 'private' };
    },
    async listPublicRooms({ limit, offset, searchTerm }) {
      let rooms = await summaries(await directory.published(db));
      const term = searchTerm.trim().toLowerCase();
      if (term !== '') rooms = rooms.filter((room) => [room.name, room.topic, room.canonicalAlias].some((text) => text.toLowerCase().includes(term)));
      rooms.sort((x, y) => y.numJoinedMembers - x.numJoinedMembers || (x.roomId < y.roomId ? -1 : 1));
      const page = limit === 0 ? rooms.slice(offset) : rooms.slice(offset, offset + limit);
      return { rooms: page, total: rooms.length };
    },
  };
}
