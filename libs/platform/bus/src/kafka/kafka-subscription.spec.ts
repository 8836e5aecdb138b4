import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack, type HandlerOutcome, type SubscribeOptions } from '../bus';
import type { BusMetrics } from '../bus-metrics';
import type { BusLogger } from '../logger';
import { resolveSubscribeOptions } from '../options';
import { FakeKafka, type FakeConsumer } from '../testing/fake-kafka';
import { KAFKA_TEST_TIMING } from './kafka-options';
import { KafkaSubscription } from './kafka-subscription';

interface Payload {
  readonly key: string;
  readonly seq: number;
}

const topic = defineTopic<Payload>({ name: 'hs.test.kafka-sub.v1', partitions: 2, key: (m) => m.key, codec: jsonCodec() });

async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; !predicate(); i++) {
    if (i > 2500) throw new Error(`condition not reached: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

/** A subscription on a fake kafkajs client; every handler call waits until the test releases it. */
async function start(options: SubscribeOptions = {}, metrics?: BusMetrics) {
  const kafka = new FakeKafka();
  kafka.initialAssignment = [0, 1];
  const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: BusLogger = { log: (level, message, fields) => logged.push({ level, message, fields: { ...fields } }) };
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  /** Handlers running per key, and the most that ever ran at once for one key. */
  const running = new Map<string, number>();
  const overlap = { max: 0 };
  const subscription = new KafkaSubscription<Payload>({
    kafka: kafka.asKafka(),
    topic,
    groupId: 'g',
    handler: (m) => {
      const id = `${m.partition}:${m.offset}`;
      started.push(id);
      const now = (running.get(m.key) ?? 0) + 1;
      running.set(m.key, now);
      overlap.max = Math.max(overlap.max, now);
      return new Promise<HandlerOutcome>((resolve) =>
        gates.set(id, () => {
          running.set(m.key, running.get(m.key)! - 1);
          resolve(ack);
        }),
      );
    },
    options: resolveSubscribeOptions({ concurrency: 3, commitIntervalMs: 60_000, ...options }),
    timing: KAFKA_TEST_TIMING,
    logger,
    deadLetter: async () => undefined,
    onStopped: () => undefined,
    metrics,
  });
  await subscription.start();
  const consumer: FakeConsumer = kafka.consumers[0]!;
  const release = (...ids: string[]): void => {
    for (const id of ids) gates.get(id)!();
  };
  return { kafka, consumer, subscription, logged, started, gates, release, overlap };
}

/**
 * Partition 0: key a is slow, so offset 1 (a) queues behind 0 (a) while 2 (b) and 3 (c)
 * start; 4 (d) and 5 (b) queue beyond them. Offset 1 is a "gap" below the highest started.
 */
async function withGap(options: SubscribeOptions = {}, metrics?: BusMetrics, highWatermark?: number) {
  const t = await start(options, metrics);
  await t.consumer.deliver(0, 0, ['a', 'a', 'b', 'c', 'd', 'b'], highWatermark);
  await until('three started', () => t.started.length === 3);
  expect(t.started).toEqual(['0:0', '0:2', '0:3']);
  return t;
}

describe('KafkaSubscription (fake kafkajs)', () => {
  it('reports consumer lag per partition: the batch high watermark minus the low-water mark, gone once the partition is', async () => {
    const lag = new Map<number, number>();
    const metrics: BusMetrics = {
      consumerLag: (topicName, group, partition, value) => {
        expect([topicName, group]).toEqual([topic.name, 'g']);
        lag.set(partition, value);
      },
      forgetPartition: (_topic, _group, partition) => lag.delete(partition),
      groupLag: () => undefined,
      forgetGroupPartition: () => undefined,
    };
    // Six messages fetched of ten in the partition; 0, 2 and 3 running.
    const t = await withGap({}, metrics, 10);
    expect(lag.get(0)).toBe(10);
    t.release('0:0');
    // 0 done: the low-water mark is 1 (running now), whatever finishes above it.
    await until('offset 0 counted', () => lag.get(0) === 9);
    t.release('0:2', '0:3');
    await settle();
    expect(lag.get(0)).toBe(9);
    t.consumer.assign([1]);
    expect(lag.has(0)).toBe(false);
    await t.subscription.stop();
  });

  it('starts nothing more of a partition revoked in a rebalance, not even the gaps, and never commits it', async () => {
    const t = await withGap();
    t.consumer.assign([1]);
    expect(t.subscription.assignment()).toEqual([1]);
    t.release('0:0', '0:2', '0:3');
    await settle();
    // The partition belongs to another member now: starting offset 1 here would run it twice at once.
    expect(t.started).toEqual(['0:0', '0:2', '0:3']);
    await t.subscription.stop();
    expect(t.consumer.lastCommit(0)).toBeUndefined();
  });

  it.each([
    ['for good', false],
    ['with a restart', true],
  ])('stops starting messages when the consumer crashes %s (kafkajs left the group)', async (_what, restart) => {
    const t = await withGap();
    t.consumer.crash(new Error('boom'), restart);
    t.release('0:0', '0:2', '0:3');
    await settle();
    expect(t.started).toEqual(['0:0', '0:2', '0:3']);
    expect(t.subscription.assignment()).toEqual([]);
    if (restart) {
      // The restarted consumer rejoins: a fresh worker takes the partition from the last commit.
      t.consumer.assign([0]);
      await t.consumer.deliver(0, 0, ['a']);
      await until('redelivered', () => t.started.length === 4);
      expect(t.started[3]).toBe('0:0');
      t.release('0:0');
    }
    await t.subscription.stop();
  });

  it('a graceful stop fills the gaps, then commits everything it handled', async () => {
    const t = await withGap();
    const stopping = t.subscription.stop();
    t.release('0:0', '0:2', '0:3');
    await until('the gap started', () => t.gates.has('0:1'));
    t.release('0:1');
    await stopping;
    expect(t.started).toEqual(['0:0', '0:2', '0:3', '0:1']);
    expect(t.consumer.lastCommit(0)).toBe('4');
    expect(t.consumer.disconnected).toBe(true);
  });

  it('retries a failed final commit of a graceful stop', async () => {
    const t = await start();
    await t.consumer.deliver(0, 0, ['a', 'b']);
    await until('both started', () => t.started.length === 2);
    t.release('0:0', '0:1');
    t.consumer.failCommits = 2;
    await t.subscription.stop();
    expect(t.consumer.lastCommit(0)).toBe('2');
    expect(t.logged.filter((l) => l.message.includes('commit failed'))).toHaveLength(2);
  });

  it('gives up on the final commit after a few attempts, logs an error, and still leaves the group', async () => {
    const t = await start();
    await t.consumer.deliver(0, 0, ['a']);
    await until('started', () => t.started.length === 1);
    t.release('0:0');
    t.consumer.failCommits = 1000;
    await t.subscription.stop();
    expect(t.consumer.lastCommit(0)).toBeUndefined();
    expect(t.consumer.disconnected).toBe(true);
    expect(t.logged.some((l) => l.level === 'error' && /final offset commit/.test(l.message))).toBe(true);
  });

  it('bounds the drain of a graceful stop by drainTimeoutMs, and starts nothing after it', async () => {
    const t = await withGap({ drainTimeoutMs: 50 });
    const began = Date.now();
    await t.subscription.stop();
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(t.consumer.disconnected).toBe(true);
    // Handlers that outlived the drain finish later; the gap behind them must not start then.
    t.release('0:0', '0:2', '0:3');
    await settle();
    expect(t.started).toEqual(['0:0', '0:2', '0:3']);
  });

  it('a partition back after a crash and restart starts nothing until the old worker drained: one key never runs twice at once', async () => {
    const t = await withGap();
    t.consumer.crash(new Error('boom'), true);
    // The restarted consumer gets the same partition back and re-fetches from the last commit (none).
    t.consumer.assign([0, 1]);
    await t.consumer.deliver(0, 0, ['a', 'a', 'b', 'c', 'd', 'b']);
    await settle();
    // 0:0, 0:2 and 0:3 still run in the retired worker: nothing of the partition starts again yet.
    expect(t.started).toEqual(['0:0', '0:2', '0:3']);
    t.release('0:2');
    await settle();
    expect(t.started).toEqual(['0:0', '0:2', '0:3']);
    t.release('0:0', '0:3');
    await until('redelivered', () => t.started.length === 6);
    expect(t.started.slice(3)).toEqual(['0:0', '0:2', '0:3']);
    expect(t.overlap.max).toBe(1);
    t.release('0:0', '0:2', '0:3');
    await until('the rest', () => t.started.length === 9);
    expect(t.started.slice(6).sort()).toEqual(['0:1', '0:4', '0:5']);
    t.release('0:1', '0:4', '0:5');
    expect(t.overlap.max).toBe(1);
    await t.subscription.stop();
    expect(t.consumer.lastCommit(0)).toBe('6');
  });

  it("after the old worker's drain timed out, the new one starts other keys but never a key the old one still runs", async () => {
    const t = await withGap({ drainTimeoutMs: 50 });
    t.consumer.crash(new Error('boom'), true);
    t.consumer.assign([0, 1]);
    await t.consumer.deliver(0, 0, ['a', 'a', 'b', 'c', 'd', 'b']);
    // After the timeout: d (4) is free; a, b and c still run in the old worker.
    await until('d started', () => t.started.includes('0:4'));
    await settle();
    expect(t.started).toEqual(['0:0', '0:2', '0:3', '0:4']);
    t.release('0:2');
    await until('b redelivered', () => t.started.length === 5);
    expect(t.started[4]).toBe('0:2');
    expect(t.overlap.max).toBe(1);
    t.release('0:0', '0:3', '0:4', '0:2');
    await until('a and c redelivered', () => t.started.includes('0:0') && t.started.filter((id) => id === '0:0').length === 2 && t.started.filter((id) => id === '0:3').length === 2);
    expect(t.overlap.max).toBe(1);
    for (const [, open] of t.gates) open();
    await t.subscription.stop();
  });

  it('an observer that throws neither breaks the assignment nor the commits', async () => {
    const t = await start({
      observer: {
        assigned: () => {
          throw new Error('observer bug');
        },
        committed: () => {
          throw new Error('observer bug');
        },
      },
    });
    expect(t.subscription.assignment()).toEqual([0, 1]);
    await t.consumer.deliver(0, 0, ['a', 'b']);
    await until('both started', () => t.started.length === 2);
    t.release('0:0', '0:1');
    await t.subscription.stop();
    expect(t.consumer.lastCommit(0)).toBe('2');
    expect(t.logged.filter((l) => l.level === 'error' && /observer (assigned|committed) threw/.test(l.message)).length).toBeGreaterThanOrEqual(2);
  });

  it('a commit in flight when its partition is revoked does not record the partition as committed', async () => {
    const t = await start({ commitIntervalMs: 1 });
    let releaseCommit!: () => void;
    const original = t.consumer.commitOffsets.bind(t.consumer);
    t.consumer.commitOffsets = async (offsets) => {
      await new Promise<void>((resolve) => (releaseCommit = resolve));
      t.consumer.commitOffsets = original;
      await original(offsets);
    };
    await t.consumer.deliver(0, 0, ['a']);
    await until('started', () => t.started.length === 1);
    t.release('0:0');
    await until('commit in flight', () => releaseCommit !== undefined);
    t.consumer.assign([1]);
    releaseCommit();
    await settle();
    expect(t.consumer.lastCommit(0)).toBe('1');
    expect((t.subscription as unknown as { committed: Map<number, bigint> }).committed.has(0)).toBe(false);
    await t.subscription.stop();
  });
});
