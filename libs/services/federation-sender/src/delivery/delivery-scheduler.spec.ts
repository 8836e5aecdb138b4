import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { createInProcessCache } from '@axon/platform-cache';
import { InMemorySenderStore } from '../testing/in-memory-sender-store';
import { DeliveryScheduler, FEDERATION_SENDER_CHANNEL } from './delivery-scheduler';
import { destinationShard } from './destination-shard';
import type { TransactionOutcome } from './transaction-sender';

const ROOM = '!room:origin.test' as RoomId;
const DESTINATIONS = ['a.test', 'b.test', 'c.test', 'd.test'] as ServerName[];
const logger = { info: () => undefined, warn: () => undefined };

/**
 * A stand-in for `TransactionSender.sendNext` over the store: each call takes one PDU
 * and holds it "in flight" until the test releases it, recording how many calls run per
 * destination at once.
 */
class HeldSender {
  readonly inFlight = new Map<ServerName, number>();
  readonly most = new Map<ServerName, number>();
  readonly sent: Array<{ destination: ServerName; by: string }> = [];
  private readonly waiting: Array<() => void> = [];
  held = true;

  constructor(private readonly store: InMemorySenderStore) {}

  for(by: string): (destination: ServerName) => Promise<TransactionOutcome> {
    return async (destination) => {
      const batch = await this.store.peek(destination, 1, 0);
      const row = batch.pdus[0];
      if (row === undefined) return { kind: 'idle' };
      const now = (this.inFlight.get(destination) ?? 0) + 1;
      this.inFlight.set(destination, now);
      this.most.set(destination, Math.max(now, this.most.get(destination) ?? 0));
      if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.inFlight.set(destination, (this.inFlight.get(destination) ?? 1) - 1);
      await this.store.remove(destination, { pdus: [row.position], edus: [] }, true);
      this.sent.push({ destination, by });
      return { kind: 'sent', txnId: row.position };
    };
  }

  releaseAll(): void {
    this.held = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  get waitingCount(): number {
    return this.waiting.length;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function queuePdus(store: InMemorySenderStore, destinations: readonly ServerName[], perDestination: number): void {
  let n = 0;
  for (const destination of destinations) {
    for (let i = 0; i < perDestination; i++) store.addPdus([{ destination, roomId: ROOM, eventId: `$e${n++}` as EventId, pduJson: '{}' }]);
  }
}

describe('DeliveryScheduler', () => {
  const schedulers: DeliveryScheduler[] = [];
  const make = (store: InMemorySenderStore, send: (destination: ServerName) => Promise<TransactionOutcome>, options: ConstructorParameters<typeof DeliveryScheduler>[4] = {}, wakeups?: ConstructorParameters<typeof DeliveryScheduler>[3]) => {
    const scheduler = new DeliveryScheduler(store, send, logger, wakeups, { pollMs: 60_000, ...options });
    schedulers.push(scheduler);
    return scheduler;
  };

  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  });

  it('keeps one transaction in flight per destination, however often it is kicked, and drains each queue', async () => {
    const store = new InMemorySenderStore();
    queuePdus(store, DESTINATIONS, 3);
    const sender = new HeldSender(store);
    const scheduler = make(store, sender.for('a'));
    await Promise.all([scheduler.kick(), scheduler.kick(), scheduler.kick()]);
    for (let i = 0; i < 5; i++) {
      await scheduler.kick();
      await tick();
    }
    expect(sender.waitingCount).toBe(DESTINATIONS.length);
    expect(scheduler.activeDestinations().sort()).toEqual([...DESTINATIONS]);
    sender.releaseAll();
    await scheduler.idle();
    expect(sender.sent).toHaveLength(12);
    expect([...sender.most.values()]).toEqual([1, 1, 1, 1]);
    for (const destination of DESTINATIONS) expect(store.queued(destination)).toEqual({ pdus: 0, edus: 0 });
  });

  it('lets two replicas share the destinations: a destination is sent to by one of them at a time', async () => {
    const store = new InMemorySenderStore();
    queuePdus(store, DESTINATIONS, 2);
    const sender = new HeldSender(store);
    const one = make(store, sender.for('one'), { holder: 'one' });
    const two = make(store, sender.for('two'), { holder: 'two' });
    await Promise.all([one.kick(), two.kick(), one.kick(), two.kick()]);
    await tick();
    const first = one.activeDestinations();
    const second = two.activeDestinations();
    expect([...first, ...second].sort()).toEqual([...DESTINATIONS]);
    expect(first.filter((d) => second.includes(d))).toEqual([]);
    sender.releaseAll();
    await Promise.all([one.idle(), two.idle()]);
    expect([...sender.most.values()]).toEqual([1, 1, 1, 1]);
    // Each destination was sent to by the replica that held its shard.
    for (const destination of DESTINATIONS) expect(new Set(sender.sent.filter((s) => s.destination === destination).map((s) => s.by)).size).toBe(1);
    // Leases are given back once the queues are empty (the release runs after the loop's end).
    await tick();
    expect([...store.leases.values()].every((lease) => lease.expiresAt === 0)).toBe(true);
  });

  it('leaves a dead replica’s shard alone until its lease lapses, then takes the destination over', async () => {
    const store = new InMemorySenderStore();
    const [destination] = DESTINATIONS as [ServerName];
    queuePdus(store, [destination], 2);
    const clock = { now: 1_000_000 };
    // A replica took the shard and died mid-transaction: its lease runs until now + 15 s.
    await store.acquireLeases('dead', [destinationShard(destination)], clock.now, 15_000);
    const sender = new HeldSender(store);
    sender.releaseAll();
    const survivor = make(store, sender.for('survivor'), { holder: 'survivor', now: () => clock.now });
    await survivor.kick();
    await survivor.idle();
    expect(sender.sent).toEqual([]);
    clock.now += 15_001;
    await survivor.kick();
    await survivor.idle();
    expect(sender.sent.map((s) => s.by)).toEqual(['survivor', 'survivor']);
    expect(store.queued(destination)).toEqual({ pdus: 0, edus: 0 });
  });

  it('stops a destination’s loop when a renewal finds its lease taken by another replica', async () => {
    const store = new InMemorySenderStore();
    const [destination] = DESTINATIONS as [ServerName];
    queuePdus(store, [destination], 3);
    const clock = { now: 1_000_000 };
    const sender = new HeldSender(store);
    const stalled = make(store, sender.for('stalled'), { holder: 'stalled', leaseMs: 30, now: () => clock.now });
    await stalled.start();
    await stalled.kick();
    expect(stalled.activeDestinations()).toEqual([destination]);
    // The replica stalled past its lease; another took the shard.
    clock.now += 1_000;
    store.leases.set(destinationShard(destination), { holder: 'other', expiresAt: clock.now + 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 40));
    sender.releaseAll();
    await stalled.idle();
    // The transaction in flight finished; no further one was started.
    expect(sender.sent).toHaveLength(1);
    expect(store.queued(destination)).toEqual({ pdus: 2, edus: 0 });
  });

  it('skips destinations in backoff until their retry time', async () => {
    const store = new InMemorySenderStore();
    const [destination] = DESTINATIONS as [ServerName];
    queuePdus(store, [destination], 1);
    const clock = { now: 1_000_000 };
    await store.recordFailure(destination, 3, clock.now + 5_000);
    const sender = new HeldSender(store);
    sender.releaseAll();
    const scheduler = make(store, sender.for('a'), { now: () => clock.now });
    await scheduler.kick();
    await scheduler.idle();
    expect(sender.sent).toEqual([]);
    clock.now += 5_000;
    await scheduler.kick();
    await scheduler.idle();
    expect(sender.sent).toHaveLength(1);
  });

  it('wakes on the sender channel, and polls without one', async () => {
    const store = new InMemorySenderStore();
    const sender = new HeldSender(store);
    sender.releaseAll();
    const cache = createInProcessCache();
    const scheduler = make(store, sender.for('a'), {}, cache.wakeups);
    await scheduler.start();
    queuePdus(store, ['a.test' as ServerName], 1);
    await cache.wakeups.publish(FEDERATION_SENDER_CHANNEL, '');
    for (let i = 0; i < 50 && sender.sent.length === 0; i++) await tick();
    expect(sender.sent).toHaveLength(1);

    const polling = make(store, sender.for('poll'), { pollMs: 20 });
    await polling.start();
    queuePdus(store, ['b.test' as ServerName], 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sender.sent.map((s) => s.by)).toContain('poll');
    await cache.close();
  });
});
