import { deadLetterTopic, defineTopic, jsonCodec, type Topic } from '@axon/contracts-kafka';
import { ack, deadLetter, retry, type HandlerOutcome, type MessageHeaders, type SubscribeOptions } from '../bus';
import { DLQ_HEADERS } from '../headers';
import type { BusLogger } from '../logger';
import { resolveSubscribeOptions } from '../options';
import { PartitionWorker } from './partition-worker';
import type { RawMessage } from './raw-message';

interface Payload {
  readonly key: string;
  readonly n: number;
}

const topic = defineTopic<Payload>({ name: 'hs.test.worker.v1', partitions: 1, key: (m) => m.key, codec: jsonCodec() });
const silent: BusLogger = { log: () => undefined };

function raw(offset: number, key: string, n = offset): RawMessage {
  return { offset: BigInt(offset), key, value: Buffer.from(JSON.stringify({ key, n })), headers: { h: 'v' }, timestamp: 1000 + offset };
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; !predicate(); i++) {
    if (i > 2000) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function makeWorker(
  handler: (m: { key: string; n: number; attempt: number }) => Promise<HandlerOutcome> | HandlerOutcome,
  options: SubscribeOptions = {},
  overrides: { topic?: Topic<unknown>; logger?: BusLogger } = {},
) {
  const dead: { message: RawMessage; headers: MessageHeaders }[] = [];
  const state = { progressed: 0, flowChanges: 0, failDeadLetters: 0 };
  const worker = new PartitionWorker<Payload>({
    topic: (overrides.topic ?? topic) as Topic<Payload>,
    groupId: 'g',
    partition: 0,
    system: 'test',
    handler: (m) => handler({ key: m.key, n: m.value.n, attempt: m.attempt }),
    options: resolveSubscribeOptions({ backoff: { initialMs: 1, maxMs: 5 }, ...options }),
    logger: overrides.logger ?? silent,
    deadLetter: async (message, headers) => {
      if (state.failDeadLetters > 0) {
        state.failDeadLetters--;
        throw new Error('dlq down');
      }
      dead.push({ message, headers });
    },
    progressed: () => state.progressed++,
    flowChanged: () => state.flowChanges++,
  });
  return { worker, dead, state };
}

describe('PartitionWorker', () => {
  /** Key a is slow, so offset 1 (a) waits behind 0 (a) while 2 (b) and 3 (c) start; 4 and 5 are queued. */
  async function gapScenario() {
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    const made = makeWorker(
      (m) => {
        started.push(m.n);
        return new Promise<HandlerOutcome>((resolve) => gates.set(m.n, () => resolve(ack)));
      },
      { concurrency: 3 },
    );
    made.worker.enqueue([raw(0, 'a'), raw(1, 'a'), raw(2, 'b'), raw(3, 'c'), raw(4, 'd'), raw(5, 'b')]);
    await until(() => started.length === 3);
    expect(started).toEqual([0, 2, 3]);
    return { ...made, started, gates };
  }

  it('on a graceful stop, fills the gaps below the highest started offset and leaves the rest', async () => {
    const { worker, started, gates } = await gapScenario();
    worker.stop({ fillGaps: true });
    const drained = worker.drain(5000);
    for (const n of [0, 2, 3]) gates.get(n)!();
    // 1 is below the highest started offset (3): it is a gap and still runs; 4 and 5 do not.
    await until(() => gates.has(1));
    gates.get(1)!();
    expect(await drained).toBe(true);
    expect(started).toEqual([0, 2, 3, 1]);
    expect(worker.lowWaterMark()).toBe(4n);
  });

  it('on a hard stop (partition lost), starts nothing new, not even the gaps; running handlers finish', async () => {
    const { worker, started, gates } = await gapScenario();
    worker.stop({ fillGaps: false });
    const drained = worker.drain(5000);
    for (const n of [0, 2, 3]) gates.get(n)!();
    expect(await drained).toBe(true);
    // Give a (wrongly) started gap every chance to show up.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([0, 2, 3]);
    expect(worker.lowWaterMark()).toBe(1n);
  });

  it('a hard stop after a graceful one stops the gap filling', async () => {
    const { worker, started, gates } = await gapScenario();
    worker.stop({ fillGaps: true });
    worker.stop({ fillGaps: false });
    const drained = worker.drain(5000);
    for (const n of [0, 2, 3]) gates.get(n)!();
    expect(await drained).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([0, 2, 3]);
  });

  it('once the drain timed out, a graceful stop starts no more gaps (the owner commits and hands the partition over)', async () => {
    const { worker, started, gates } = await gapScenario();
    worker.stop({ fillGaps: true });
    expect(await worker.drain(10)).toBe(false);
    for (const n of [0, 2, 3]) gates.get(n)!();
    expect(await worker.drain(5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([0, 2, 3]);
  });

  it('runs at most `concurrency` handlers at once, across keys', async () => {
    let running = 0;
    let peak = 0;
    const { worker } = makeWorker(
      async () => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return ack;
      },
      { concurrency: 3 },
    );
    worker.enqueue(Array.from({ length: 12 }, (_, i) => raw(i, `k${i}`)));
    await until(() => worker.pending === 0);
    expect(peak).toBe(3);
    expect(worker.lowWaterMark()).toBe(12n);
  });

  it('in key order with concurrency 1, a key with a backlog waits its turn: offsets run out of order', async () => {
    const order: number[] = [];
    const { worker } = makeWorker(
      async (m) => {
        order.push(m.n);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return ack;
      },
      { concurrency: 1 },
    );
    // A burst: room a has two messages in a row (1, 2) between b's and c's.
    worker.enqueue(['a', 'a', 'a', 'b', 'c', 'a', 'b', 'c'].map((key, i) => raw(i, key)));
    await until(() => worker.pending === 0);
    expect(order).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('in partition order, runs every message strictly in offset order, one at a time', async () => {
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const { worker } = makeWorker(
      async (m) => {
        peak = Math.max(peak, ++running);
        order.push(m.n);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        return ack;
      },
      // concurrency is ignored: partition order is one at a time.
      { order: 'partition', concurrency: 8 },
    );
    worker.enqueue(['a', 'a', 'a', 'b', 'c', 'a', 'b', 'c'].map((key, i) => raw(i, key)));
    worker.enqueue(['c', 'c', 'b', 'a'].map((key, i) => raw(8 + i, key)));
    await until(() => worker.pending === 0);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(peak).toBe(1);
  });

  it('retries a throwing handler with backoff, then dead-letters it with its error and moves on', async () => {
    const attempts: number[] = [];
    const { worker, dead, state } = makeWorker(
      (m) => {
        if (m.n === 0) {
          attempts.push(m.attempt);
          throw new Error(`broken ${m.attempt}`);
        }
        return ack;
      },
      { maxAttempts: 4 },
    );
    worker.enqueue([raw(0, 'bad'), raw(1, 'good')]);
    await until(() => worker.pending === 0);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.message.offset).toBe(0n);
    expect(dead[0]!.headers).toMatchObject({
      h: 'v',
      [DLQ_HEADERS.error]: 'gave up after 4 attempts: Error: broken 4',
      [DLQ_HEADERS.originalOffset]: '0',
      [DLQ_HEADERS.originalPartition]: '0',
      [DLQ_HEADERS.originalTimestamp]: '1000',
      [DLQ_HEADERS.consumerGroup]: 'g',
      [DLQ_HEADERS.attempts]: '4',
    });
    expect(worker.lowWaterMark()).toBe(2n);
    expect(state.progressed).toBeGreaterThan(0);
  });

  it('wants no more messages while a retry waits, and takes them again after', async () => {
    let first = true;
    const { worker, state } = makeWorker(() => {
      if (first) {
        first = false;
        return retry(80);
      }
      return ack;
    });
    worker.enqueue([raw(0, 'a')]);
    await until(() => !worker.wantsMore());
    const changesWhilePaused = state.flowChanges;
    await until(() => worker.pending === 0);
    expect(worker.wantsMore()).toBe(true);
    expect(state.flowChanges).toBeGreaterThan(changesWhilePaused);
  });

  it('treats a handler that returns no outcome as a retry', async () => {
    const attempts: number[] = [];
    const { worker, dead } = makeWorker(
      (m) => {
        attempts.push(m.attempt);
        return (m.attempt === 1 ? undefined : ack) as unknown as HandlerOutcome;
      },
      { maxAttempts: 3 },
    );
    worker.enqueue([raw(0, 'a')]);
    await until(() => worker.pending === 0);
    expect(attempts).toEqual([1, 2]);
    expect(dead).toEqual([]);
  });

  it('stops wanting messages at maxBufferedPerPartition', () => {
    const gate = new Promise<HandlerOutcome>(() => undefined);
    const { worker } = makeWorker(() => gate, { maxBufferedPerPartition: 3, concurrency: 1 });
    worker.enqueue([raw(0, 'a'), raw(1, 'b')]);
    expect(worker.wantsMore()).toBe(true);
    worker.enqueue([raw(2, 'c')]);
    expect(worker.wantsMore()).toBe(false);
  });

  it('skips offsets it already has (a re-fetch after a rebalance)', async () => {
    const seen: number[] = [];
    const { worker } = makeWorker((m) => {
      seen.push(m.n);
      return ack;
    });
    expect(worker.enqueue([raw(0, 'a'), raw(1, 'a')])).toBe(2);
    expect(worker.enqueue([raw(0, 'a'), raw(1, 'a'), raw(2, 'a')])).toBe(1);
    await until(() => worker.pending === 0);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('keeps retrying the dead-letter write; the message stays unfinished until it succeeds', async () => {
    const { worker, dead, state } = makeWorker(() => ({ kind: 'dead-letter', reason: 'no' }));
    state.failDeadLetters = 3;
    worker.enqueue([raw(0, 'a')]);
    await until(() => worker.pending === 0);
    expect(state.failDeadLetters).toBe(0);
    expect(dead).toHaveLength(1);
    expect(worker.lowWaterMark()).toBe(1n);
  });

  it('stop cancels waiting retries (left uncommitted) and drain waits for running handlers', async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { worker } = makeWorker(async (m) => {
      if (m.key === 'slow') {
        await slow;
        return ack;
      }
      return retry(60_000);
    });
    worker.enqueue([raw(0, 'slow'), raw(1, 'retrying'), raw(2, 'queued')]);
    await until(() => !worker.wantsMore());
    worker.stop({ fillGaps: true });
    expect(await worker.drain(20)).toBe(false);
    release();
    expect(await worker.drain(5_000)).toBe(true);
    // 0 finished; 1 and 2 were waiting to retry when stopped: both come back after a restart.
    expect(worker.lowWaterMark()).toBe(1n);
    expect(worker.enqueue([raw(3, 'late')])).toBe(0);
  });

  describe('on a dead-letter topic (it has no dead-letter topic of its own)', () => {
    const dlq = deadLetterTopic(topic);

    it.each([
      ['deadLetter(reason)', () => deadLetter('still broken'), /still broken/],
      ['retries exhausted', () => retry(1, 'flaky'), /gave up after 2 attempts: flaky/],
    ])('on %s logs an error with the coordinates and acknowledges, never re-appending', async (_what, outcome, reason) => {
      const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
      const { worker, dead, state } = makeWorker(outcome, { maxAttempts: 2 }, {
        topic: dlq as Topic<unknown>,
        logger: { log: (level, message, fields) => logged.push({ level, message, fields: { ...fields } }) },
      });
      worker.enqueue([raw(7, 'a'), raw(8, 'b')]);
      await until(() => worker.pending === 0);
      expect(dead).toEqual([]);
      expect(state.progressed).toBeGreaterThan(0);
      expect(worker.lowWaterMark()).toBe(9n);
      const errors = logged.filter((l) => l.level === 'error');
      expect(errors).toHaveLength(2);
      expect(errors[0]!.fields).toMatchObject({ topic: 'hs.test.worker.v1.dlq', partition: 0, offset: '7', key: 'a', groupId: 'g' });
      expect(String(errors[0]!.fields['reason'])).toMatch(reason);
    });
  });

  it('finishes a dead-lettered message even when the deadLettered observer throws', async () => {
    const logged: string[] = [];
    const { worker, dead } = makeWorker(() => deadLetter('bad'), {
      observer: {
        deadLettered: () => {
          throw new Error('observer bug');
        },
      },
    }, { logger: { log: (level, message) => logged.push(`${level} ${message}`) } });
    worker.enqueue([raw(0, 'a'), raw(1, 'a')]);
    await until(() => worker.lowWaterMark() === 2n);
    expect(dead).toHaveLength(2);
    expect(worker.pending).toBe(0);
    expect(logged.filter((l) => /^error .*observer deadLettered threw/.test(l))).toHaveLength(2);
  });

  it('a worker with a busy predecessor starts nothing until it drained, then never a key it still runs', async () => {
    const gates = new Map<string, () => void>();
    const started: string[] = [];
    const handler = (who: string) => (m: { key: string; n: number }): Promise<HandlerOutcome> => {
      started.push(`${who}${m.n}`);
      return new Promise<HandlerOutcome>((resolve) => gates.set(`${who}${m.n}`, () => resolve(ack)));
    };
    const old = makeWorker(handler('old'), { concurrency: 4 }).worker;
    old.enqueue([raw(0, 'a'), raw(1, 'b')]);
    await until(() => started.length === 2);
    old.stop({ fillGaps: false });
    const next = new PartitionWorker<Payload>({
      topic,
      groupId: 'g',
      partition: 0,
      system: 'test',
      handler: (m) => handler('new')({ key: m.key, n: m.value.n }),
      options: resolveSubscribeOptions({ concurrency: 4, drainTimeoutMs: 40 }),
      logger: silent,
      deadLetter: async () => undefined,
      progressed: () => undefined,
      flowChanged: () => undefined,
      predecessor: old,
    });
    next.enqueue([raw(0, 'a'), raw(1, 'b'), raw(2, 'c')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual(['old0', 'old1']);
    // The drain timed out: c is free, a and b still run in the old worker.
    await until(() => started.includes('new2'));
    expect(started).toEqual(['old0', 'old1', 'new2']);
    gates.get('old1')!();
    await until(() => started.includes('new1'));
    expect(started).not.toContain('new0');
    gates.get('old0')!();
    await until(() => started.includes('new0'));
  });
});
