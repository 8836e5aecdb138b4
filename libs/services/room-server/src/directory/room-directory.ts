import type { PublicRoom, RoomDirectoryDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { DataSource } from '@axon/platform-database';
import type { ServiceImplementation } from '@axon/platform-rpc';

type Content = Record<string, unknown>;

function stringField(content: Content | undefined, key: string): string {
  const value = content?.[key];
  return typeof value === 'string' ? value : '';
}

/**
 * `RoomDirectory`: this server's room aliases and published rooms (schema
 * `room_server`, tables `room_aliases` and `published_rooms`). A public room's summary is
 * read from its current state when listed.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#published-room-directory
 */
export function createRoomDirectory(db: DataSource): ServiceImplementation<RoomDirectoryDefinition> {
  const roomExists = async (roomId: string): Promise<boolean> =>
    ((await db.query(`SELECT 1 FROM rooms WHERE room_id = $1`, [roomId])) as unknown[]).length === 1;

  const summaries = async (roomIds: readonly string[]): Promise<PublicRoom[]> => {
    if (roomIds.length === 0) return [];
    const state = (await db.query(
      `SELECT c.room_id, c.type, e.pdu_json FROM current_state c JOIN events e ON e.nid = c.event_nid
       WHERE c.room_id = ANY($1) AND c.state_key = '' AND c.type = ANY($2)`,
      [
        roomIds,
        ['m.room.name', 'm.room.topic', 'm.room.canonical_alias', 'm.room.avatar', 'm.room.join_rules', 'm.room.guest_access', 'm.room.history_visibility', 'm.room.create'],
      ],
    )) as Array<{ room_id: string; type: string; pdu_json: string }>;
    const members = (await db.query(`SELECT room_id, count(*)::int AS joined FROM memberships WHERE room_id = ANY($1) AND membership = 'join' GROUP BY room_id`, [roomIds])) as Array<{
      room_id: string;
      joined: number;
    }>;
    const byRoom = new Map<string, Map<string, Content>>();
    for (const row of state) {
      const content = (JSON.parse(row.pdu_json) as { content?: Content }).content ?? {};
      let entry = byRoom.get(row.room_id);
      if (entry === undefined) byRoom.set(row.room_id, (entry = new Map()));
      entry.set(row.type, content);
    }
    const joined = new Map(members.map((row) => [row.room_id, row.joined]));
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
      const rows = (await db.query(
        `INSERT INTO room_aliases (alias, room_id, creator, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (alias) DO NOTHING RETURNING alias`,
        [alias, roomId, creator, Date.now()],
      )) as unknown[];
      return { created: rows.length === 1 };
    },
    async resolveAlias({ alias }) {
      const rows = (await db.query(`SELECT room_id, creator FROM room_aliases WHERE alias = $1`, [alias])) as Array<{ room_id: string; creator: string }>;
      return rows[0] === undefined ? { found: false, roomId: '', creator: '' } : { found: true, roomId: rows[0].room_id, creator: rows[0].creator };
    },
    async deleteAlias({ alias }) {
      const rows = (await db.query(`WITH gone AS (DELETE FROM room_aliases WHERE alias = $1 RETURNING alias) SELECT alias FROM gone`, [alias])) as unknown[];
      return { found: rows.length === 1 };
    },
    async listAliases({ roomId }) {
      const rows = (await db.query(`SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY created_at, alias`, [roomId])) as Array<{ alias: string }>;
      return { aliases: rows.map((row) => row.alias) };
    },
    async setVisibility({ roomId, visibility }) {
      if (!(await roomExists(roomId))) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
      if (visibility === 'public') await db.query(`INSERT INTO published_rooms (room_id) VALUES ($1) ON CONFLICT DO NOTHING`, [roomId]);
      else if (visibility === 'private') await db.query(`DELETE FROM published_rooms WHERE room_id = $1`, [roomId]);
      else throw new MatrixError('M_INVALID_PARAM', 'visibility must be "public" or "private"', 400);
      return {};
    },
    async getVisibility({ roomId }) {
      if (!(await roomExists(roomId))) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
      const rows = (await db.query(`SELECT 1 FROM published_rooms WHERE room_id = $1`, [roomId])) as unknown[];
      return { visibility: rows.length === 1 ? 'public' : 'private' };
    },
    async listPublicRooms({ limit, offset, searchTerm }) {
      const published = (await db.query(`SELECT room_id FROM published_rooms ORDER BY room_id`)) as Array<{ room_id: string }>;
      let rooms = await summaries(published.map((row) => row.room_id));
      const term = searchTerm.trim().toLowerCase();
      if (term !== '') rooms = rooms.filter((room) => [room.name, room.topic, room.canonicalAlias].some((text) => text.toLowerCase().includes(term)));
      rooms.sort((x, y) => y.numJoinedMembers - x.numJoinedMembers || (x.roomId < y.roomId ? -1 : 1));
      const page = limit === 0 ? rooms.slice(offset) : rooms.slice(offset, offset + limit);
      return { rooms: page, total: rooms.length };
    },
  };
}
