import { roomOutputTopic } from '@axon/contracts-kafka';
import type { DataSource, EntityManager } from '@axon/platform-database';
import { NextRead } from '../next-read';
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

/**
 * SQL recording an offset of a partition of `hs.room.output.v1` as applied, with the
 * highest room stream ordering applied in that partition (`SyncToken.roomOrderings`);
 * neither ever moves back (a redelivered output is older on both counts).
 */
export function advanceRoomHeadSql(topic: string, partition: string, offset: string, ordering: string): string {
  return `INSERT INTO stream_heads (topic, partition, "offset", stream_ordering) VALUES (${topic}, ${partition}, ${offset}, ${ordering})
     ON CONFLICT (topic, partition) DO UPDATE SET "offset" = GREATEST(stream_heads."offset", EXCLUDED."offset"),
       stream_ordering = GREATEST(stream_heads.stream_ordering, EXCLUDED.stream_ordering)`;
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
  /** Concurrent callers share the read of the heads (`NextRead`). */
  private readonly shared = new NextRead(() => this.read());

  constructor(private readonly db: DataSource) {}

  /**
   * Records that `offset` of `partition` of `topic` was dead-lettered by the sync group: it
   * will never be applied, and the partition's position moves past it as if it had been
   * (the room stream ordering stays: nothing of it is in the read model). Without this the
   * head would stay below the bus's end offset until the partition's next message, and
   * every `/sync` meanwhile would wait out `CatchUp` for a message that is not coming.
   * Sync applies each partition in offset order, one message at a time, so everything
   * before a dead-lettered message is finished: the head is still a low-water mark.
   */
  /** Moves a partition's head past a message with nothing for the read model (a to-device message for another server's user). */
  async pass(topic: string, partition: number, offset: string): Promise<void> {
    await this.db.query(advanceHeadSql(), [topic, partition, offset]);
  }

  async passDeadLettered(topic: string, partition: number, offset: string): Promise<void> {
    await this.db.query(advanceHeadSql(), [topic, partition, offset]);
  }

  /**
   * How far every partition of every sync stream has been applied: the newest token.
   * Every computing `/sync` starts with this read, so concurrent callers share one: a caller
   * that comes while a read runs is given the next read, which starts when that one ends.
   * Never the running one: it may have started before a change the caller must see was
   * committed (a long-poll subscribes to its wake-ups, then reads the heads; a change
   * applied and announced in between is only seen by a read that starts after the
   * subscription). Under a burst of polls that is about two reads in flight instead of one
   * per poll, and a lone caller waits for nothing. The token is shared: callers only read it.
   */
  heads(): Promise<SyncToken> {
    return this.shared.get();
  }

  private async read(): Promise<SyncToken> {
    const rows = await this.db.query<Array<{ topic: string; partition: number; offset: string; stream_ordering: string }>>(
      `SELECT topic, partition, "offset"::text AS "offset", stream_ordering::text AS stream_ordering FROM stream_heads`,
    );
    const token = emptySyncToken() as Record<StreamName, number[]> & { roomOrderings: number[] };
    const byTopic = new Map<string, number[]>(SYNC_STREAMS.map(([name, topic]) => [topic.name, token[name]]));
    for (const row of rows) {
      const positions = byTopic.get(row.topic);
      if (positions === undefined || row.partition >= positions.length) continue;
      positions[row.partition] = Number(row.offset);
      if (row.topic === roomOutputTopic.name) token.roomOrderings[row.partition] = Number(row.stream_ordering);
    }
    return token;
  }
}
