import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import type { Queryable } from './queryable';

/** A PDU to enqueue for a destination. */
export interface PduToQueue {
  readonly destination: ServerName;
  readonly roomId: RoomId;
  readonly eventId: EventId;
  /** The PDU as canonical JSON, exactly as signed. */
  readonly pduJson: string;
}

/** A queued PDU; `position` is its place in the destination's queue (decimal bigint). */
export interface QueuedPdu {
  readonly position: string;
  readonly roomId: RoomId;
  readonly eventId: EventId;
  readonly pduJson: string;
}

/** `queued_pdus`: per destination, the PDUs it has not acknowledged yet, oldest first. */
export class PduQueueRepository {
  /**
   * Enqueues PDUs, in order; a PDU already queued for a destination (a redelivered room
   * output) is left as it is. Then, for each destination and room written to, drops
   * the room's oldest queued PDUs beyond `maxPerRoom` (catch-up: the destination fetches
   * what it misses through get_missing_events once the newest arrive). Returns how many
   * rows were added and dropped.
   */
  async enqueue(q: Queryable, pdus: readonly PduToQueue[], maxPerRoom: number): Promise<{ readonly added: number; readonly dropped: number }> {
    if (pdus.length === 0) return { added: 0, dropped: 0 };
    const added = (await q.query(
      `INSERT INTO queued_pdus (destination, room_id, event_id, pdu_json)
       SELECT destination, room_id, event_id, pdu_json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(destination, room_id, event_id, pdu_json, n)
       ORDER BY n
       ON CONFLICT (destination, event_id) DO NOTHING
       RETURNING position`,
      [pdus.map((p) => p.destination), pdus.map((p) => p.roomId), pdus.map((p) => p.eventId), pdus.map((p) => p.pduJson)],
    )) as unknown[];
    const pairs = [...new Map(pdus.map((p) => [`${p.destination}\u0000${p.roomId}`, p])).values()];
    const dropped = (await q.query(
      `WITH pairs AS (SELECT * FROM unnest($1::text[], $2::text[]) AS p(destination, room_id)),
       oldest_kept AS (
         SELECT p.destination, p.room_id,
           (SELECT position FROM queued_pdus k WHERE k.destination = p.destination AND k.room_id = p.room_id ORDER BY position DESC OFFSET $3 - 1 LIMIT 1) AS position
         FROM pairs p),
       gone AS (
         DELETE FROM queued_pdus q USING oldest_kept o
         WHERE o.position IS NOT NULL AND q.destination = o.destination AND q.room_id = o.room_id AND q.position < o.position
         RETURNING 1)
       SELECT count(*)::int AS dropped FROM gone`,
      [pairs.map((p) => p.destination), pairs.map((p) => p.roomId), maxPerRoom],
    )) as Array<{ dropped: number }>;
    return { added: added.length, dropped: dropped[0]?.dropped ?? 0 };
  }

  /** The oldest `limit` PDUs queued for `destination`, in queue order. */
  async peek(q: Queryable, destination: ServerName, limit: number): Promise<QueuedPdu[]> {
    const rows = (await q.query(
      `SELECT position::text AS position, room_id, event_id, pdu_json FROM queued_pdus WHERE destination = $1 ORDER BY queued_pdus.position LIMIT $2`,
      [destination, limit],
    )) as Array<{ position: string; room_id: RoomId; event_id: EventId; pdu_json: string }>;
    return rows.map((row) => ({ position: row.position, roomId: row.room_id, eventId: row.event_id, pduJson: row.pdu_json }));
  }

  /** Removes the rows at `positions` of `destination` (sent, or refused for good). */
  async delete(q: Queryable, destination: ServerName, positions: readonly string[]): Promise<void> {
    if (positions.length === 0) return;
    await q.query(`DELETE FROM queued_pdus WHERE destination = $1 AND position = ANY($2::bigint[])`, [destination, positions]);
  }

  /** Queued PDUs per destination, the deepest `limit` queues first, and the total. */
  async depths(q: Queryable, limit: number): Promise<QueueDepths> {
    return queueDepths(q, 'queued_pdus', limit);
  }
}

/** How much waits: in all, and for the destinations that have the most. */
export interface QueueDepths {
  readonly total: number;
  readonly deepest: ReadonlyArray<{ readonly destination: ServerName; readonly rows: number }>;
}

/** `QueueDepths` of a queue table (a constant name, never input). */
export async function queueDepths(q: Queryable, table: 'queued_pdus' | 'queued_edus', limit: number): Promise<QueueDepths> {
  const rows = (await q.query(
    `WITH per AS (SELECT destination, count(*)::int AS rows FROM ${table} GROUP BY destination)
     SELECT NULL AS destination, COALESCE(sum(rows), 0)::int AS rows FROM per
     UNION ALL (SELECT destination, rows FROM per ORDER BY rows DESC, destination LIMIT $1)`,
    [limit],
  )) as Array<{ destination: ServerName | null; rows: number }>;
  const deepest = rows.filter((row): row is { destination: ServerName; rows: number } => row.destination !== null).sort((a, b) => b.rows - a.rows);
  return { total: rows.find((row) => row.destination === null)?.rows ?? 0, deepest };
}
