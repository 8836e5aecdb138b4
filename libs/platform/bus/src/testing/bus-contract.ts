import { ROOT_CONTEXT, context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ack, retry, type MessageBus } from '../bus';
import { partitionForKey } from '../partitioner';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describeBatchContract } from './bus-contract-batches';
import { describeDeadLetterContract } from './bus-contract-dead-letters';
import { describeFailoverContract } from './bus-contract-failover';
import { describePartitionCountContract } from './bus-contract-partition-counts';
import { openBus, type BusRecipe, type OpenedBus } from './bus-recipe';
import { CommitLog, deferred, delivery, eventually, messages, quietLogger, TestNames, type Delivery, type TestMessage } from './contract-helpers';

/** What each contract test gets: fresh names, and buses that are closed after the test whatever happens. */
export interface ContractContext {
  readonly names: TestNames;
  recipe(): BusRecipe;
  open(): Promise<MessageBus>;
  close(bus: MessageBus): Promise<void>;
}

export interface ContractOptions {
  /** Removes what the run left behind on shared infrastructure: every topic whose name starts with `topicPrefix` (and its `.dlq`). */
  readonly cleanup?: (topicPrefix: string) => Promise<void>;
}

/** Keys that land in the wanted partition (the same partitioner runs on both implementations). */
export function keysIn(partition: number, partitions: number, count: number, prefix = 'k'): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (partitionForKey(`${prefix}${i}`, partitions) === partition) keys.push(`${prefix}${i}`);
  return keys;
}

/**
 * The bus contract (README.md "Guarantees"), run against every implementation: the
 * in-process log on PGlite (unit), on Postgres and Kafka (infra). `recipe` says how to
 * open the implementation; it is called after the suite's beforeAll hooks.
 */
export function describeBusContract(name: string, recipe: () => BusRecipe, options: ContractOptions = {}): void {
  describe(`bus contract: ${name}`, () => {
    const names = new TestNames();
    afterAll(async () => {
      await options.cleanup?.(names.prefix);
    });
    let opened: OpenedBus[] = [];
    const ctx: ContractContext = {
      names,
      recipe,
      async open() {
        const bus = await openBus(recipe(), quietLogger);
        opened.push(bus);
        return bus.bus;
      },
      async close(bus) {
        const entry = opened.find((o) => o.bus === bus);
        opened = opened.filter((o) => o !== entry);
        await entry?.close();
      },
    };
    afterEach(async () => {
      const open = opened;
      opened = [];
      for (const bus of open) await bus.close();
    });

    it('answers ping while open and refuses once closed', async () => {
      const bus = await ctx.open();
      await expect(bus.ping()).resolves.toBeUndefined();
      await ctx.close(bus);
      await expect(bus.ping()).rejects.toThrow(/closed/);
    });

    it('tells the end offsets of every partition: zero before any message, one past the last message delivered, moved by every publish', async () => {
      const bus = await ctx.open();
      const topic = names.topic(3);
      expect(await bus.endOffsets(topic)).toEqual([0n, 0n, 0n]);

      const inFirst = keysIn(0, 3, 2, 'e');
      const inLast = keysIn(2, 3, 1, 'e');
      await bus.publish(topic, [...messages(3, (seq) => inFirst[seq % 2]!), ...messages(2, () => inLast[0]!)]);
      const ends = await bus.endOffsets(topic);
      expect(ends).toEqual([3n, 0n, 2n]);

      // A consumer that applied every message published before the call has applied up to end - 1.
      const seen: Delivery[] = [];
      await bus.subscribe(topic, names.group('ends'), (message) => {
        seen.push(delivery(message));
        return ack;
      });
      await eventually('all five delivered', () => seen.length === 5);
      for (const [partition, end] of ends.entries()) {
        const offsets = seen.filter((d) => d.partition === partition).map((d) => BigInt(d.offset));
        expect(offsets.length === 0 ? 0n : offsets.reduce((a, b) => (a > b ? a : b)) + 1n).toBe(end);
      }

      // Moved by every publish, and only in the partitions written.
      await bus.publish(topic, messages(1, () => inLast[0]!));
      expect(await bus.endOffsets(topic)).toEqual([3n, 0n, 3n]);

      await ctx.close(bus);
      await expect(bus.endOffsets(topic)).rejects.toThrow(/closed/);
    });

    it('keeps each key in order while other keys of the partition proceed', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const gate = deferred();
      const started: Delivery[] = [];
      const finished: Delivery[] = [];
      const running = new Set<string>();
      let overlap = '';
      await bus.subscribe(
        topic,
        names.group('order'),
        async (m) => {
          if (running.has(m.key)) overlap = `${m.key} seq ${m.value.seq}`;
          running.add(m.key);
          started.push(delivery(m));
          if (m.key === 'slow' && m.value.seq === 0) await gate.promise;
          running.delete(m.key);
          finished.push(delivery(m));
          return ack;
        },
        { concurrency: 4 },
      );
      const slow = (seq: number): TestMessage => ({ key: 'slow', seq });
      const fast = (seq: number): TestMessage => ({ key: `fast${seq % 3}`, seq });
      await bus.publish(topic, [slow(0), ...[1, 2, 3, 4, 5].map(fast), slow(6), slow(7), ...[8, 9, 10, 11, 12, 13].map(fast)]);

      await eventually('every fast message handled while slow #0 is stuck', () => finished.filter((d) => d.key !== 'slow').length === 11);
      expect(started.filter((d) => d.key === 'slow').map((d) => d.seq)).toEqual([0]);
      gate.resolve();
      await eventually('all handled', () => finished.length === 14);

      const seqsOf = (key: string): number[] => started.filter((d) => d.key === key).map((d) => d.seq);
      expect(seqsOf('slow')).toEqual([0, 6, 7]);
      for (const key of ['fast0', 'fast1', 'fast2']) {
        const seqs = seqsOf(key);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      expect(overlap).toBe('');
    });

    it('delivers many keys over several partitions, each key in publish order and one at a time', async () => {
      const bus = await ctx.open();
      const topic = names.topic(3);
      const seen: Delivery[] = [];
      const running = new Set<string>();
      let overlap = '';
      await bus.subscribe(
        topic,
        names.group('many'),
        async (m) => {
          if (running.has(m.key)) overlap = `${m.key} seq ${m.value.seq}`;
          running.add(m.key);
          await new Promise((resolve) => setTimeout(resolve, (m.value.seq * 7) % 5));
          seen.push(delivery(m));
          running.delete(m.key);
          return ack;
        },
        // A small buffer: fetching pauses and resumes many times on the way.
        { concurrency: 8, maxBufferedPerPartition: 10 },
      );
      const published = messages(300, (seq) => `room${seq % 12}`);
      // Several publishes, as producers do: order across calls must hold too.
      for (let i = 0; i < published.length; i += 100) await bus.publish(topic, published.slice(i, i + 100));
      await eventually('300 messages delivered', () => seen.length >= 300);

      expect(new Set(seen.map((d) => d.seq)).size).toBe(300);
      for (let k = 0; k < 12; k++) {
        const seqs = seen.filter((d) => d.key === `room${k}`).map((d) => d.seq);
        expect(seqs).toEqual(published.filter((m) => m.key === `room${k}`).map((m) => m.seq));
        expect(new Set(seen.filter((d) => d.key === `room${k}`).map((d) => d.partition)).size).toBe(1);
      }
      expect(overlap).toBe('');
    });

    it('pauses only the partition of a retrying message; stop() cancels the retry, which is delivered again', async () => {
      const bus = await ctx.open();
      const topic = names.topic(2);
      const [kA, kB] = keysIn(0, 2, 2);
      const [kC] = keysIn(1, 2, 1);
      const group = names.group('pause');
      const seen: string[] = [];
      const commits = new CommitLog();
      const first = await bus.subscribe(
        topic,
        group,
        (m) => {
          seen.push(`${m.key}@${m.attempt}`);
          return m.key === kA ? retry(120_000, 'not yet') : ack;
        },
        { commitIntervalMs: 20, drainTimeoutMs: 5_000, observer: commits.observer },
      );
      await bus.publish(topic, [{ key: kA!, seq: 0 }]);
      await eventually('A tried once', () => seen.includes(`${kA}@1`));
      await bus.publish(topic, [{ key: kB!, seq: 1 }, { key: kC!, seq: 2 }]);
      await eventually('C handled in the other partition', () => seen.includes(`${kC}@1`));
      await eventually('C committed', () => commits.reached(new Map([[1, 1n]])));
      expect(seen).toEqual([`${kA}@1`, `${kC}@1`]);

      const stopStarted = Date.now();
      await first.stop();
      expect(Date.now() - stopStarted).toBeLessThan(30_000);

      const again: string[] = [];
      const commitsAgain = new CommitLog();
      await bus.subscribe(topic, group, (m) => {
        again.push(`${m.key}#${m.value.seq}`);
        return ack;
      }, { commitIntervalMs: 20, observer: commitsAgain.observer });
      // A sentinel behind C: once committed, C would have come back by now if it were to.
      await bus.publish(topic, [{ key: kC!, seq: 3 }]);
      await eventually('A, B and the sentinel delivered and committed', () => commitsAgain.reached(new Map([[0, 2n], [1, 2n]])));
      expect([...again].sort()).toEqual([`${kA}#0`, `${kB}#1`, `${kC}#3`].sort());
      expect(again.indexOf(`${kA}#0`)).toBeLessThan(again.indexOf(`${kB}#1`));
    });

    it('delivers what arrived in a partition while it was paused for a retry, once the retry is done', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const events: string[] = [];
      await bus.subscribe(topic, names.group('resume'), (m) => {
        events.push(`${m.key}@${m.attempt}`);
        return m.key === 'a' && m.attempt === 1 ? retry(300) : ack;
      });
      await bus.publish(topic, [{ key: 'a', seq: 0 }]);
      await eventually('a tried once', () => events.includes('a@1'));
      await bus.publish(topic, messages(20, (seq) => `b${seq}`));
      await eventually('a retried and everything after it handled', () => events.length === 22);
      expect(events.slice(0, 2)).toEqual(['a@1', 'a@2']);
      expect(events.slice(2).sort()).toEqual(messages(20, (seq) => `b${seq}@1`).map((m) => m.key).sort());
    });

    describe('trace context', () => {
      beforeAll(() => {
        propagation.setGlobalPropagator(new W3CTraceContextPropagator());
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      });
      afterAll(() => {
        propagation.disable();
        context.disable();
      });

      it('carries the publisher trace into the handler', async () => {
        const bus = await ctx.open();
        const topic = names.topic(2);
        const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
        const parent = trace.wrapSpanContext({ traceId, spanId: '0102030405060708', traceFlags: TraceFlags.SAMPLED });
        const inHandler: { traceId: string | undefined; traceparent: string | undefined }[] = [];
        await bus.subscribe(topic, names.group('trace'), (m) => {
          inHandler.push({ traceId: trace.getSpanContext(context.active())?.traceId, traceparent: m.headers['traceparent'] });
          return ack;
        });
        await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
          bus.publish(topic, messages(4, (seq) => `t${seq}`), { headers: { 'x-request-id': 'req-1' } }),
        );
        await eventually('4 handled', () => inHandler.length === 4);
        for (const seen of inHandler) {
          expect(seen.traceId).toBe(traceId);
          expect(seen.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
        }
      });
    });

    describeDeadLetterContract(ctx);
    describeBatchContract(ctx);
    describeFailoverContract(ctx);
    describePartitionCountContract(ctx);
  });
}
