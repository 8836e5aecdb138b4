import { ack } from '../bus';
import { partitionForKey } from '../partitioner';
import type { ContractContext } from './bus-contract';
import { keysIn } from './bus-contract';
import type { ChildEvent } from './bus-child';
import { BusChild } from './child-process';
import { CommitLog, deferred, delivery, endOffsets, eventually, messages, type Delivery, type TestMessage } from './contract-helpers';

type Started = Extract<ChildEvent, { seq: number }>;

function lastCommits(events: readonly ChildEvent[]): Map<number, bigint> {
  const latest = new Map<number, bigint>();
  for (const e of events) if (e.type === 'committed') latest.set(e.partition, BigInt(e.offset));
  return latest;
}

/** Crash, takeover and durability: the part of the contract about processes coming and going. */
export function describeFailoverContract(ctx: ContractContext): void {
  const { names } = ctx;

  it('hands a stopping consumer\'s partitions to the other member of its group, after draining and committing', async () => {
    const bus = await ctx.open();
    const topic = names.topic(4);
    const group = names.group('takeover');
    const byA: Delivery[] = [];
    const byB: Delivery[] = [];
    let slowKey = '';
    let slowFinished = false;
    // The slow handler runs until the test lets it go (no fixed sleep: on a loaded machine
    // delivery may take any time).
    const slowGate = deferred();
    const a = await bus.subscribe(
      topic,
      group,
      async (m) => {
        byA.push(delivery(m));
        if (m.key === slowKey) {
          await slowGate.promise;
          slowFinished = true;
        }
        return ack;
      },
      { commitIntervalMs: 20 },
    );
    const b = await bus.subscribe(topic, group, (m) => {
      byB.push(delivery(m));
      return ack;
    }, { commitIntervalMs: 20 });
    await eventually(
      'both members own partitions',
      () => a.assignment().length > 0 && b.assignment().length > 0 && a.assignment().length + b.assignment().length === 4,
      60_000,
      () => ({ a: a.assignment(), b: b.assignment() }),
    );
    const ownedByA = [...a.assignment()];
    expect(ownedByA.filter((p) => b.assignment().includes(p))).toEqual([]);
    slowKey = keysIn(ownedByA[0]!, 4, 1, 'slow')[0]!;

    await bus.publish(topic, [{ key: slowKey, seq: 0 }, ...messages(40, (seq) => `k${seq % 20}`).slice(1)]);
    await eventually('batch 1 delivered', () => new Set([...byA, ...byB].map((d) => d.seq)).size === 40);
    expect(new Set(byA.map((d) => d.partition))).toEqual(new Set(ownedByA));
    expect(slowFinished).toBe(false);
    let stopped = false;
    const stopping = a.stop().then(() => {
      stopped = true;
    });
    // stop() waits for the running handler: it cannot have resolved while the handler is held.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    slowGate.resolve();
    await stopping;
    // stop() waited for the running handler, and committed it.
    expect(slowFinished).toBe(true);
    const seenByBBefore = byB.length;

    await eventually('B owns every partition', () => b.assignment().length === 4, 60_000, () => b.assignment());
    const batch2 = messages(80, (seq) => `k${seq % 20}`).slice(40);
    await bus.publish(topic, batch2);
    await eventually('batch 2 delivered to B', () => new Set(byB.filter((d) => d.seq >= 40).map((d) => d.seq)).size === 40);
    const takenOver = new Set(byB.filter((d) => d.seq >= 40).map((d) => d.partition));
    for (const p of ownedByA) expect(takenOver.has(p)).toBe(true);
    // A drained and committed before leaving: nothing of batch 1 came back.
    expect(byB.slice(seenByBBefore).filter((d) => d.seq < 40)).toEqual([]);
  });

  it('a consumer killed mid-batch loses nothing; it had committed only up to its lowest unfinished message', async () => {
    const topic = names.topic(3);
    const group = names.group('kill');
    const stuckKey = 'stuck';
    const p = partitionForKey(stuckKey, 3);
    const pool = [...keysIn(p, 3, 3, 'p'), ...keysIn((p + 1) % 3, 3, 2, 'q'), ...keysIn((p + 2) % 3, 3, 2, 'r')];
    const published: TestMessage[] = messages(30, (seq) => (seq === 15 ? stuckKey : pool[seq % pool.length]!));
    const bus = await ctx.open();
    await bus.publish(topic, published);
    // One process at a time on an embedded database: the child gets it to itself.
    await ctx.close(bus);

    const child = BusChild.start({ mode: 'consume', recipe: ctx.recipe(), topic: { name: topic.name, partitions: 3 }, groupId: group, hangSeq: 15 });
    let started: Started[];
    let ends: Map<number, bigint>;
    let stuck: Started;
    try {
      await child.waitFor('29 messages handled and #15 stuck', (events) => {
        const handled = new Set(events.flatMap((e) => (e.type === 'handled' ? [e.seq] : [])));
        return handled.size === 29 && events.some((e) => e.type === 'started' && e.seq === 15);
      });
      started = child.events.filter((e): e is Started => e.type === 'started');
      stuck = started.find((e) => e.seq === 15)!;
      ends = endOffsets(started);
      const expectedCommits = new Map([...ends].map(([partition, end]) => [partition, partition === p ? BigInt(stuck.offset) : end]));
      await child.waitFor('the low-water marks committed', (events) => {
        const beyond = events.find((e) => e.type === 'committed' && e.partition === p && BigInt(e.offset) > BigInt(stuck.offset));
        if (beyond) throw new Error(`committed ${JSON.stringify(beyond)} past the unfinished message at offset ${stuck.offset}`);
        const latest = lastCommits(events);
        return [...expectedCommits].every(([partition, offset]) => latest.get(partition) === offset);
      });
    } finally {
      await child.kill();
    }
    expect(stuck.partition).toBe(p);
    // Never beyond the stuck message in its partition, though later ones there were handled.
    const committedInP = child.events.flatMap((e) => (e.type === 'committed' && e.partition === p ? [BigInt(e.offset)] : []));
    expect(committedInP.every((o) => o <= BigInt(stuck.offset))).toBe(true);
    const handledAfterStuck = started.filter((e) => e.partition === p && BigInt(e.offset) > BigInt(stuck.offset));
    expect(handledAfterStuck.length).toBeGreaterThan(0);

    const restarted = await ctx.open();
    const again: Delivery[] = [];
    const commits = new CommitLog();
    await restarted.subscribe(topic, group, (m) => {
      again.push(delivery(m));
      return ack;
    }, { commitIntervalMs: 20, observer: commits.observer });
    // One sentinel per partition: once the commits pass them, every message below has
    // been delivered and finished, so nothing else can still be on its way.
    const sentinels = [0, 1, 2].map((partition) => ({ key: keysIn(partition, 3, 1, 'sentinel')[0]!, seq: 100 + partition }));
    await restarted.publish(topic, sentinels);
    const sentinelEnds = new Map([0, 1, 2].map((partition) => [partition, (ends.get(partition) ?? 0n) + 1n]));
    await eventually('redelivery committed past the sentinels', () => commits.reached(sentinelEnds), 60_000, () => ({
      again: again.map((d) => d.seq),
      commits: [...commits.latest],
    }));

    const expected = [...[stuck, ...handledAfterStuck].map((e) => e.seq), 100, 101, 102].sort((x, y) => x - y);
    expect(again.map((d) => d.seq).sort((x, y) => x - y)).toEqual(expected);
    const handledByChild = new Set(child.events.flatMap((e) => (e.type === 'handled' ? [e.seq] : [])));
    for (const m of published) expect(handledByChild.has(m.seq) || again.some((d) => d.seq === m.seq)).toBe(true);
  });

  it('publish resolves only once the messages are durable (the publisher is killed right after)', async () => {
    const topic = names.topic(2);
    const child = BusChild.start({ mode: 'publish', recipe: ctx.recipe(), topic: { name: topic.name, partitions: 2 }, count: 50 });
    try {
      await child.waitFor('publish resolved', (events) => events.some((e) => e.type === 'published'));
    } finally {
      await child.kill();
    }
    const bus = await ctx.open();
    const seen = new Set<number>();
    await bus.subscribe(topic, names.group('durable'), (m) => {
      seen.add(m.value.seq);
      return ack;
    });
    await eventually('all 50 read back', () => seen.size === 50, 60_000, () => seen.size);
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('concurrent publishes resolve only once durable, each publisher\'s messages in order (the publisher is killed mid-stream)', async () => {
    const topic = names.topic(2);
    const child = BusChild.start({ mode: 'publish-concurrent', recipe: ctx.recipe(), topic: { name: topic.name, partitions: 2 }, senders: 20 });
    try {
      await child.waitFor('200 publishes resolved', (events) => events.filter((e) => e.type === 'resolved').length >= 200);
    } finally {
      await child.kill();
    }
    const resolved = child.events.flatMap((e) => (e.type === 'resolved' ? e.seqs.map((seq) => `${e.key}#${seq}`) : []));
    const bus = await ctx.open();
    const seen: TestMessage[] = [];
    await bus.subscribe(topic, names.group('durable-concurrent'), (m) => {
      seen.push(m.value);
      return ack;
    });
    await eventually('every resolved message read back', () => {
      const read = new Set(seen.map((m) => `${m.key}#${m.seq}`));
      return resolved.every((id) => read.has(id));
    }, 60_000, () => seen.length);
    // Caught up with the log: what the killed publisher wrote beyond its last resolved calls is read too.
    await bus.publish(topic, [...keysIn(0, 2, 1, 'end'), ...keysIn(1, 2, 1, 'end')].map((key) => ({ key, seq: -1 })));
    await eventually('the end markers read', () => seen.filter((m) => m.seq === -1).length === 2);
    // Per publisher: its calls in order, none missing in between (a call starts once the one before resolved).
    for (let sender = 0; sender < 20; sender++) {
      const seqs = seen.filter((m) => m.key === `s${sender}`).map((m) => m.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i));
    }
  });
}
