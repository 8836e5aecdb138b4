import type { DataSource, EntityManager } from '@axon/platform-database';
import { emptySyncToken, SYNC_STREAMS, type StreamName, type SyncToken } from '../sync-token';

/**
 * SQL condition: the row's bus position (`partition`, `"offset"`) is after the positions
 * in parameter `$after` and at or before those in `$upTo` (each a bigint array in partition
 * order, -1 for none). Parameters are numbered by the caller.
 */
export function BETWEEN(after: number, upTo: number, alias = ''): string {
  const p = alias === '' ? '' : `${alias}.`;
  return `${p}"offset" > ($${after}::bigint[])[${p}partition + 1] AND ${p}"offset" <= ($${upTo}::bigint[])[${p}partition + 1]`;
}

/** SQL recording the offset of a partition of a topic (given as parameter placeholders) as applied, never moving back. */
export function advanceHeadSql(topic = '$1', partition = '$2', offset = '$3'): string {
  return `INSERT INTO stream_heads (topic, partition, "offset") VALUES (${topic}, ${partition}, ${offset})
     ON CONFLICT (topic, partition) DO UPDATE SET "offset" = GREATEST(stream_heads."offset", EXCLUDED."offset")`;
}

/** Records that `offset` of `partition` of `topic` is applied (in the transaction that applies it). */
export async function advanceHead(tx: EntityManager, topic: string, partition: number, offset: string): Promise<void> {
  await tx.query(advanceHeadSql(), [topic, partition, offset]);
}

/**
 * How far each partition of each sync stream is applied (`stream_heads`). Every `apply*`
 * of the other repositories advances its stream's head in the transaction that applies the
 * message, so the heads are a low-water mark a sync token may be built from.
 */
export class StreamPositionsRepository {
  constructor(private readonly db: DataSource) {}

  /** How far every partition of every sync stream has been applied: the newest token. */
  async heads(): Promise<SyncToken> {
    const rows = await this.db.query<Array<{ topic: string; partition: number; offset: string }>>(`SELECT topic, partition, "offset"::text AS "offset" FROM stream_heads`);
    const token = emptySyncToken() as Record<StreamName, number[]>;
    const byTopic = new Map<string, number[]>(SYNC_STREAMS.map(([name, topic]) => [topic.name, token[name]]));
    for (const row of rows) {
      const positions = byTopic.get(row.topic);
      if (positions !== undefined && row.partition < positions.length) positions[row.partition] = Number(row.offset);
    }
    return token;
  }
}
