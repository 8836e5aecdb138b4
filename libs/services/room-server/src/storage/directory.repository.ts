import type { RoomAlias, RoomId, UserId } from '@axon/matrix-identifiers';
import type { Queryable } from './rows';

/** The state types a published room's summary is made of. */
export const SUMMARY_STATE_TYPES = [
  'm.room.name',
  'm.room.topic',
  'm.room.canonical_alias',
  'm.room.avatar',
  'm.room.join_rules',
  'm.room.guest_access',
  'm.room.history_visibility',
  'm.room.create',
] as const;

/** `room_aliases` and `published_rooms`: this server's room aliases and its published room directory. */
export class DirectoryRepository {
  /** Creates the alias unless it exists; true if it was created. */
  async createAlias(q: Queryable, alias: RoomAlias, roomId: RoomId, creator: UserId, now: number): Promise<boolean> {
    const rows = (await q.query(`INSERT INTO room_aliases (alias, room_id, creator, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (alias) DO NOTHING RETURNING alias`, [
      alias,
      roomId,
      creator,
      now,
    ])) as unknown[];
    return rows.length === 1;
  }

  async resolveAlias(q: Queryable, alias: RoomAlias): Promise<{ room_id: RoomId; creator: UserId } | undefined> {
    const rows = (await q.query(`SELECT room_id, creator FROM room_aliases WHERE alias = $1`, [alias])) as Array<{ room_id: RoomId; creator: UserId }>;
    return rows[0];
  }

  /** True if the alias existed. */
  async deleteAlias(q: Queryable, alias: RoomAlias): Promise<boolean> {
    const rows = (await q.query(`WITH gone AS (DELETE FROM room_aliases WHERE alias = $1 RETURNING alias) SELECT alias FROM gone`, [alias])) as unknown[];
    return rows.length === 1;
  }

  async aliasesOf(q: Queryable, roomId: RoomId): Promise<RoomAlias[]> {
    const rows = (await q.query(`SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY created_at, alias`, [roomId])) as Array<{ alias: RoomAlias }>;
    return rows.map((row) => row.alias);
  }

  async publish(q: Queryable, roomId: RoomId): Promise<void> {
    await q.query(`INSERT INTO published_rooms (room_id) VALUES ($1) ON CONFLICT DO NOTHING`, [roomId]);
  }

  async unpublish(q: Queryable, roomId: RoomId): Promise<void> {
    await q.query(`DELETE FROM published_rooms WHERE room_id = $1`, [roomId]);
  }

  async isPublished(q: Queryable, roomId: RoomId): Promise<boolean> {
    return ((await q.query(`SELECT 1 FROM published_rooms WHERE room_id = $1`, [roomId])) as unknown[]).length === 1;
  }

  async published(q: Queryable): Promise<RoomId[]> {
    const rows = (await q.query(`SELECT room_id FROM published_rooms ORDER BY room_id`)) as Array<{ room_id: RoomId }>;
    return rows.map((row) => row.room_id);
  }

  /** The summary state events (`SUMMARY_STATE_TYPES`, state key '') of rooms: room, type and PDU JSON. */
  async summaryState(q: Queryable, roomIds: readonly RoomId[]): Promise<Array<{ room_id: RoomId; type: string; pdu_json: string }>> {
    if (roomIds.length === 0) return [];
    return (await q.query(
      `SELECT c.room_id, c.type, e.pdu_json FROM current_state c JOIN events e ON e.nid = c.event_nid
       WHERE c.room_id = ANY($1) AND c.state_key = '' AND c.type = ANY($2)`,
      [roomIds, [...SUMMARY_STATE_TYPES]],
    )) as Array<{ room_id: RoomId; type: string; pdu_json: string }>;
  }
}
