import type { PublicRoom, RoomDirectoryDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId, parseRoomAlias, parseRoomId, type RoomId } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import { known } from '../query/request-ids';
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
  /** The room a request names, if it exists; else `notFound` (the one answer for an unknown and a malformed room ID). */
  const existingRoom = async (roomId: string, notFound: string): Promise<RoomId> => {
    const id = known(parseRoomId, roomId);
    if (id === undefined || !(await storage.rooms.exists(db, id))) throw new MatrixError('M_NOT_FOUND', notFound, 404);
    return id;
  };

  const summaries = async (roomIds: readonly RoomId[]): Promise<PublicRoom[]> => {
    if (roomIds.length === 0) return [];
    const state = await directory.summaryState(db, roomIds);
    const joined = await storage.memberships.joinedCounts(db, roomIds);
    const byRoom = new Map<RoomId, Map<string, Content>>();
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
      const room = await existingRoom(roomId, `unknown room ${roomId}`);
      // Both are stored, so both must parse. client-api asks with an alias it checked (and
      // refused alike) and the requester's own user ID.
      const [name, by] = [parseRoomAlias(alias), parseHistoricalUserId(creator)];
      if (!name.ok) throw new MatrixError('M_INVALID_PARAM', `Room alias invalid: ${name.error}`, 400);
      if (!by.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(creator)} is not a user ID`, 400);
      return { created: await directory.createAlias(db, name.value, room, by.value, Date.now()) };
    },
    async resolveAlias({ alias }) {
      const name = known(parseRoomAlias, alias);
      const found = name === undefined ? undefined : await directory.resolveAlias(db, name);
      return found === undefined ? { found: false, roomId: '', creator: '' } : { found: true, roomId: found.room_id, creator: found.creator };
    },
    async deleteAlias({ alias }) {
      const name = known(parseRoomAlias, alias);
      return { found: name !== undefined && (await directory.deleteAlias(db, name)) };
    },
    async listAliases({ roomId }) {
      const id = known(parseRoomId, roomId);
      return { aliases: id === undefined ? [] : await directory.aliasesOf(db, id) };
    },
    async setVisibility({ roomId, visibility }) {
      const room = await existingRoom(roomId, 'Room not found');
      if (visibility === 'public') await directory.publish(db, room);
      else if (visibility === 'private') await directory.unpublish(db, room);
      else throw new MatrixError('M_INVALID_PARAM', 'visibility must be "public" or "private"', 400);
      return {};
    },
    async getVisibility({ roomId }) {
      const room = await existingRoom(roomId, 'Room not found');
      return { visibility: (await directory.isPublished(db, room)) ? 'public' : 'private' };
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
