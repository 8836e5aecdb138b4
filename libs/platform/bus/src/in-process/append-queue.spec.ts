import { Database } from '@axon/platform-database';
import { AppendQueue } from './append-queue';
import { BUS_SCHEMA } from './in-process-bus';
import { LogStore, type PartitionAppend, type TopicWrite } from './log-store';
import { BUS_MIGRATIONS } from './migrations';

/** The real store, recording how many appends each of its transactions held. */
class CountingStore extends LogStore {
  readonly transactions: number[] = [];

  override append(writes: readonly TopicWrite[], publishedAt: number): Promise<Map<string, Map<number, PartitionAppend>>> {
    this.transactions.push(writes.length);
    return super.append(writes, publishedAt);
  }
}

function write(topic: string, key: string, ...partitions: number[]): TopicWrite {
  return { topic, records: partitions.map((partition, i) => ({ partition, key, value: Buffer.from(`${key}.${i}`), headers: { n: String(i) } })) };
}

describe('AppendQueue (PGlite, in memory)', () => {
  let database: Database;
  let store: CountingStore;
  const notified: Map<string, Map<number, bigint>>[] = [];
  const delivered: Array<Map<string, Map<number, PartitionAppend>>> = [];
  let queue: AppendQueue;

  beforeAll(async () => {
    database = await Database.open({ dataDir: '', inMemory: true });
    store = new CountingStore(await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] }));
    queue = new AppendQueue(store, (appended) => {
      notified.push(new Map([...appended].map(([t, p]) => [t, new Map([...p].map(([partition, { head }]) => [partition, head]))])));
      delivered.push(new Map([...appended].map(([t, p]) => [t, new Map(p)])));
    });
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(() => {
    store.transactions.length = 0;
    notified.length = 0;
    delivered.length = 0;
  });

  it('sends the appends made while one commits together in the next transaction, each in order, offsets in call order', async () => {
    const appends = [
      queue.append(write('hs.test.aq1.v1', 'first', 0)),
      ...Array.from({ length: 20 }, (_, i) => queue.append(write(i % 2 === 0 ? 'hs.test.aq1.v1' : 'hs.test.aq2.v1', `k${i}`, 0, 1, 0))),
    ];
    await Promise.all(appends);
    expect(store.transactions).toEqual([1, 20]);
    // Each commit told its topics' heads once: the first wrote one message, the second 31 more to aq1 and 30 to aq2.
    expect(notified).toEqual([
      new Map([['hs.test.aq1.v1', new Map([[0, 1n]])]]),
      new Map([
        ['hs.test.aq1.v1', new Map([[0, 21n], [1, 10n]])],
        ['hs.test.aq2.v1', new Map([[0, 20n], [1, 10n]])],
      ]),
    ]);
    const rows = await store.fetch('hs.test.aq1.v1', 0, 0n, 100);
    expect(rows.map((r) => `${r.key}/${Buffer.from(r.value).toString()}`)).toEqual([
      'first/first.0',
      ...[0, 2, 4, 6, 8, 10, 12, 14, 16, 18].flatMap((i) => [`k${i}/k${i}.0`, `k${i}/k${i}.2`]),
    ]);
    expect(rows.map((r) => r.offset)).toEqual(Array.from({ length: 21 }, (_, i) => BigInt(i)));
    // What the commits handed to subscribers is exactly what the log holds: offsets, keys, values, headers.
    const handed = delivered.flatMap((commit) => commit.get('hs.test.aq1.v1')?.get(0)?.messages ?? []);
    const simplify = (m: { offset: bigint; key: string; value: Uint8Array; headers: unknown }) => [m.offset, m.key, Buffer.from(m.value).toString(), m.headers];
    expect(handed.map(simplify)).toEqual(rows.map(simplify));
  });

  it('caps a shared transaction at 5000 records, in order', async () => {
    const big = (key: string, count: number): TopicWrite => write('hs.test.aq4.v1', key, ...Array.from({ length: count }, () => 0));
    await Promise.all([queue.append(big('a', 1)), queue.append(big('b', 3000)), queue.append(big('c', 2000)), queue.append(big('d', 1)), queue.append(big('e', 6000))]);
    // b and c fill one; d would overflow it; e is larger than the cap and goes alone, whole.
    expect(store.transactions).toEqual([1, 2, 1, 1]);
    const rows = await store.fetch('hs.test.aq4.v1', 0, 0n, 20_000);
    expect(rows.map((r) => r.key).join('')).toBe(`a${'b'.repeat(3000)}${'c'.repeat(2000)}d${'e'.repeat(6000)}`);
  });

  it('when a shared transaction fails, tries each append alone: only the one that cannot be written rejects', async () => {
    const results = await Promise.allSettled([
      queue.append(write('hs.test.aq3.v1', 'a', 0)),
      queue.append(write('hs.test.aq3.v1', 'b', 0, 0)),
      // Postgres text cannot hold NUL: this append can never be written.
      queue.append(write('hs.test.aq3.v1', 'bad\u0000key', 0)),
      queue.append(write('hs.test.aq3.v1', 'c', 0)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(store.transactions).toEqual([1, 3, 1, 1, 1]);
    const rows = await store.fetch('hs.test.aq3.v1', 0, 0n, 100);
    expect(rows.map((r) => `${r.offset}:${r.key}`)).toEqual(['0:a', '1:b', '2:b', '3:c']);
  });
});
