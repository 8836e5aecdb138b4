import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { Queryable } from './rows';

/** `memberships`: each user's current membership of each room, with the event that set it. */
export class MembershipsRepository {
  async of(q: Queryable, roomId: RoomId, userId: UserId): Promise<{ membership: string; event_id: EventId } | undefined> {
    const rows = (await q.query(`SELECT m.membership, e.event_id FROM memberships m JOIN events e ON e.nid = m.event_nid WHERE m.room_id = $1 AND m.user_id = $2`, [
      roomId,
      userId,
    ])) as Array<{ membership: string; event_id: EventId }>;
    return rows[0];
  }

  async roomsOf(q: Queryable, userId: UserId, membership: string): Promise<RoomId[]> {
    const rows = (await q.query(`SELECT room_id FROM memberships WHERE user_id = $1 AND membership = $2 ORDER BY room_id`, [userId, membership])) as Array<{ room_id: RoomId }>;
    return rows.map((row) => row.room_id);
  }

  /**
   * `member` is the member event's state key as the event has it: the auth rules do not
   * require a user ID there (client-api sends only user IDs), and the column is only ever
   * matched against parsed ones, never read back as one.
   */
  async set(tx: Queryable, roomId: RoomId, member: string, membership: string, nid: string): Promise<void> {
    await tx.query(
      `INSERT INTO memberships (room_id, user_id, membership, event_nid) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid`,
      [roomId, member, membership, nid],
    );
  }

  /** Joined members per room, for the rooms that have any. */
  async joinedCounts(q: Queryable, roomIds: readonly RoomId[]): Promise<Map<RoomId, number>> {
    if (roomIds.length === 0) return new Map();
    const rows = (await q.query(`SELECT room_id, count(*)::int AS joined FROM memberships WHERE room_id = ANY($1) AND membership = 'join' GROUP BY room_id`, [roomIds])) as Array<{
      room_id: RoomId;
      joined: number;
    }>;
    return new Map(rows.map((row) => [row.room_id, row.joined]));
  }

  /** The membership a member event sets, read from the stored event at `nid` (a state change state resolution made). */
  async setFromEvent(tx: Queryable, roomId: RoomId, member: string, nid: string): Promise<void> {
    await tx.query(
      `INSERT INTO memberships (room_id, user_id, membership, event_nid)
       SELECT $1, $2, COALESCE((pdu_json::jsonb)->'content'->>'membership', 'leave'), nid FROM events WHERE nid = $3::bigint
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid`,
      [roomId, member, nid],
    );
  }

  /** Forgets a member whose state entry state resolution dropped. */
  async remove(tx: Queryable, roomId: RoomId, member: string): Promise<void> {
    await tx.query(`DELETE FROM memberships WHERE room_id = $1 AND user_id = $2`, [roomId, member]);
  }
}
