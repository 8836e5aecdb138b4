import type { ServerName } from '@axon/matrix-identifiers';
import type { Queryable } from './queryable';

/** How sending to a destination goes: failed transactions in a row, and when to try again (ms since the epoch, 0: now). */
export interface DestinationState {
  readonly failures: number;
  readonly retryAt: number;
}

/** A destination with something queued that may be tried now, and its delivery shard. */
export interface DueDestination {
  readonly destination: ServerName;
  readonly shard: number;
}

/** `destinations`: per destination, its delivery shard and backoff. */
export class DestinationsRepository {
  /** Makes sure each destination has a row (in the transaction that enqueues for it), with its shard. */
  async ensure(q: Queryable, destinations: ReadonlyArray<DueDestination>): Promise<void> {
    if (destinations.length === 0) return;
    const sorted = [...new Map(destinations.map((d) => [d.destination, d])).values()].sort((a, b) => (a.destination < b.destination ? -1 : 1));
    await q.query(
      `INSERT INTO destinations (destination, shard) SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (destination) DO NOTHING`,
      [sorted.map((d) => d.destination), sorted.map((d) => d.shard)],
    );
  }

  async state(q: Queryable, destination: ServerName): Promise<DestinationState> {
    const rows = (await q.query(`SELECT failures, retry_at::text AS retry_at FROM destinations WHERE destination = $1`, [destination])) as Array<{ failures: number; retry_at: string }>;
    const row = rows[0];
    return row === undefined ? { failures: 0, retryAt: 0 } : { failures: row.failures, retryAt: Number(row.retry_at) };
  }

  /** Records a failed transaction: `failures` in a row now, next try at `retryAt`. */
  async recordFailure(q: Queryable, destination: ServerName, failures: number, retryAt: number): Promise<void> {
    await q.query(`UPDATE destinations SET failures = $2, retry_at = $3 WHERE destination = $1`, [destination, failures, retryAt]);
  }

  /** A transaction went through: no backoff any more. */
  async recordSuccess(q: Queryable, destination: ServerName): Promise<void> {
    await q.query(`UPDATE destinations SET failures = 0, retry_at = 0 WHERE destination = $1 AND (failures <> 0 OR retry_at <> 0)`, [destination]);
  }

  /**
   * Destinations with a queued PDU or EDU whose backoff is over at `now`, at most
   * `limit`, those waiting longest first (by their oldest row).
   */
  async due(q: Queryable, now: number, limit: number): Promise<DueDestination[]> {
    const rows = (await q.query(
      `SELECT destination, shard FROM (
         SELECT d.destination, d.shard,
           LEAST((SELECT min(position) FROM queued_pdus p WHERE p.destination = d.destination), (SELECT min(position) FROM queued_edus e WHERE e.destination = d.destination)) AS oldest
         FROM destinations d WHERE d.retry_at <= $1) w
       WHERE oldest IS NOT NULL ORDER BY oldest LIMIT $2`,
      [now, limit],
    )) as Array<{ destination: ServerName; shard: number }>;
    return rows.map((row) => ({ destination: row.destination, shard: Number(row.shard) }));
  }
}
