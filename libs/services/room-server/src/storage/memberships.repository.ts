import type { Queryable } from './rows';

/** `memberships`: each user's current membership of each room, with the event that set it. */
export class MembershipsRepository {
  async of(q: Queryable, roomId: string, userId: string): Promise<{ membership: string; event_id: string } | undefined> {
    const rows = (await q.query(`SELECT m.membership, e.event_id FROM memberships m JOIN events e ON e.nid = m.event_nid WHERE m.room_id = $1 AND m.user_id = $2`, [
      roomId,
      userId,
    ])) as Array<{ membership: string; event_id: string }>;
    return rows[0];
  }

  async roomsOf(q: Queryable, userId: string, membership: string): Promise<string[]> {
    const rows = (await q.query(`SELECT room_id FROM memberships WHERE user_id = $1 AND membership = $2 ORDER BY room_id`, [userId, membership])) as Array<{ room_id: string }>;
    return rows.map((row) => row.room_id);
  }

  async set(tx: Queryable, roomId: string, userId: string, membership: string, nid: string): Promise<void> {
    await tx.query(
      `INSERT INTO memberships (room_id, user_id, membership, event_nid) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid`,
      [roomId, userId, membership, nid],
    );
  }

  /** Joined members per room, for the rooms that have any. */
  async joinedCounts(q: Queryable, roomIds: readonly string[]): Promise<Map<string, number>> {
    if (roomIds.length === 0) return new Map();
    const rows = (await q.query(`SELECT room_id, count(*)::int AS joined FROM memberships WHERE room_id = ANY($1) AND membership = 'join' GROUP BY room_id`, [roomIds])) as Array<{
      room_id: string;
      joined: number;
    }>;
    return new Map(rows.map((row) => [row.room_id, row.joined]));
  }
}
