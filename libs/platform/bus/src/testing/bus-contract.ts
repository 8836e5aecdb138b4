import { ROOT_CONTEXT, context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { bytesCodec, deadLetterTopic, defineTopic } from '@axon/contracts-kafka';
import { ack, deadLetter, retry, type DeliveredMessage, type MessageBus } from '../bus';
import { PermanentFailure } from '../worker/failures';
import { DLQ_HEADERS } from '../headers';
import { partitionForKey } from '../partitioner';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describeBatchContract } from './bus-contract-batches';
import { describeFailoverContract } from './bus-contract-failover';
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

    it('dead-letters a poison message after its retries, with its error, and the partition moves on', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const events: string[] = [];
      const commits = new CommitLog();
      await bus.subscribe(
        topic,
        names.group('poison'),
        (m) => {
          events.push(`${m.key}#${m.value.seq}@${m.attempt}`);
          if (m.value.seq === 1) throw new Error('boom: cannot handle seq 1');
          return ack;
        },
        { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 50 }, commitIntervalMs: 20, observer: commits.observer },
      );
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('poison-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      await bus.publish(topic, [
        { key: 'a', seq: 0 },
        { key: 'poison', seq: 1 },
        { key: 'b', seq: 2 },
        { key: 'c', seq: 3 },
        { key: 'poison', seq: 4 },
      ]);

      await eventually('the poison message dead-lettered', () => dead.length === 1);
      await eventually('the rest handled and committed past the poison', () => events.includes('poison#4@1') && commits.reached(new Map([[0, 5n]])));
      expect(events.filter((e) => e.startsWith('poison#1'))).toEqual(['poison#1@1', 'poison#1@2', 'poison#1@3']);
      // Its key waited for it; the other keys were handled once each.
      expect(events.indexOf('poison#4@1')).toBeGreaterThan(events.indexOf('poison#1@3'));
      expect(events.filter((e) => !e.startsWith('poison')).sort()).toEqual(['a#0@1', 'b#2@1', 'c#3@1']);
      const [letter] = dead;
      expect(letter!.key).toBe('poison');
      expect(JSON.parse(Buffer.from(letter!.value).toString('utf8'))).toEqual({ key: 'poison', seq: 1 });
      expect(letter!.headers[DLQ_HEADERS.error]).toMatch(/gave up after 3 attempts: .*boom: cannot handle seq 1/);
      expect(letter!.headers).toMatchObject({
        [DLQ_HEADERS.originalTopic]: topic.name,
        [DLQ_HEADERS.originalPartition]: '0',
        [DLQ_HEADERS.originalOffset]: '1',
        [DLQ_HEADERS.attempts]: '3',
      });
    });

    it('retries a message for as long as a dependency is unavailable, never dead-lettering it for that', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const attempts: number[] = [];
      let outage = 8; // more failures than maxAttempts allows
      const done: number[] = [];
      await bus.subscribe(
        topic,
        names.group('outage'),
        (m) => {
          attempts.push(m.attempt);
          if (m.value.seq === 0 && outage-- > 0) {
            // What pg throws while Postgres restarts.
            throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          }
          done.push(m.value.seq);
          return ack;
        },
        { maxAttempts: 2, backoff: { initialMs: 5, maxMs: 20 }, commitIntervalMs: 20 },
      );
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('outage-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      await bus.publish(topic, [
        { key: 'room', seq: 0 },
        { key: 'room', seq: 1 },
      ]);
      await eventually('both handled, in order', () => done.length === 2);
      expect(done).toEqual([0, 1]);
      // Nine deliveries of seq 0, none of them counted as a failed attempt.
      expect(attempts.slice(0, 9)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
      expect(dead).toEqual([]);
    });

    it('dead-letters a permanent failure at its first attempt, without holding its key back', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const handled: string[] = [];
      await bus.subscribe(
        topic,
        names.group('permanent'),
        (m) => {
          handled.push(`${m.value.seq}@${m.attempt}`);
          // What Postgres answers for a NUL byte in text (TypeORM wraps the driver's error), and a handler's own verdict.
          if (m.value.seq === 0) throw Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: { code: '22021' } });
          if (m.value.seq === 1) throw new PermanentFailure('not an event');
          return ack;
        },
        // A backoff that would show: a retry would hold the key back for a minute.
        { maxAttempts: 5, backoff: { initialMs: 60_000, maxMs: 60_000 } },
      );
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('permanent-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      await bus.publish(topic, [
        { key: 'room', seq: 0 },
        { key: 'room', seq: 1 },
        { key: 'room', seq: 2 },
      ]);
      await eventually('both dead-lettered and the next message of the key handled', () => dead.length === 2 && handled.includes('2@1'));
      expect(handled).toEqual(['0@1', '1@1', '2@1']);
      expect(dead.map((d) => d.headers[DLQ_HEADERS.attempts])).toEqual(['1', '1']);
      expect(dead[1]!.headers[DLQ_HEADERS.error]).toMatch(/permanent failure: .*not an event/);
    });

    it('dead-letters at once on deadLetter(reason) and on a payload that does not decode', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const handled: string[] = [];
      await bus.subscribe(topic, names.group('reject'), (m) => {
        handled.push(`${m.value.seq}@${m.attempt}`);
        return m.value.seq === 0 ? deadLetter('not for this server') : ack;
      });
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('reject-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      const rawAlias = defineTopic<Uint8Array>({ name: topic.name, partitions: 1, key: () => 'garbage', codec: bytesCodec });
      await bus.publish(topic, [{ key: 'x', seq: 0 }]);
      await bus.publish(rawAlias, [Buffer.from('{not json', 'utf8')]);
      await bus.publish(topic, [{ key: 'x', seq: 2 }]);

      await eventually('both dead-lettered and the last one handled', () => dead.length === 2 && handled.includes('2@1'));
      expect(handled).toEqual(['0@1', '2@1']);
      const byKey = new Map(dead.map((d) => [d.key, d]));
      expect(byKey.get('x')!.headers).toMatchObject({ [DLQ_HEADERS.error]: 'not for this server', [DLQ_HEADERS.attempts]: '1' });
      expect(byKey.get('garbage')!.headers[DLQ_HEADERS.error]).toMatch(/^undecodable payload \(json\)/);
      expect(Buffer.from(byKey.get('garbage')!.value).toString('utf8')).toBe('{not json');
    });

    it('a consumer of a dead-letter topic that gives up on a message acknowledges it, never re-parking it', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      await bus.subscribe(topic, names.group('park'), () => deadLetter('not for this server'));
      const dlq = deadLetterTopic(topic);
      const seqOf = (value: Uint8Array): number => (JSON.parse(Buffer.from(value).toString('utf8')) as TestMessage).seq;
      const triage: string[] = [];
      const triageCommits = new CommitLog();
      // Gives up on everything: #0 by deadLetter(reason), the others by running out of attempts.
      await bus.subscribe(
        dlq,
        names.group('triage'),
        (m) => {
          const seq = seqOf(m.value);
          triage.push(`${seq}@${m.attempt}`);
          return seq === 0 ? deadLetter('still broken') : retry(1, 'still flaky');
        },
        { maxAttempts: 2, commitIntervalMs: 20, observer: triageCommits.observer },
      );
      const seen: Delivery[] = [];
      await bus.subscribe(dlq, names.group('audit'), (m) => {
        seen.push(delivery({ ...m, value: JSON.parse(Buffer.from(m.value).toString('utf8')) as TestMessage }));
        return ack;
      });

      await bus.publish(topic, [{ key: 'x', seq: 0 }, { key: 'y', seq: 1 }]);
      await eventually('both parked, and the triage group past them', () => seen.length === 2 && triageCommits.reached(new Map([[0, 2n]])));
      // A third one, parked after the triage gave up on the first two: had the triage
      // re-parked them, it would not land right behind them.
      await bus.publish(topic, [{ key: 'z', seq: 2 }]);
      await eventually('the third parked and triaged', () => seen.length >= 3 && triageCommits.reached(new Map([[0, 3n]])));
      // #0 and #1 (different keys) are parked concurrently, in either order.
      expect(seen.map((d) => d.offset).sort()).toEqual(['0', '1', '2']);
      expect(seen.find((d) => d.seq === 2)!.offset).toBe('2');
      expect([...triage].sort()).toEqual(['0@1', '1@1', '1@2', '2@1', '2@2']);
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

    describeBatchContract(ctx);
    describeFailoverContract(ctx);
  });
}
