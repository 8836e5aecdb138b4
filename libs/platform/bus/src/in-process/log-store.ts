import type { DataSource, EntityManager } from '@axon/platform-database';
import type { MessageHeaders } from '../bus';
import { headersFromJson } from '../headers';
import type { RawMessage } from '../worker/raw-message';

export interface AppendRecord {
  readonly partition: number;
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: MessageHeaders;
}

/** Records of one publish to one topic. */
export interface TopicWrite {
  readonly topic: string;
  readonly records: readonly AppendRecord[];
}

/** Rows per INSERT statement (6 parameters each, well under Postgres's 65535). */
const INSERT_CHUNK = 1000;

interface MessageRow {
  offset: string;
  key: string;
  value: Buffer | Uint8Array;
  headers: unknown;
  published_at: string;
}

/**
 * All SQL of the in-process log (schema `bus`), identical on Postgres and PGlite.
 * int8 columns come back as strings on both, bytea as bytes.
 */
export class LogStore {
  constructor(private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  async registerTopic(name: string, partitions: number, retention: string): Promise<number> {
    await this.dataSource.query(
      `INSERT INTO topics (name, partitions, retention) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
      [name, partitions, retention],
    );
    const rows: { partitions: number }[] = await this.dataSource.query(`SELECT partitions FROM topics WHERE name = $1`, [name]);
    return rows[0]?.partitions ?? partitions;
  }

  /**
   * Appends the writes (several publishes, of any topics) in one transaction and returns,
   * per topic, the partitions written, each with its head after the append (one past its
   * last offset). Offsets are reserved first, one upsert for every (topic, partition) in
   * ascending order (a fixed lock order, so concurrent appenders cannot deadlock), then the
   * rows go in, chunked, in the order given: each write's records keep their order, and
   * a write given after another gets the higher offsets.
   */
  async append(writes: readonly TopicWrite[], publishedAt: number): Promise<Map<string, Map<number, bigint>>> {
    const counts = new Map<string, Map<number, number>>();
    for (const { topic, records } of writes) {
      let partitions = counts.get(topic);
      if (!partitions) counts.set(topic, (partitions = new Map()));
      for (const r of records) partitions.set(r.partition, (partitions.get(r.partition) ?? 0) + 1);
    }
    const slots: { topic: string; partition: number; count: number }[] = [];
    for (const topic of [...counts.keys()].sort()) {
      const partitions = counts.get(topic)!;
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) slots.push({ topic, partition, count: partitions.get(partition)! });
    }
    const after = new Map<string, Map<number, bigint>>();
    await this.dataSource.transaction(async (em) => {
      const heads: { topic: string; partition: number; next_offset: string }[] = await em.query(
        `INSERT INTO partition_heads (topic, partition, next_offset)
         SELECT t, p, n FROM unnest($1::text[], $2::int[], $3::bigint[]) AS s(t, p, n)
         ON CONFLICT (topic, partition) DO UPDATE SET next_offset = partition_heads.next_offset + EXCLUDED.next_offset
         RETURNING topic, partition, next_offset`,
        [slots.map((slot) => slot.topic), slots.map((slot) => slot.partition), slots.map((slot) => slot.count)],
      );
      const nextOffset = new Map<string, Map<number, bigint>>();
      for (const head of heads) {
        const end = BigInt(head.next_offset);
        if (!after.has(head.topic)) {
          after.set(head.topic, new Map());
          nextOffset.set(head.topic, new Map());
        }
        after.get(head.topic)!.set(head.partition, end);
        nextOffset.get(head.topic)!.set(head.partition, end - BigInt(counts.get(head.topic)!.get(head.partition)!));
      }
      const rows = writes.flatMap(({ topic, records }) => records.map((record) => ({ topic, record })));
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        await this.insertChunk(em, rows.slice(start, start + INSERT_CHUNK), nextOffset, publishedAt);
      }
    });
    return after;
  }

  private async insertChunk(
    em: EntityManager,
    rows: readonly { readonly topic: string; readonly record: AppendRecord }[],
    nextOffset: Map<string, Map<number, bigint>>,
    publishedAt: number,
  ): Promise<void> {
    const params: unknown[] = [publishedAt];
    const tuples: string[] = [];
    for (const { topic, record: r } of rows) {
      const offsets = nextOffset.get(topic)!;
      const offset = offsets.get(r.partition)!;
      offsets.set(r.partition, offset + 1n);
      const i = params.length;
      params.push(topic, r.partition, offset.toString(), r.key, Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength), JSON.stringify(r.headers));
      tuples.push(`($${i + 1}, $${i + 2}, $${i + 3}, $${i + 4}, $${i + 5}, $${i + 6}::jsonb, $1)`);
    }
    await em.query(`INSERT INTO messages (topic, partition, "offset", key, value, headers, published_at) VALUES ${tuples.join(', ')}`, params);
  }

  async fetch(topic: string, partition: number, fromOffset: bigint, limit: number): Promise<RawMessage[]> {
    const rows: MessageRow[] = await this.dataSource.query(
      `SELECT "offset", key, value, headers, published_at FROM messages
       WHERE topic = $1 AND partition = $2 AND "offset" >= $3
       ORDER BY "offset" LIMIT $4`,
      [topic, partition, fromOffset.toString(), limit],
    );
    return rows.map((row) => ({
      offset: BigInt(row.offset),
      key: row.key,
      value: row.value,
      headers: headersFromJson(typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers),
      timestamp: Number(row.published_at),
    }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const rows: { partition: number; offset: string }[] = await this.dataSource.query(
      `SELECT partition, "offset" FROM committed_offsets WHERE group_id = $1 AND topic = $2`,
      [groupId, topic],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.offset)]));
  }

  async headOffsets(topic: string): Promise<Map<number, bigint>> {
    const rows: { partition: number; next_offset: string }[] = await this.dataSource.query(
      `SELECT partition, next_offset FROM partition_heads WHERE topic = $1`,
      [topic],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  }

  /**
   * Commits offsets. Monotonic: an offset below the one already committed is ignored (a
   * slow commit overtaken by a newer one, or by the partition's next owner), so a
   * committed offset never moves backwards.
   */
  async commit(groupId: string, topic: string, offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (offsets.size === 0) return;
    const partitions = [...offsets.keys()];
    await this.dataSource.query(
      `INSERT INTO committed_offsets (group_id, topic, partition, "offset")
       SELECT $1, $2, p, o FROM unnest($3::int[], $4::bigint[]) AS t(p, o)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset", committed_at = now()
       WHERE committed_offsets."offset" < EXCLUDED."offset"`,
      [groupId, topic, partitions, partitions.map((p) => offsets.get(p)!.toString())],
    );
  }

  /**
   * Retention: deletes the messages of a partition that are both older than their topic's
   * retention and below the committed offset of every group that consumes it. A message
   * no group has consumed yet is never deleted, unlike Kafka's purely time-based
   * retention; the price is that an abandoned group (its rows left in committed_offsets)
   * holds its topics back until its rows are removed. Returns the number deleted.
   */
  async trim(olderThan: { readonly durable: number; readonly ephemeral: number }): Promise<number> {
    const rows: { n: string }[] = await this.dataSource.query(
      `WITH low AS (
         SELECT c.topic, c.partition, min(c."offset") AS low, t.retention
         FROM committed_offsets c JOIN topics t ON t.name = c.topic
         GROUP BY c.topic, c.partition, t.retention
       ), gone AS (
         DELETE FROM messages m USING low
         WHERE m.topic = low.topic AND m.partition = low.partition AND m."offset" < low.low
           AND m.published_at < CASE WHEN low.retention = 'ephemeral' THEN $2::bigint ELSE $1::bigint END
         RETURNING 1
       )
       SELECT count(*)::text AS n FROM gone`,
      [olderThan.durable, olderThan.ephemeral],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
