import { EVENT_COLUMNS, StaleRoomHeadError, type Queryable, type RoomRow, type StoredEvent } from './rows';

/** The new head of a room after an append: written by `advance` with compare-and-set on the old one. */
export interface RoomHeadUpdate {
  readonly roomId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly stateGroup: string | null;
  readonly latestNid: string;
  /** The room's forward extremities after the append, as event IDs. */
  readonly forwardExtremities: readonly string[];
}

/**
 * `rooms`: one row per room, its version, its head (`head_seq`, the fence every append
 * advances with compare-and-set), current state group, latest stream position and
 * forward extremities.
 */
export class RoomsRepository {
  async get(q: Queryable, roomId: string): Promise<RoomRow | undefined> {
    const rows = (await q.query(
      `SELECT room_id, room_version, head_seq, state_group::text AS state_group, latest_nid::text AS latest_nid FROM rooms WHERE room_id = $1`,
      [roomId],
    )) as RoomRow[];
    return rows[0];
  }

  async exists(q: Queryable, roomId: string): Promise<boolean> {
    return ((await q.query(`SELECT 1 FROM rooms WHERE room_id = $1`, [roomId])) as unknown[]).length === 1;
  }

  /** Creates the room row (sequence 0, no state yet) inside the creating transaction. */
  async insert(tx: Queryable, roomId: string, roomVersion: string): Promise<void> {
    await tx.query(`INSERT INTO rooms (room_id, room_version, head_seq, state_group, latest_nid) VALUES ($1, $2, 0, NULL, 0)`, [roomId, roomVersion]);
  }

  /** The forward extremities of a room, as stored events. */
  async forwardExtremities(q: Queryable, roomId: string): Promise<StoredEvent[]> {
    return (await q.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY((SELECT forward_extremities FROM rooms WHERE room_id = $1)::text[])`, [
      roomId,
    ])) as StoredEvent[];
  }

  /**
   * Locks the rows of `rooms` (in room ID order, so two writers locking overlapping sets
   * cannot deadlock) and checks each head is still `expected`: a writer that read a head
   * before another replica appended finds out here, before it writes anything. Throws
   * `StaleRoomHeadError` for the first room whose head moved.
   */
  async lockHeads(tx: Queryable, expected: ReadonlyMap<string, number>): Promise<void> {
    if (expected.size === 0) return;
    const rows = (await tx.query(`SELECT room_id, head_seq FROM rooms WHERE room_id = ANY($1) ORDER BY room_id FOR UPDATE`, [[...expected.keys()]])) as Array<{
      room_id: string;
      head_seq: number;
    }>;
    const found = new Map(rows.map((row) => [row.room_id, row.head_seq]));
    for (const [roomId, seq] of expected) if (found.get(roomId) !== seq) throw new StaleRoomHeadError(roomId);
  }

  /**
   * Advances the heads of several rooms in one statement, each with compare-and-set on
   * its old sequence. The update changes no indexed column, so it is a HOT update (no
   * index churn; see `ForwardExtremitiesOnRooms`).
   */
  async advance(tx: Queryable, updates: readonly RoomHeadUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const rows = (await tx.query(
      // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE.
      `WITH advanced AS (
         UPDATE rooms SET head_seq = u.to_seq, state_group = u.state_group, latest_nid = u.latest_nid,
           forward_extremities = ARRAY(SELECT x FROM jsonb_array_elements_text(u.extremities) AS x ORDER BY x)
         FROM (SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::jsonb[])
               AS t(room_id, from_seq, to_seq, state_group, latest_nid, extremities)) AS u
         WHERE rooms.room_id = u.room_id AND rooms.head_seq = u.from_seq
         RETURNING rooms.room_id
       ) SELECT room_id FROM advanced`,
      [
        updates.map((u) => u.roomId),
        updates.map((u) => u.fromSeq),
        updates.map((u) => u.toSeq),
        updates.map((u) => u.stateGroup),
        updates.map((u) => u.latestNid),
        updates.map((u) => JSON.stringify(u.forwardExtremities)),
      ],
    )) as Array<{ room_id: string }>;
    if (rows.length !== updates.length) {
      const advanced = new Set(rows.map((row) => row.room_id));
      throw new StaleRoomHeadError(updates.find((u) => !advanced.has(u.roomId))!.roomId);
    }
  }
}
