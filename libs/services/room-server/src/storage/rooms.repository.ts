import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { EVENT_COLUMNS, StaleRoomHeadError, type Queryable, type RoomRow, type StoredEvent } from './rows';

/** The new head of a room after an append: written by `fence` with compare-and-set on the old one. */
export interface RoomHeadUpdate {
  readonly roomId: RoomId;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** The room's forward extremities after the append, as event IDs. */
  readonly forwardExtremities: readonly EventId[];
}

/**
 * `rooms`: one row per room, its version, its head (`head_seq`, the fence every append
 * advances with compare-and-set), current state group, latest stream position and
 * forward extremities.
 */
export class RoomsRepository {
  async get(q: Queryable, roomId: RoomId): Promise<RoomRow | undefined> {
    const rows = (await q.query(
      `SELECT room_id, room_version, head_seq, state_group::text AS state_group, latest_nid::text AS latest_nid FROM rooms WHERE room_id = $1`,
      [roomId],
    )) as RoomRow[];
    return rows[0];
  }

  async exists(q: Queryable, roomId: RoomId): Promise<boolean> {
    return ((await q.query(`SELECT 1 FROM rooms WHERE room_id = $1`, [roomId])) as unknown[]).length === 1;
  }

  /** Creates the room row (sequence 0, no state yet) inside the creating transaction. */
  async insert(tx: Queryable, roomId: RoomId, roomVersion: string): Promise<void> {
    await tx.query(`INSERT INTO rooms (room_id, room_version, head_seq, state_group, latest_nid) VALUES ($1, $2, 0, NULL, 0)`, [roomId, roomVersion]);
  }

  /** The forward extremities of a room, as stored events. */
  async forwardExtremities(q: Queryable, roomId: RoomId): Promise<StoredEvent[]> {
    return (await q.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY((SELECT forward_extremities FROM rooms WHERE room_id = $1)::text[])`, [
      roomId,
    ])) as StoredEvent[];
  }

  /**
   * The fence, first thing in an append's transaction: advances each room's head to the
   * one after the append (sequence and forward extremities), with compare-and-set on the
   * head the events were built on. The update locks the rows (in room ID order, so two
   * writers fencing overlapping sets cannot deadlock) until the transaction ends, and a
   * writer that read a head before another replica appended learns it here, before it
   * writes anything: `StaleRoomHeadError`, and the transaction rolls back. The update
   * changes no indexed column, so it is a HOT update (no index churn; see
   * `ForwardExtremitiesOnRooms`).
   */
  async fence(tx: Queryable, updates: readonly RoomHeadUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const sorted = [...updates].sort((a, b) => (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
    const rows = (await tx.query(
      // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE.
      `WITH fenced AS (
         UPDATE rooms SET head_seq = u.to_seq,
           forward_extremities = ARRAY(SELECT x FROM jsonb_array_elements_text(u.extremities) AS x ORDER BY x)
         FROM (SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::jsonb[]) AS t(room_id, from_seq, to_seq, extremities)) AS u
         WHERE rooms.room_id = u.room_id AND rooms.head_seq = u.from_seq
         RETURNING rooms.room_id
       ) SELECT room_id FROM fenced`,
      [sorted.map((u) => u.roomId), sorted.map((u) => u.fromSeq), sorted.map((u) => u.toSeq), sorted.map((u) => JSON.stringify(u.forwardExtremities))],
    )) as Array<{ room_id: RoomId }>;
    if (rows.length !== updates.length) {
      const fenced = new Set(rows.map((row) => row.room_id));
      throw new StaleRoomHeadError(sorted.find((u) => !fenced.has(u.roomId))!.roomId);
    }
  }

  /** The rooms' current state groups after an append that changed their state (rows already fenced). */
  async setStateGroups(tx: Queryable, groups: ReadonlyArray<{ readonly roomId: RoomId; readonly stateGroup: string | null }>): Promise<void> {
    if (groups.length === 0) return;
    await tx.query(
      `WITH changed AS (
         UPDATE rooms SET state_group = g.state_group FROM unnest($1::text[], $2::bigint[]) AS g(room_id, state_group)
         WHERE rooms.room_id = g.room_id RETURNING rooms.room_id
       ) SELECT room_id FROM changed`,
      [groups.map((g) => g.roomId), groups.map((g) => g.stateGroup)],
    );
  }
}
