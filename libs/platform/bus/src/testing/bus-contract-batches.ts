import { ROOT_CONTEXT, SpanKind, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { bytesCodec, deadLetterTopic, defineTopic } from '@axon/contracts-kafka';
import { ack, type BatchHandler, type BatchSubscribeOptions, type DeliveredMessage, type MessageBus } from '../bus';
import { DLQ_HEADERS } from '../headers';
import type { ContractContext } from './bus-contract';
import { CommitLog, deferred, eventually, messages, type TestMessage } from './contract-helpers';

/** `key#seq@attempt`, a message as the batch tests write it. */
function label(m: DeliveredMessage<TestMessage>): string {
  return `${m.key}#${m.value.seq}@${m.attempt}`;
}

/**
 * A one-partition batch subscription whose first call (the message with key `gate`) is
 * held until `open()`: what is published meanwhile queues behind it, so the next batch
 * is known exactly. `queued(n)` waits until the worker holds n unfinished messages.
 */
async function gatedBatches(
  bus: MessageBus,
  topicName: ReturnType<ContractContext['names']['topic']>,
  group: string,
  handler: BatchHandler<TestMessage>,
  options: BatchSubscribeOptions = {},
) {
  const gate = deferred();
  const calls: string[][] = [];
  let pending = 0;
  await bus.subscribeBatches(
    topicName,
    group,
    async (batch) => {
      calls.push(batch.map(label));
      if (batch[0]!.key === 'gate') await gate.promise;
      return handler(batch);
    },
    { ...options, observer: { ...options.observer, pending: (_p, count) => (pending = count) } },
  );
  await bus.publish(topicName, [{ key: 'gate', seq: 0 }]);
  await eventually('the gate call runs', () => calls.length === 1);
  return {
    calls,
    open: () => gate.resolve(),
    queued: (count: number) => eventually(`${count} messages queued`, () => pending === count, 45_000, () => pending),
  };
}

/** Batch delivery (`subscribeBatches`) and per-message trace headers, on every implementation. */
export function describeBatchContract(ctx: ContractContext): void {
  const { names } = ctx;

  describe('batches', () => {
    it('hand one call every queued message of the free keys, several keys and several per key, in offset order', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const gated = await gatedBatches(bus, topic, names.group('batch'), () => ack, { concurrency: 1 });
      await bus.publish(topic, messages(13, (seq) => ['a', 'b', 'c'][seq % 3]!).slice(1));
      await gated.queued(13);
      gated.open();
      await eventually('all handled', () => gated.calls.flat().length === 13);
      expect(gated.calls).toEqual([['gate#0@1'], messages(13, (seq) => ['a', 'b', 'c'][seq % 3]!).slice(1).map((m) => `${m.key}#${m.seq}@1`)]);
    });

    it('keep the keys of a running batch busy: a key\'s later messages never run beside its earlier ones', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const running = new Set<string>();
      let overlap = '';
      const gated = await gatedBatches(
        bus,
        topic,
        names.group('busy'),
        async (batch) => {
          const keys = new Set(batch.map((m) => m.key));
          for (const key of keys) if (running.has(key)) overlap = key;
          for (const key of keys) running.add(key);
          await new Promise((resolve) => setTimeout(resolve, 5));
          for (const key of keys) running.delete(key);
          return ack;
        },
        { concurrency: 4 },
      );
      await bus.publish(topic, [
        { key: 'gate', seq: 1 },
        { key: 'b', seq: 2 },
        { key: 'gate', seq: 3 },
        { key: 'b', seq: 4 },
      ]);
      await eventually('b handled beside the held gate batch', () => gated.calls.flat().includes('b#4@1'));
      await gated.queued(3);
      expect(gated.calls.flat()).not.toContain('gate#1@1');
      gated.open();
      await eventually('all handled', () => gated.calls.flat().length === 5);
      expect(gated.calls[0]).toEqual(['gate#0@1']);
      expect(gated.calls.slice(1).filter((call) => call[0]!.startsWith('b')).flat()).toEqual(['b#2@1', 'b#4@1']);
      expect(gated.calls[gated.calls.length - 1]).toEqual(['gate#1@1', 'gate#3@1']);
      expect(overlap).toBe('');
    });

    it('split on a failure: a poison message is retried and dead-lettered alone, the others acked one at a time', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const commits = new CommitLog();
      const gated = await gatedBatches(
        bus,
        topic,
        names.group('batch-poison'),
        (batch) => {
          if (batch.some((m) => m.value.seq === 2)) throw new Error('boom: cannot handle seq 2');
          return ack;
        },
        { concurrency: 1, maxAttempts: 2, backoff: { initialMs: 10, maxMs: 50 }, commitIntervalMs: 20, observer: commits.observer },
      );
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('batch-poison-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      await bus.publish(topic, [
        { key: 'a', seq: 1 },
        { key: 'a', seq: 2 },
        { key: 'b', seq: 3 },
        { key: 'a', seq: 4 },
      ]);
      await gated.queued(5);
      gated.open();
      await eventually('all done and committed', () => dead.length === 1 && commits.reached(new Map([[0, 5n]])));
      expect(gated.calls).toEqual([['gate#0@1'], ['a#1@1', 'a#2@1', 'b#3@1', 'a#4@1'], ['a#1@1'], ['a#2@1'], ['a#2@2'], ['b#3@1'], ['a#4@1']]);
      expect(dead[0]!.headers).toMatchObject({ [DLQ_HEADERS.originalOffset]: '2', [DLQ_HEADERS.attempts]: '2' });
      expect(dead[0]!.headers[DLQ_HEADERS.error]).toMatch(/gave up after 2 attempts: .*boom: cannot handle seq 2/);
    });

    it('split on a payload that does not decode: it is dead-lettered at once, the handler never sees it', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      const gated = await gatedBatches(bus, topic, names.group('batch-garbage'), () => ack, { concurrency: 1 });
      const dead: DeliveredMessage<Uint8Array>[] = [];
      await bus.subscribe(deadLetterTopic(topic), names.group('batch-garbage-dlq'), (m) => {
        dead.push(m);
        return ack;
      });
      const rawAlias = defineTopic<Uint8Array>({ name: topic.name, partitions: 1, key: () => 'garbage', codec: bytesCodec });
      await bus.publish(topic, [{ key: 'a', seq: 1 }]);
      await bus.publish(rawAlias, [Buffer.from('{not json', 'utf8')]);
      await bus.publish(topic, [{ key: 'a', seq: 3 }]);
      await gated.queued(4);
      gated.open();
      await eventually('the garbage dead-lettered and the rest handled', () => dead.length === 1 && gated.calls.flat().includes('a#3@1'));
      expect(gated.calls).toEqual([['gate#0@1'], ['a#1@1'], ['a#3@1']]);
      expect(dead[0]!.headers[DLQ_HEADERS.error]).toMatch(/^undecodable payload \(json\)/);
    });

    it('retry the whole batch while a dependency is unavailable, never splitting it or counting an attempt', async () => {
      const bus = await ctx.open();
      const topic = names.topic(1);
      let outage = 3;
      const gated = await gatedBatches(
        bus,
        topic,
        names.group('batch-outage'),
        (batch) => {
          if (batch.length > 1 && outage-- > 0) {
            throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          }
          return ack;
        },
        { concurrency: 1, maxAttempts: 1, backoff: { initialMs: 5, maxMs: 20 } },
      );
      await bus.publish(topic, [
        { key: 'a', seq: 1 },
        { key: 'a', seq: 2 },
        { key: 'b', seq: 3 },
      ]);
      await gated.queued(4);
      gated.open();
      await eventually('the batch went through', () => gated.calls.length === 5);
      expect(gated.calls.slice(1)).toEqual(Array.from({ length: 4 }, () => ['a#1@1', 'a#2@1', 'b#3@1']));
    });

    describe('trace headers', () => {
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      beforeAll(() => {
        propagation.setGlobalPropagator(new W3CTraceContextPropagator());
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
        trace.setGlobalTracerProvider(provider);
      });
      afterAll(async () => {
        await provider.shutdown();
        trace.disable();
        propagation.disable();
        context.disable();
      });

      it('give each message of a batch the headers of its own consume span; the handler runs in the first one', async () => {
        const bus = await ctx.open();
        const topic = names.topic(1);
        const traceId = 'b1b2c3d4e5f60718293a4b5c6d7e8f90';
        const parent = trace.wrapSpanContext({ traceId, spanId: '0102030405060708', traceFlags: TraceFlags.SAMPLED });
        const batches: { offset: string; traceparent: string | undefined }[][] = [];
        const active: (string | undefined)[] = [];
        const single: { traceparent: string | undefined; active: string | undefined }[] = [];
        await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
          const gated = await gatedBatches(
            bus,
            topic,
            names.group('batch-trace'),
            (batch) => {
              batches.push(batch.map((m) => ({ offset: m.offset, traceparent: m.traceHeaders['traceparent'] })));
              active.push(trace.getActiveSpan()?.spanContext().spanId);
              return ack;
            },
            { concurrency: 1 },
          );
          await bus.subscribe(topic, names.group('single-trace'), (m) => {
            single.push({ traceparent: m.traceHeaders['traceparent'], active: trace.getActiveSpan()?.spanContext().spanId });
            return ack;
          });
          await bus.publish(topic, messages(4, (seq) => `t${seq}`).slice(1));
          await gated.queued(4);
          gated.open();
        });
        await eventually('both groups handled all', () => batches.flat().length === 4 && single.length === 4);
        const batch = batches[1]!;
        expect(batch.map((m) => m.offset)).toEqual(['1', '2', '3']);
        const spanIds = batch.map((m) => new RegExp(`^00-${traceId}-([0-9a-f]{16})-01$`).exec(m.traceparent ?? '')?.[1]);
        expect(new Set(spanIds).size).toBe(3);
        expect(active[1]).toBe(spanIds[0]);
        await eventually('the consume spans ended', () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length >= 8);
        const consume = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && spanIds.includes(s.spanContext().spanId));
        expect(consume.map((s) => [s.spanContext().spanId, s.attributes['messaging.kafka.offset']])).toEqual(
          expect.arrayContaining(spanIds.map((id, index) => [id, batch[index]!.offset])),
        );
        expect(consume).toHaveLength(3);
        for (const m of single) expect(m.traceparent).toMatch(new RegExp(`^00-${traceId}-${m.active}-01$`));
      });
    });
  });

  it('concurrent publishes keep each call\'s order and the order of each publisher\'s calls', async () => {
    const bus = await ctx.open();
    const topic = names.topic(3);
    const seen: TestMessage[] = [];
    await bus.subscribe(topic, names.group('concurrent'), (m) => {
      seen.push(m.value);
      return ack;
    });
    // 40 publishers at once, each 3 calls one after the other, each call 2 messages of its key.
    await Promise.all(
      Array.from({ length: 40 }, async (_, p) => {
        for (let call = 0; call < 3; call++) {
          await bus.publish(topic, [
            { key: `p${p}`, seq: p * 100 + call * 2 },
            { key: `p${p}`, seq: p * 100 + call * 2 + 1 },
          ]);
        }
      }),
    );
    await eventually('all 240 read back', () => seen.length >= 240, 60_000, () => seen.length);
    for (let p = 0; p < 40; p++) {
      expect(seen.filter((m) => m.key === `p${p}`).map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5].map((i) => p * 100 + i));
    }
    expect(seen).toHaveLength(240);
  });
}
