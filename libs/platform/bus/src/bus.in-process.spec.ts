import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@axon/platform-database';
import { ack, retry, type HandlerOutcome } from './bus';
import { InProcessBus } from './in-process/in-process-bus';
import { LogStore } from './in-process/log-store';
import { describeBusContract } from './testing/bus-contract';
import { describeCoalescedPublishContract, describeTransactionalPublishContract } from './testing/in-process-publish-contract';
import { CommitLog, deferred, eventually, messages, quietLogger, TestNames } from './testing/contract-helpers';

// The in-process log on embedded PGlite, in a data directory of its own.
const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

jest.setTimeout(120_000);
describeBusContract('in-process log on PGlite', () => ({ kind: 'in-process', dataDir }));
describeCoalescedPublishContract('in-process log on PGlite', () => ({ kind: 'in-process', dataDir }));
describeTransactionalPublishContract('in-process log on PGlite', () => ({ kind: 'in-process', dataDir }));

describe('in-process log retention', () => {
  const DAY = 24 * 60 * 60 * 1000;

  it('trims only messages every group has consumed, once past their retention', async () => {
    const names = new TestNames();
    // A database of its own: trim() is global, the counts below must be exact.
    const ownDir = mkdtempSync(join(tmpdir(), 'axon-bus-trim-'));
    const database = await Database.open({ dataDir: ownDir });
    const bus = await InProcessBus.open(database, { logger: quietLogger, retention: { intervalMs: 0 } });
    try {
      const topic = names.topic(1);
      await bus.publish(topic, messages(10, (seq) => `k${seq}`));
      const a = new CommitLog();
      const b = new CommitLog();
      const subA = await bus.subscribe(topic, names.group('a'), () => ack, { commitIntervalMs: 10, observer: a.observer });
      // Group b is stuck at offset 4: it holds the trim back.
      const subB = await bus.subscribe(topic, names.group('b'), (m) => (m.value.seq < 4 ? ack : retry(60_000)), {
        commitIntervalMs: 10,
        observer: b.observer,
      });
      await eventually('a consumed all, b up to 4', () => a.reached(new Map([[0, 10n]])) && b.reached(new Map([[0, 4n]])));
      await subA.stop();
      await subB.stop();

      expect(await bus.trim(Date.now())).toBe(0);
      expect(await bus.trim(Date.now() + 8 * DAY)).toBe(4);
      expect(await bus.trim(Date.now() + 8 * DAY)).toBe(0);

      const seen: number[] = [];
      await bus.subscribe(topic, names.group('late'), (m) => {
        seen.push(m.value.seq);
        return ack;
      });
      await eventually('a new group reads what is left', () => seen.length === 6);
      expect(seen).toEqual([4, 5, 6, 7, 8, 9]);
    } finally {
      await bus.close();
      await database.close();
      rmSync(ownDir, { recursive: true, force: true });
    }
  });
});

describe('in-process group shutdown', () => {
  it('on close, members stop at once: nothing new starts, no partition moves, one drain for all', async () => {
    const names = new TestNames();
    const database = await Database.open({ dataDir });
    // Each member whose drain timed out warns once; when, tells drains at once from drains in turn.
    const drainWarnings: number[] = [];
    const bus = await InProcessBus.open(database, {
      logger: {
        log(level, message, fields) {
          if (level === 'warn' && /after the drain timeout/.test(message)) drainWarnings.push(Date.now());
          quietLogger.log(level, message, fields);
        },
      },
    });
    const hold = deferred<HandlerOutcome>();
    try {
      const topic = names.topic(2);
      const group = names.group('close');
      await bus.publish(topic, messages(40, (seq) => `k${seq}`));
      const starts: { member: number; partition: number; offset: bigint; at: number }[] = [];
      const subscribe = (member: number) =>
        bus.subscribe(
          topic,
          group,
          (m) => {
            starts.push({ member, partition: m.partition, offset: BigInt(m.offset), at: Date.now() });
            return hold.promise;
          },
          { concurrency: 2, drainTimeoutMs: 800 },
        );
      const first = await subscribe(0);
      const second = await subscribe(1);
      expect(first.assignment()).toEqual([0]);
      expect(second.assignment()).toEqual([1]);
      await eventually('both members started their partitions', () => starts.filter((s) => s.member === 0).length === 2 && starts.filter((s) => s.member === 1).length === 2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = starts.length;
      const highest = new Map<string, bigint>();
      for (const s of starts) {
        const id = `${s.member}:${s.partition}`;
        if (s.offset > (highest.get(id) ?? -1n)) highest.set(id, s.offset);
      }
      const began = Date.now();
      await bus.close();
      const took = Date.now() - began;
      hold.resolve(ack);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Only gaps below what a member already started may run; nothing of another member's partition.
      for (const s of starts.slice(before)) {
        expect(s.offset).toBeLessThan(highest.get(`${s.member}:${s.partition}`) ?? -1n);
      }
      // The close waited for the drain (800 ms) ...
      expect(took).toBeGreaterThanOrEqual(700);
      // ... once for both members: their drains ran at the same time (in turn, the second
      // would end at least 800 ms after the first, however loaded the machine).
      expect(drainWarnings).toHaveLength(2);
      expect(Math.abs(drainWarnings[1]! - drainWarnings[0]!)).toBeLessThan(400);
    } finally {
      hold.resolve(ack);
      await bus.close();
      await database.close();
    }
  });
});

describe('in-process fallback poll', () => {
  it('retries a failed fetch, and leaves a caught-up partition alone (no query while idle)', async () => {
    const names = new TestNames();
    const ownDir = mkdtempSync(join(tmpdir(), 'axon-bus-poll-'));
    const database = await Database.open({ dataDir: ownDir });
    const bus = await InProcessBus.open(database, { logger: quietLogger, pollIntervalMs: 25, retention: { intervalMs: 0 } });
    const fetches = jest.spyOn(LogStore.prototype, 'fetch');
    try {
      const topic = names.topic(2);
      await bus.publish(topic, messages(6, (seq) => `k${seq}`));
      // The first fetch of the subscription fails: only the poll can bring the messages.
      fetches.mockRejectedValueOnce(new Error('connection reset'));
      const seen: number[] = [];
      const sub = await bus.subscribe(topic, names.group('g'), (m) => {
        seen.push(m.value.seq);
        return ack;
      });
      await eventually('every message, after the failed fetch', () => seen.length === 6);
      expect(fetches.mock.calls.length).toBeGreaterThanOrEqual(3);

      // Caught up: ten poll intervals pass without a query.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const idle = fetches.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(fetches.mock.calls.length).toBe(idle);

      // A publish still arrives (from its notification), and the partition is caught up again after it.
      await bus.publish(topic, messages(2, (seq) => `k${seq}`).map((m) => ({ ...m, seq: m.seq + 6 })));
      await eventually('the new messages', () => seen.length === 8);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = fetches.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(fetches.mock.calls.length).toBe(after);
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await sub.stop();
    } finally {
      fetches.mockRestore();
      await bus.close();
      await database.close();
      rmSync(ownDir, { recursive: true, force: true });
    }
  });
});
