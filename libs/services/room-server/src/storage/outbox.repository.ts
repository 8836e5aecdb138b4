import type { RoomOutput } from '@axon/contracts-kafka';
import type { RoomId } from '@axon/matrix-identifiers';
import { outboxShard } from '../output/outbox-shard';
import type { Queryable } from './rows';

/** An output message waiting in the outbox, with the trace context it was written in (`{}` if none). */
export interface OutboxRow {
  readonly id: string;
  readonly payload: string;
  readonly traceContext: Record<string, string>;
}

/** An output message of an appended event, written in the appending transaction (into the outbox, or the in-process bus's log). */
export interface OutboxEntry {
  readonly roomId: RoomId;
  readonly output: RoomOutput;
  /** The headers `currentTraceHeaders()` gave, or the input's consume span (empty without a trace). */
  readonly traceContext: Readonly<Record<string, string>>;
}

/** `outbox.trace_context` back into headers; a row the relay cannot read publishes without a parent rather than not at all. */
function parseTraceContext(stored: string | null): Record<string, string> {
  if (stored === null) return {};
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    // Only `insert` writes the column; were it unreadable, losing a trace link beats wedging the relay.
    return {};
  }
}

function toRow(row: { id: string; payload: string; trace_context: string | null }): OutboxRow {
  return { id: row.id, payload: row.payload, traceContext: parseTraceContext(row.trace_context) };
}

/** The lease upsert shared by `acquireLeases` and `claim`: $1 holder, $2 expiry, $3 now, $4 shards (ascending). */
const TAKE_LEASES = `INSERT INTO relay_lease (id, holder, expires_at)
  SELECT shard, $1, $2 FROM unnest($4::int[]) WITH ORDINALITY AS s(shard, n) ORDER BY n
  ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
  WHERE relay_lease.holder = EXCLUDED.holder OR relay_lease.expires_at < $3
  RETURNING id`;

/**
 * `outbox` (output messages written in the appending transaction, published by the relay
 * and then deleted; sharded by the room's input partition) and `relay_lease` (which relay
 * publishes which shard, until when).
 */
export class OutboxRepository {
  /** Writes output messages in one statement, in order (their `id` is the publishing order). */
  async insert(tx: Queryable, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await tx.query(
      `INSERT INTO outbox (room_id, shard, payload, trace_context)
       SELECT room_id, shard, payload, trace_context FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) WITH ORDINALITY AS t(room_id, shard, payload, trace_context, n)
       ORDER BY n`,
      [
        entries.map((e) => e.roomId),
        entries.map((e) => outboxShard(e.roomId)),
        entries.map((e) => JSON.stringify(e.output)),
        entries.map((e) => (Object.keys(e.traceContext).length === 0 ? null : JSON.stringify(e.traceContext))),
      ],
    );
  }

  /**
   * In one statement: takes or renews, for `holder` until `now + ttlMs`, the lease of each
   * of `shards` that is free, expired or already its own, and reads the oldest `limit`
   * rows of the shards it now holds, ordered by `outbox.id` (the bigint). Rows are locked
   * in ascending shard order, so two relays taking overlapping sets cannot deadlock.
   */
  async claim(q: Queryable, holder: string, shards: readonly number[], now: number, ttlMs: number, limit: number): Promise<{ held: number[]; rows: OutboxRow[] }> {
    if (shards.length === 0) return { held: [], rows: [] };
    const result = (await q.query(
      `WITH held AS (${TAKE_LEASES}),
       waiting AS (SELECT id, payload, trace_context FROM outbox WHERE shard IN (SELECT id FROM held) ORDER BY id LIMIT $5)
       SELECT 'lease' AS kind, id::text AS id, NULL AS payload, NULL AS trace_context FROM held
       UNION ALL
       SELECT 'row', id::text, payload, trace_context FROM waiting`,
      [holder, now + ttlMs, now, [...new Set(shards)].sort((a, b) => a - b), limit],
    )) as Array<{ kind: 'lease' | 'row'; id: string; payload: string; trace_context: string | null }>;
    const held = result.filter((row) => row.kind === 'lease').map((row) => Number(row.id));
    const rows = result.filter((row) => row.kind === 'row').sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { held: held.sort((a, b) => a - b), rows: rows.map(toRow) };
  }

  /** Takes or renews leases without reading rows (see `claim`); returns the shards held. */
  async acquireLeases(q: Queryable, holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]> {
    if (shards.length === 0) return [];
    const rows = (await q.query(TAKE_LEASES, [holder, now + ttlMs, now, [...new Set(shards)].sort((a, b) => a - b)])) as Array<{ id: number }>;
    return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
  }

  /** The oldest unpublished rows (of `shards` only, when given). */
  async peek(q: Queryable, limit: number, shards?: readonly number[]): Promise<OutboxRow[]> {
    const rows = (await (shards === undefined
      ? q.query(`SELECT id::text AS id, payload, trace_context FROM outbox ORDER BY outbox.id LIMIT $1`, [limit])
      : q.query(`SELECT id::text AS id, payload, trace_context FROM outbox WHERE shard = ANY($2::int[]) ORDER BY outbox.id LIMIT $1`, [limit, shards]))) as Array<{
      id: string;
      payload: string;
      trace_context: string | null;
    }>;
    return rows.map(toRow);
  }

  /** The shards that have unpublished rows, ascending. */
  async pendingShards(q: Queryable): Promise<number[]> {
    const rows = (await q.query(`SELECT DISTINCT shard FROM outbox ORDER BY shard`)) as Array<{ shard: number }>;
    return rows.map((row) => Number(row.shard));
  }

  /** Deletes published rows and, with `release`, gives every lease of `holder` up, in one statement. */
  async delete(q: Queryable, ids: readonly string[], release?: { readonly holder: string }): Promise<void> {
    if (release === undefined) {
      if (ids.length > 0) await q.query(`DELETE FROM outbox WHERE id = ANY($1::bigint[])`, [ids]);
      return;
    }
    await q.query(
      `WITH gone AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) RETURNING id),
       released AS (UPDATE relay_lease SET expires_at = 0 WHERE holder = $2 RETURNING id)
       SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM released) AS released`,
      [ids, release.holder],
    );
  }

  /** Gives every relay lease of `holder` up, so the next relay need not wait for them to expire. */
  async releaseLeases(q: Queryable, holder: string): Promise<void> {
    await q.query(`UPDATE relay_lease SET expires_at = 0 WHERE holder = $1`, [holder]);
  }

  /** Removes the outbox's dead rows and index entries; skipped at once while another replica vacuums it. */
  async vacuum(q: Queryable): Promise<void> {
    await q.query(`VACUUM (SKIP_LOCKED) outbox`);
  }
}
