import type { EntityManager } from '@axon/platform-database';

/**
 * SQL condition: the row's bus position (`partition`, `"offset"`) is after the positions
 * in parameter `$after` and at or before those in `$upTo` (each a bigint array in partition
 * order, -1 for none). Parameters are numbered by the caller.
 */
export function BETWEEN(after: number, upTo: number, alias = ''): string {
  const p = alias === '' ? '' : `${alias}.`;
  return `${p}"offset" > ($${after}::bigint[])[${p}partition + 1] AND ${p}"offset" <= ($${upTo}::bigint[])[${p}partition + 1]`;
}

/** Records that `offset` of `partition` of `topic` is applied (in the transaction that applies it). */
export async function advanceHead(tx: EntityManager, topic: string, partition: number, offset: string): Promise<void> {
  await tx.query(
    `INSERT INTO stream_heads (topic, partition, "offset") VALUES ($1, $2, $3)
     ON CONFLICT (topic, partition) DO UPDATE SET "offset" = GREATEST(stream_heads."offset", EXCLUDED."offset")`,
    [topic, partition, offset],
  );
}
