import { bytesCodec, deadLetterTopic, defineTopic } from '@axon/contracts-kafka';
import { ack, deadLetter, retry, type DeliveredMessage } from '../bus';
import { DLQ_HEADERS } from '../headers';
import { PermanentFailure } from '../worker/failures';
import type { ContractContext } from './bus-contract';
import { CommitLog, delivery, eventually, type Delivery, type TestMessage } from './contract-helpers';

/** Failures and dead letters: retries, outages, permanent failures, poison payloads, on every implementation. */
export function describeDeadLetterContract(ctx: ContractContext): void {
  const { names } = ctx;

  describe('failures and dead letters', () => {
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
  });
}
