import { randomBytes } from 'node:crypto';
import { defineTopic, jsonCodec, type Topic } from '@axon/contracts-kafka';
import type { DeliveredMessage, MessageHeaders } from '../bus';
import type { BusLogger } from '../logger';

/** The payload of every contract-test topic. */
export interface TestMessage {
  readonly key: string;
  readonly seq: number;
}

/** Unique, rule-abiding names per test run, so runs against a shared broker or database never collide. */
export class TestNames {
  private readonly run = `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  private n = 0;

  topic(partitions: number): Topic<TestMessage> {
    return defineTopic<TestMessage>({ name: `hs.test.${this.run}-${++this.n}.v1`, partitions, key: (m) => m.key, codec: jsonCodec() });
  }

  group(label: string): string {
    return `test-${this.run}-${label}-${++this.n}`;
  }

  get prefix(): string {
    return `hs.test.${this.run}-`;
  }
}

export function messages(count: number, key: (seq: number) => string): TestMessage[] {
  return Array.from({ length: count }, (_, seq) => ({ key: key(seq), seq }));
}

/** Logs errors only (tests provoke warnings on purpose: retries, dead letters). */
export const quietLogger: BusLogger = {
  log(level, message, fields) {
    if (level === 'error') process.stderr.write(`[bus ${level}] ${message} ${JSON.stringify(fields ?? {})}\n`);
  },
};

/** Waits until `predicate` holds, checking every 20 ms; fails with `what` and the current state after `timeoutMs`. */
export async function eventually(what: string, predicate: () => boolean, timeoutMs = 45_000, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${state ? `\nstate: ${JSON.stringify(state(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export interface Delivery {
  readonly key: string;
  readonly seq: number;
  readonly partition: number;
  readonly offset: string;
  readonly attempt: number;
  readonly headers: MessageHeaders;
}

export function delivery(message: DeliveredMessage<TestMessage>): Delivery {
  return {
    key: message.key,
    seq: message.value.seq,
    partition: message.partition,
    offset: message.offset,
    attempt: message.attempt,
    headers: message.headers,
  };
}

/** Committed offsets reported by a subscription's observer, per partition. */
export class CommitLog {
  readonly latest = new Map<number, bigint>();
  readonly observer = {
    committed: (partition: number, offset: string): void => {
      this.latest.set(partition, BigInt(offset));
    },
  };

  /** True once every partition in `ends` is committed up to its end. */
  reached(ends: ReadonlyMap<number, bigint>): boolean {
    return [...ends].every(([p, end]) => (this.latest.get(p) ?? -1n) >= end);
  }
}

/** One past the highest offset seen per partition. */
export function endOffsets(seen: readonly { partition: number; offset: string }[]): Map<number, bigint> {
  const ends = new Map<number, bigint>();
  for (const d of seen) {
    const next = BigInt(d.offset) + 1n;
    if (next > (ends.get(d.partition) ?? 0n)) ends.set(d.partition, next);
  }
  return ends;
}
