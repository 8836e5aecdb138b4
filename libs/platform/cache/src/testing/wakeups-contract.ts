import { type CacheContractSetup, Inbox, RecordingLogger, useContractBackend, waitFor } from './contract-support';

/**
 * The `Wakeups` contract. Clients opened in one test are separate instances on one
 * backend, i.e. separate replicas.
 *
 * Proving that something was NOT delivered without sleeping: after the action that must
 * not deliver, publish a marker that the same client does receive and wait for it. Redis
 * sends pub/sub messages to a connection in the order it ran the PUBLISH commands (and the
 * in-process hub queues them in order), and each publish is awaited before the next, so a
 * wrongly delivered message would have arrived before the marker.
 */
export function describeWakeupsContract(name: string, setup: CacheContractSetup): void {
  describe(`${name}: Wakeups contract`, () => {
    const backend = useContractBackend(setup);

    it('delivers a wake-up published on one instance to a subscriber on another', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const inbox = new Inbox();
      await replica.wakeups.subscribe('user:@alice:example.org', inbox.listener);

      await publisher.wakeups.publish('user:@alice:example.org', 's42_7 ✓');

      await inbox.waitForPayload('s42_7 ✓');
      expect(inbox.received).toEqual([{ channel: 'user:@alice:example.org', payload: 's42_7 ✓' }]);
    });

    it('delivers each wake-up once to every subscriber of the channel, on every instance', async () => {
      const publisher = backend.open();
      const replicaA = backend.open();
      const replicaB = backend.open();
      const inboxes = [new Inbox('a1'), new Inbox('a2'), new Inbox('b1')];
      const [a1, a2, b1] = inboxes as [Inbox, Inbox, Inbox];
      await replicaA.wakeups.subscribe('room', a1.listener);
      await replicaA.wakeups.subscribe('room', a2.listener);
      await replicaB.wakeups.subscribe('room', b1.listener);

      await publisher.wakeups.publish('room', 'first');
      await publisher.wakeups.publish('room', 'marker');

      for (const inbox of inboxes) await inbox.waitForPayload('marker');
      for (const inbox of inboxes) expect(inbox.payloads()).toEqual(['first', 'marker']);
    });

    it('keeps channels apart', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const alice = new Inbox('alice');
      const bob = new Inbox('bob');
      await replica.wakeups.subscribe('user:alice', alice.listener);
      await replica.wakeups.subscribe('user:bob', bob.listener);

      await publisher.wakeups.publish('user:bob', 'for bob');
      await publisher.wakeups.publish('user:alice', 'for alice');

      await alice.waitForPayload('for alice');
      await bob.waitForPayload('for bob');
      expect(alice.received).toEqual([{ channel: 'user:alice', payload: 'for alice' }]);
      expect(bob.received).toEqual([{ channel: 'user:bob', payload: 'for bob' }]);
    });

    it('stops delivering to a listener once it unsubscribes, and keeps the others', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const leaving = new Inbox('leaving');
      const staying = new Inbox('staying');
      const unsubscribe = await replica.wakeups.subscribe('room', leaving.listener);
      await replica.wakeups.subscribe('room', staying.listener);

      await publisher.wakeups.publish('room', 'before');
      await leaving.waitForPayload('before');
      await unsubscribe();
      await unsubscribe(); // idempotent: must not remove anyone else
      await publisher.wakeups.publish('room', 'after');

      await staying.waitForPayload('after');
      expect(staying.payloads()).toEqual(['before', 'after']);
      expect(leaving.payloads()).toEqual(['before']);
    });

    it('never calls a listener once its unsubscribe has been called, even for a wake-up on its way', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const leaving = new Inbox('leaving');
      const staying = new Inbox('staying');
      const unsubscribe = await replica.wakeups.subscribe('room', leaving.listener);
      await replica.wakeups.subscribe('room', staying.listener);

      // Publish, then unsubscribe in the same tick: the wake-up is in flight, not delivered.
      const published = publisher.wakeups.publish('room', 'in flight');
      const unsubscribed = unsubscribe();
      await Promise.all([published, unsubscribed]);

      await staying.waitForPayload('in flight');
      expect(leaving.payloads()).toEqual([]);
    });

    it('stops delivery when the last listener of a channel leaves, and can subscribe again', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const first = new Inbox('first');
      const barrier = new Inbox('barrier');
      await replica.wakeups.subscribe('barrier', barrier.listener);
      const unsubscribe = await replica.wakeups.subscribe('room', first.listener);
      await unsubscribe();

      await publisher.wakeups.publish('room', 'nobody listens');
      await publisher.wakeups.publish('barrier', 'b1');
      await barrier.waitForPayload('b1');
      expect(first.payloads()).toEqual([]);

      const again = new Inbox('again');
      await replica.wakeups.subscribe('room', again.listener);
      await publisher.wakeups.publish('room', 'welcome back');
      await publisher.wakeups.publish('barrier', 'b2');
      await barrier.waitForPayload('b2');
      await again.waitForPayload('welcome back');
      expect(again.payloads()).toEqual(['welcome back']);
      expect(first.payloads()).toEqual([]);
    });

    it('records a failing listener and still delivers to the others', async () => {
      const logger = new RecordingLogger();
      const publisher = backend.open();
      const replica = backend.open({ logger });
      const healthy = new Inbox('healthy');
      await replica.wakeups.subscribe('room', () => {
        throw new Error('listener exploded');
      });
      await replica.wakeups.subscribe('room', async () => {
        throw new Error('listener rejected');
      });
      await replica.wakeups.subscribe('room', healthy.listener);

      await publisher.wakeups.publish('room', 'one');
      await publisher.wakeups.publish('room', 'two');

      await healthy.waitForPayload('two');
      expect(healthy.payloads()).toEqual(['one', 'two']);
      await waitFor('four listener failures to be logged', () => logger.warnings.length >= 4);
      const failures = logger.warnings.map(({ obj }) => ({
        channel: obj['channel'],
        message: obj['err'] instanceof Error ? obj['err'].message : String(obj['err']),
      }));
      expect(failures).toEqual(
        expect.arrayContaining([
          { channel: 'room', message: 'listener exploded' },
          { channel: 'room', message: 'listener rejected' },
        ]),
      );
      expect(failures).toHaveLength(4);
    });

    it('isolates deployments that use different key prefixes', async () => {
      const deploymentA = backend.open({ keyPrefix: 'deployment-a' });
      const deploymentB = backend.open({ keyPrefix: 'deployment-b' });
      const inA = new Inbox('in A');
      const inB = new Inbox('in B');
      const barrierB = new Inbox('barrier B');
      await deploymentA.wakeups.subscribe('room', inA.listener);
      await deploymentB.wakeups.subscribe('room', inB.listener);
      await deploymentB.wakeups.subscribe('barrier', barrierB.listener);

      await deploymentA.wakeups.publish('room', 'only for A');
      await deploymentB.wakeups.publish('barrier', 'done');

      await inA.waitForPayload('only for A');
      await barrierB.waitForPayload('done');
      expect(inB.payloads()).toEqual([]);
    });

    it('refuses to publish or subscribe after close, and stops delivering', async () => {
      const publisher = backend.open();
      const replica = backend.open();
      const inbox = new Inbox();
      await replica.wakeups.subscribe('room', inbox.listener);
      await replica.close();

      await expect(replica.wakeups.publish('room', 'x')).rejects.toThrow(/closed/);
      await expect(replica.wakeups.subscribe('room', inbox.listener)).rejects.toThrow(/closed/);
      await publisher.wakeups.publish('room', 'after close');
      expect(inbox.payloads()).toEqual([]);
    });
  });
}
