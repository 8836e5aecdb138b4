import { ack } from '../bus';
import { openBus, type BusRecipe } from './bus-recipe';
import { eventually, quietLogger, TestNames, type TestMessage } from './contract-helpers';

/**
 * The in-process log's coalesced publishes (README "Publish"), on PGlite and Postgres:
 * concurrent publishes share a transaction, yet a publish that cannot be written fails
 * only its own caller.
 */
export function describeCoalescedPublishContract(name: string, recipe: () => BusRecipe): void {
  describe(`coalesced publishes: ${name}`, () => {
    const names = new TestNames();

    it('a publish that cannot be written rejects only its own caller, though it shared a transaction with others', async () => {
      const { bus, close } = await openBus(recipe(), quietLogger);
      try {
        const topic = names.topic(1);
        await bus.ensureTopics([topic]);
        const results = await Promise.allSettled([
          bus.publish(topic, [{ key: 'a', seq: 0 }]),
          bus.publish(topic, [{ key: 'a', seq: 1 }, { key: 'b', seq: 2 }]),
          // Postgres text cannot hold NUL: the row is refused, and the transaction with it.
          bus.publish(topic, [{ key: 'bad\u0000key', seq: 3 }]),
          bus.publish(topic, [{ key: 'a', seq: 4 }]),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
        expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
        const seen: TestMessage[] = [];
        await bus.subscribe(topic, names.group('coalesced'), (m) => {
          seen.push(m.value);
          return ack;
        });
        await bus.publish(topic, [{ key: 'end', seq: 5 }]);
        await eventually('all read back', () => seen.some((m) => m.seq === 5));
        expect(seen.filter((m) => m.key === 'a').map((m) => m.seq)).toEqual([0, 1, 4]);
        expect(seen.map((m) => m.seq).sort()).toEqual([0, 1, 2, 4, 5]);
      } finally {
        await close();
      }
    });
  });
}
