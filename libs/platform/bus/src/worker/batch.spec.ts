import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack, deadLetter, retry, type DeliveredMessage, type HandlerOutcome, type MessageHeaders, type BatchSubscribeOptions } from '../bus';
import { DLQ_HEADERS } from '../headers';
import type { BusLogger } from '../logger';
import { resolveBatchSubscribeOptions } from '../options';
import { PartitionWorker } from './partition-worker';
import type { RawMessage } from './raw-message';

// The batch unit of the partition worker (subscribeBatches), with a fake owner.

interface Payload {
  readonly key: string;
  readonly n: number;
}

const topic = defineTopic<Payload>({ name: 'hs.test.batch.v1', partitions: 1, key: (m) => m.key, codec: jsonCodec() });
const silent: BusLogger = { log: () => undefined };

function raw(offset: number, key: string): RawMessage {
  return { offset: BigInt(offset), key, value: Buffer.from(JSON.stringify({ key, n: offset })), headers: {}, timestamp: 1000 + offset };
}

function garbage(offset: number, key: string): RawMessage {
  return { offset: BigInt(offset), key, value: Buffer.from('{not json'), headers: {}, timestamp: 1000 + offset };
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; !predicate(); i++) {
    if (i > 2000) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** `key#offset@attempt` of each message of a call. */
type Call = string[];

function makeWorker(
  handler: (messages: readonly DeliveredMessage<Payload>[]) => Promise<HandlerOutcome> | HandlerOutcome,
  options: BatchSubscribeOptions = {},
) {
  const calls: Call[] = [];
  const dead: { message: RawMessage; headers: MessageHeaders }[] = [];
  const worker = new PartitionWorker<Payload>({
    topic,
    groupId: 'g',
    partition: 0,
    system: 'test',
    batchHandler: (messages) => {
      calls.push(messages.map((m) => `${m.key}#${m.offset}@${m.attempt}`));
      return handler(messages);
    },
    options: resolveBatchSubscribeOptions({ backoff: { initialMs: 1, maxMs: 5 }, ...options }),
    logger: silent,
    deadLetter: async (message, headers) => {
      dead.push({ message, headers });
    },
    progressed: () => undefined,
    flowChanged: () => undefined,
  });
  return { worker, calls, dead };
}

/** A handler that holds every call whose first key is `held` until `open()`. */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    open: () => release(),
    handler: async (messages: readonly DeliveredMessage<Payload>[]): Promise<HandlerOutcome> => {
      if (messages[0]!.key === 'held') await gate;
      return ack;
    },
  };
}

describe('PartitionWorker batches', () => {
  it('in key order, hands one call every queued message of every free key, each key in offset order', async () => {
    const { worker, calls } = makeWorker(() => ack, { concurrency: 1 });
    worker.enqueue(['a', 'b', 'a', 'c', 'b', 'a'].map((key, i) => raw(i, key)));
    await until(() => worker.pending === 0);
    expect(calls).toEqual([['a#0@1', 'b#1@1', 'a#2@1', 'c#3@1', 'b#4@1', 'a#5@1']]);
    expect(worker.lowWaterMark()).toBe(6n);
  });

  it('caps a batch at maxBatch, taking whole keys first: the last key taken keeps the rest of its queue', async () => {
    const { worker, calls } = makeWorker(() => ack, { concurrency: 1, maxBatch: 4 });
    worker.enqueue(['a', 'b', 'a', 'c', 'b', 'a', 'c'].map((key, i) => raw(i, key)));
    await until(() => worker.pending === 0);
    // a's three, then one of b's; b's second waits for the batch holding its first.
    expect(calls).toEqual([
      ['a#0@1', 'b#1@1', 'a#2@1', 'a#5@1'],
      ['c#3@1', 'b#4@1', 'c#6@1'],
    ]);
  });

  it('keeps the keys of a running batch busy: their later messages wait, other keys run beside it', async () => {
    const gate = gated();
    const { worker, calls } = makeWorker(gate.handler, { concurrency: 4 });
    worker.enqueue([raw(0, 'held')]);
    await until(() => calls.length === 1);
    worker.enqueue([raw(1, 'held'), raw(2, 'b'), raw(3, 'held'), raw(4, 'b')]);
    await until(() => calls.length === 2 && worker.pending === 3);
    expect(calls[1]).toEqual(['b#2@1', 'b#4@1']);
    gate.open();
    await until(() => worker.pending === 0);
    expect(calls).toEqual([['held#0@1'], ['b#2@1', 'b#4@1'], ['held#1@1', 'held#3@1']]);
    expect(worker.lowWaterMark()).toBe(5n);
  });

  it('in partition order, a batch is the oldest messages, consecutive in offset order', async () => {
    const { worker, calls } = makeWorker(() => ack, { order: 'partition', maxBatch: 3 });
    worker.enqueue(['a', 'b', 'a', 'c', 'b'].map((key, i) => raw(i, key)));
    await until(() => worker.pending === 0);
    expect(calls).toEqual([
      ['a#0@1', 'b#1@1', 'a#2@1'],
      ['c#3@1', 'b#4@1'],
    ]);
  });

  it('splits a failing batch: each message alone, in offset order, a poison one retried and dead-lettered by itself', async () => {
    const { worker, calls, dead } = makeWorker(
      (messages) => {
        if (messages.some((m) => m.value.n === 2)) throw new Error('boom: 2');
        return ack;
      },
      { concurrency: 1, maxAttempts: 2 },
    );
    worker.enqueue([raw(0, 'held'), raw(1, 'a'), raw(2, 'a'), raw(3, 'b'), raw(4, 'a')]);
    await until(() => worker.pending === 0);
    expect(calls).toEqual([
      ['held#0@1', 'a#1@1', 'a#2@1', 'b#3@1', 'a#4@1'],
      ['held#0@1'],
      ['a#1@1'],
      ['a#2@1'],
      ['a#2@2'],
      ['b#3@1'],
      ['a#4@1'],
    ]);
    expect(dead.map((d) => d.message.offset)).toEqual([2n]);
    expect(dead[0]!.headers[DLQ_HEADERS.error]).toBe('gave up after 2 attempts: Error: boom: 2');
    expect(worker.lowWaterMark()).toBe(5n);
  });

  it('splits a batch on a retry or dead-letter outcome too, and on a payload that does not decode (the handler never sees it)', async () => {
    const { worker, calls, dead } = makeWorker((messages) => {
      if (messages.length > 1) return messages.some((m) => m.key === 'r') ? retry(1) : deadLetter('not as a batch');
      return ack;
    }, { concurrency: 1 });
    worker.enqueue([raw(0, 'r'), raw(1, 'a')]);
    await until(() => worker.pending === 0);
    worker.enqueue([raw(2, 'd'), raw(3, 'a')]);
    await until(() => worker.pending === 0);
    worker.enqueue([raw(4, 'a'), garbage(5, 'g'), raw(6, 'a')]);
    await until(() => worker.pending === 0);
    expect(calls).toEqual([
      ['r#0@1', 'a#1@1'],
      ['r#0@1'],
      ['a#1@1'],
      ['d#2@1', 'a#3@1'],
      ['d#2@1'],
      ['a#3@1'],
      ['a#4@1'],
      ['a#6@1'],
    ]);
    expect(dead.map((d) => [d.message.offset, d.headers[DLQ_HEADERS.error]])).toEqual([[5n, expect.stringMatching(/^undecodable payload \(json\)/)]]);
  });

  it('retries the whole batch while a dependency is unavailable, counting no attempt and never splitting it', async () => {
    let outage = 3;
    const { worker, calls, dead } = makeWorker((messages) => {
      if (messages.length > 1 && outage-- > 0) throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
      return ack;
    }, { concurrency: 1, maxAttempts: 1 });
    worker.enqueue([raw(0, 'a'), raw(1, 'b'), raw(2, 'a')]);
    await until(() => worker.pending === 0);
    expect(calls).toEqual(Array.from({ length: 4 }, () => ['a#0@1', 'b#1@1', 'a#2@1']));
    expect(dead).toEqual([]);
  });

  it('gives every message of a batch its own trace headers field and the batch one slot of concurrency', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const { worker } = makeWorker(async (messages) => {
      for (const m of messages) expect(m.traceHeaders).toEqual({});
      peak = Math.max(peak, ++running);
      sizes.push(messages.length);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return ack;
    }, { concurrency: 2, maxBatch: 2 });
    worker.enqueue(Array.from({ length: 12 }, (_, i) => raw(i, `k${i}`)));
    await until(() => worker.pending === 0);
    expect(peak).toBe(2);
    expect(sizes).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('a hard stop during a split starts no more of its messages; they stay unfinished, and so does their key', async () => {
    const seen: Call[] = [];
    const lost = { stop: (): void => undefined };
    const { worker } = makeWorker(async (messages) => {
      seen.push(messages.map((m) => m.offset));
      if (messages.length > 1) throw new Error('split me');
      // The partition is lost while the first message runs alone.
      if (messages[0]!.offset === '0') lost.stop();
      return ack;
    }, { concurrency: 1 });
    lost.stop = () => worker.stop({ fillGaps: false });
    worker.enqueue([raw(0, 'a'), raw(1, 'b'), raw(2, 'a')]);
    expect(await worker.drain(5000)).toBe(true);
    expect(seen).toEqual([['0', '1', '2'], ['0']]);
    expect(worker.lowWaterMark()).toBe(1n);
  });
});
