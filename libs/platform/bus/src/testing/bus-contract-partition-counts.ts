import { defineTopic, jsonCodec, type Topic } from '@axon/contracts-kafka';
import { ack, type MessageBus } from '../bus';
import { partitionForKey } from '../partitioner';
import { keysIn, type ContractContext } from './bus-contract';
import { delivery, eventually, messages, type Delivery, type TestMessage } from './contract-helpers';

/** The same topic under another partition count: what a deployment's `kafka.partitions` does to a topic. */
function withPartitions(topic: Topic<TestMessage>, partitions: number): Topic<TestMessage> {
  return defineTopic<TestMessage>({ name: topic.name, partitions, key: (m) => m.key, codec: jsonCodec() });
}

/** Consumes `topic` as `group` until `count` messages arrived, and stops. */
async function consume(bus: MessageBus, topic: Topic<TestMessage>, group: string, count: number): Promise<Delivery[]> {
  const seen: Delivery[] = [];
  const subscription = await bus.subscribe(topic, group, (m) => {
    seen.push(delivery(m));
    return Promise.resolve(ack);
  });
  await eventually(`${count} delivered`, () => seen.length >= count, 45_000, () => seen);
  await subscription.stop();
  return seen;
}

/** A topic's partition count raised by the deployment (`kafka.partitions`): only up, and only once its consumers are done with it. */
export function describePartitionCountContract(ctx: ContractContext): void {
  describe('partition counts', () => {
    it('raises a consumed topic to a higher count, keys going where the new count puts them; refuses while a group has not consumed it, and any lower count', async () => {
      const small = ctx.names.topic(2);
      const group = ctx.names.group('raise');
      const first = await ctx.open();
      await first.publish(small, messages(6, (seq) => keysIn(seq % 2, 2, 3, 'p')[seq % 3]!));
      expect((await consume(first, small, group, 6)).map((d) => d.seq).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
      await ctx.close(first);

      const big = withPartitions(small, 4);
      const second = await ctx.open();
      await second.ensureTopics([big]);
      expect(await second.endOffsets(big)).toEqual([3n, 3n, 0n, 0n]);
      const after = [0, 1, 2, 3].map((partition, i) => ({ key: keysIn(partition, 4, 1, 'q')[0]!, seq: 100 + i }));
      await second.publish(big, after);
      expect(await second.endOffsets(big)).toEqual([4n, 4n, 1n, 1n]);
      // The group goes on from where it was, in every partition, the added ones included.
      const seen = await consume(second, big, group, 4);
      expect(seen.map((d) => d.seq).sort((a, b) => a - b)).toEqual([100, 101, 102, 103]);
      for (const d of seen) expect(d.partition).toBe(partitionForKey(d.key, 4));
      // Left unconsumed: the next raise waits for the group.
      await second.publish(big, messages(2, (seq) => `r${seq}`));
      await ctx.close(second);

      const third = await ctx.open();
      await expect(third.ensureTopics([withPartitions(small, 6)])).rejects.toThrow(/is not raised to 6 partitions: its consumers have not consumed everything in it yet/);
      await expect(third.ensureTopics([withPartitions(small, 3)])).rejects.toThrow(/has 4 partitions but the configured count is 3: a count cannot go down/);
      await third.ensureTopics([big]);
      expect((await consume(third, big, group, 2)).map((d) => d.seq).sort()).toEqual([0, 1]);
      await ctx.close(third);

      const fourth = await ctx.open();
      await fourth.ensureTopics([withPartitions(small, 6)]);
      expect((await fourth.endOffsets(withPartitions(small, 6))).length).toBe(6);
    });
  });
}
