import { ack, type MessageBus, type TransactionalPublisher } from '../bus';
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

function publisherOf(bus: MessageBus, database: object | undefined): TransactionalPublisher {
  const publisher = database === undefined ? undefined : bus.transactionalPublisher?.(database);
  if (publisher === undefined) throw new Error('the in-process bus offers no transactional publisher on its own database');
  return publisher;
}

/**
 * Publishing in a transaction of the caller's own (`MessageBus.transactionalPublisher`),
 * on PGlite and Postgres: the messages are on the bus when, and only if, the caller's
 * transaction commits, in commit order with the bus's own publishes.
 */
export function describeTransactionalPublishContract(name: string, recipe: () => BusRecipe): void {
  describe(`publishes in the caller's transaction: ${name}`, () => {
    const names = new TestNames();

    it('delivers what a committed transaction staged, nothing of one rolled back, and keeps the offsets gap-free', async () => {
      const { bus, database, close } = await openBus(recipe(), quietLogger);
      try {
        const publisher = publisherOf(bus, database);
        // Another service's schema of the same database: its transactions write the log.
        const service = await database!.dataSource({ schema: 'tx_publish_test', migrations: [] });
        const topic = names.topic(1);
        const seen: TestMessage[] = [];
        await bus.subscribe(topic, names.group('staged'), (m) => {
          seen.push(m.value);
          return ack;
        });

        const rolledBack = service.transaction(async (tx) => {
          await publisher.stage(tx, topic, [{ key: 'a', seq: 0 }]);
          throw new Error('the caller changes its mind');
        });
        await expect(rolledBack).rejects.toThrow('changes its mind');
        const staged = await service.transaction((tx) => publisher.stage(tx, topic, [{ key: 'a', seq: 1 }, { key: 'a', seq: 2 }]));
        publisher.committed(staged);
        await eventually('the committed messages delivered', () => seen.length === 2);
        expect(seen.map((m) => m.seq)).toEqual([1, 2]);
        // The rolled-back reservation is gone with its transaction: offsets 0 and 1.
        expect((await bus.endOffsets(topic))[0]).toBe(2n);
      } finally {
        await close();
      }
    });

    it('a publish to a partition a transaction staged to waits for its commit and comes after it', async () => {
      const { bus, database, close } = await openBus(recipe(), quietLogger);
      try {
        const publisher = publisherOf(bus, database);
        const service = await database!.dataSource({ schema: 'tx_publish_test', migrations: [] });
        const topic = names.topic(1);
        await bus.ensureTopics([topic]);
        let published: Promise<void> | undefined;
        const staged = await service.transaction(async (tx) => {
          const result = await publisher.stage(tx, topic, [{ key: 'k', seq: 0 }]);
          published = bus.publish(topic, [{ key: 'k', seq: 1 }]);
          // Give the publish every chance to overtake, were it able to.
          await new Promise((resolve) => setTimeout(resolve, 100));
          return result;
        });
        publisher.committed(staged);
        await published;
        const seen: TestMessage[] = [];
        await bus.subscribe(topic, names.group('order'), (m) => {
          seen.push(m.value);
          return ack;
        });
        await eventually('both delivered', () => seen.length === 2);
        expect(seen.map((m) => m.seq)).toEqual([0, 1]);
      } finally {
        await close();
      }
    });

    it('a message staged and committed but never announced (the process died after the commit) is delivered after a restart', async () => {
      const topic = names.topic(1);
      const first = await openBus(recipe(), quietLogger);
      try {
        const publisher = publisherOf(first.bus, first.database);
        const service = await first.database!.dataSource({ schema: 'tx_publish_test', migrations: [] });
        await first.bus.ensureTopics([topic]);
        await service.transaction((tx) => publisher.stage(tx, topic, [{ key: 'k', seq: 7 }]));
      } finally {
        await first.close();
      }
      const { bus, close } = await openBus(recipe(), quietLogger);
      try {
        const seen: TestMessage[] = [];
        await bus.subscribe(topic, names.group('unannounced'), (m) => {
          seen.push(m.value);
          return ack;
        });
        await eventually('delivered from the log', () => seen.length === 1);
        expect(seen[0]!.seq).toBe(7);
      } finally {
        await close();
      }
    });

    it('refuses a topic not created before the transaction (on PGlite, creating it there would wait for the transaction itself)', async () => {
      const { bus, database, close } = await openBus(recipe(), quietLogger);
      try {
        const publisher = publisherOf(bus, database);
        const service = await database!.dataSource({ schema: 'tx_publish_test', migrations: [] });
        const topic = names.topic(1);
        await expect(service.transaction((tx) => publisher.stage(tx, topic, [{ key: 'k', seq: 0 }]))).rejects.toThrow(/ensureTopics/);
        expect((await bus.endOffsets(topic))[0]).toBe(0n);
      } finally {
        await close();
      }
    });

    it('is offered only for the database the log is in', async () => {
      const { bus, close } = await openBus(recipe(), quietLogger);
      try {
        expect(bus.transactionalPublisher?.({})).toBeUndefined();
      } finally {
        await close();
      }
    });
  });
}
