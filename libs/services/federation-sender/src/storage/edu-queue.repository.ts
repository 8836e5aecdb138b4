import type { ServerName } from '@axon/matrix-identifiers';
import type { Queryable } from './queryable';
import { queueDepths, type QueueDepths } from './pdu-queue.repository';

/**
 * An EDU to enqueue for a destination. With a `dedupeKey`, the destination keeps one EDU
 * per key: `replace` puts this one in the older one's place (typing, receipts, presence:
 * only the newest state matters), otherwise an EDU already queued under the key is kept
 * and this one dropped (a to-device message redelivered: its key is its message ID).
 */
export interface EduToQueue {
  readonly destination: ServerName;
  readonly eduType: string;
  /** The EDU as JSON: `{edu_type, content}`. */
  readonly eduJson: string;
  readonly dedupeKey?: string;
  readonly replace?: boolean;
}

export interface QueuedEdu {
  readonly position: string;
  readonly eduType: string;
  readonly eduJson: string;
}

/** `queued_edus`: per destination, the EDUs it has not acknowledged yet, oldest first. */
export class EduQueueRepository {
  /**
   * Enqueues EDUs, in order. A replacing EDU takes a new position (the end of the queue),
   * so a transaction in flight with the older one deletes only that, never the newer.
   * Returns how many rows were written.
   */
  async enqueue(q: Queryable, edus: readonly EduToQueue[]): Promise<number> {
    let written = 0;
    for (const edu of edus) {
      const rows = (await q.query(
        edu.dedupeKey === undefined
          ? `INSERT INTO queued_edus (destination, edu_type, edu_json) VALUES ($1, $2, $3) RETURNING position`
          : edu.replace === true
            ? `INSERT INTO queued_edus (destination, edu_type, edu_json, dedupe_key) VALUES ($1, $2, $3, $4)
               ON CONFLICT (destination, dedupe_key) DO UPDATE SET edu_json = EXCLUDED.edu_json, edu_type = EXCLUDED.edu_type, position = nextval('queue_position')
               RETURNING position`
            : `INSERT INTO queued_edus (destination, edu_type, edu_json, dedupe_key) VALUES ($1, $2, $3, $4)
               ON CONFLICT (destination, dedupe_key) DO NOTHING RETURNING position`,
        edu.dedupeKey === undefined ? [edu.destination, edu.eduType, edu.eduJson] : [edu.destination, edu.eduType, edu.eduJson, edu.dedupeKey],
      )) as unknown[];
      written += rows.length;
    }
    return written;
  }

  /** The oldest `limit` EDUs queued for `destination`, in queue order. */
  async peek(q: Queryable, destination: ServerName, limit: number): Promise<QueuedEdu[]> {
    const rows = (await q.query(`SELECT position::text AS position, edu_type, edu_json FROM queued_edus WHERE destination = $1 ORDER BY queued_edus.position LIMIT $2`, [
      destination,
      limit,
    ])) as Array<{ position: string; edu_type: string; edu_json: string }>;
    return rows.map((row) => ({ position: row.position, eduType: row.edu_type, eduJson: row.edu_json }));
  }

  /** Removes the rows at `positions` of `destination`; a row replaced since (a new position) stays. */
  async delete(q: Queryable, destination: ServerName, positions: readonly string[]): Promise<void> {
    if (positions.length === 0) return;
    await q.query(`DELETE FROM queued_edus WHERE destination = $1 AND position = ANY($2::bigint[])`, [destination, positions]);
  }

  async depths(q: Queryable, limit: number): Promise<QueueDepths> {
    return queueDepths(q, 'queued_edus', limit);
  }
}
