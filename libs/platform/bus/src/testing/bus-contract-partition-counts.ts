import { defineTopic, jsonCodec, type Topic } from '@axon/contracts-kafka';
import type { ContractContext } from './bus-contract';
import { messages, type TestMessage } from './contract-helpers';

/** The same topic under another partition count: what a deployment's `kafka.partitions` does to a topic. */
function withPartitions(topic: Topic<TestMessage>, partitions: number): Topic<TestMessage> {
  return defineTopic<TestMessage>({ name: topic.name, partitions, key: (m) => m.key, codec: jsonCodec() });
}

/** A topic keeps the partition count it was created with (`kafka.partitions` at creation). */
export function describePartitionCountContract(ctx: ContractContext): void {
  describe('partition counts', () => {
    it('creates a topic with its count, and refuses another count for it afterwards, writing nothing', async () => {
      const topic = withPartitions(ctx.names.topic(1), 5);
      const first = await ctx.open();
      await first.ensureTopics([topic]);
      await first.publish(topic, messages(3, (seq) => `k${seq}`));
      expect((await first.endOffsets(topic)).length).toBe(5);
      await ctx.close(first);

      const second = await ctx.open();
      for (const other of [3, 8]) {
        await expect(second.ensureTopics([withPartitions(topic, other)])).rejects.toThrow(`has 5 partitions but the configured count is ${other}`);
        await expect(second.publish(withPartitions(topic, other), messages(1, () => 'x'))).rejects.toThrow(/keeps the count it was created with/);
      }
      await second.ensureTopics([topic]);
      const ends = await second.endOffsets(topic);
      expect(ends.length).toBe(5);
      expect(ends.reduce((a, b) => a + b, 0n)).toBe(3n);
    });
  });
}
