import type { Queryable } from './queryable';

/**
 * `shard_leases`: which sender replica delivers to the destinations of a shard, until
 * when. A lease is taken when free, expired or already the holder's own (then renewed),
 * so a replica that died leaves its shards to the others once its leases lapse.
 */
export class ShardLeasesRepository {
  /**
   * Takes or renews, for `holder` until `now + ttlMs`, the lease of each of `shards` it
   * can; returns the shards it holds among them, ascending. Rows are written in shard
   * order, so replicas taking overlapping sets do not deadlock.
   */
  async acquire(q: Queryable, holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]> {
    if (shards.length === 0) return [];
    const rows = (await q.query(
      `INSERT INTO shard_leases (shard, holder, expires_at)
       SELECT shard, $1, $2 FROM unnest($4::int[]) AS s(shard) ORDER BY shard
       ON CONFLICT (shard) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE shard_leases.holder = EXCLUDED.holder OR shard_leases.expires_at < $3
       RETURNING shard`,
      [holder, now + ttlMs, now, [...new Set(shards)].sort((a, b) => a - b)],
    )) as Array<{ shard: number }>;
    return rows.map((row) => Number(row.shard)).sort((a, b) => a - b);
  }

  /** Gives up `holder`'s leases of `shards`, so another replica need not wait for them to lapse. */
  async release(q: Queryable, holder: string, shards: readonly number[]): Promise<void> {
    if (shards.length === 0) return;
    await q.query(`UPDATE shard_leases SET expires_at = 0 WHERE holder = $1 AND shard = ANY($2::int[])`, [holder, [...shards]]);
  }
}
