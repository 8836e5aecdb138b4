import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack, type MessageBus, type SubscribeOptions, type Subscription } from '@axon/platform-bus';
import { withSubscribeDefaults } from './bus-defaults';

describe('withSubscribeDefaults', () => {
  const topic = defineTopic<{ n: number }>({ name: 'hs.test.defaults.v1', partitions: 1, key: () => 'k', codec: jsonCodec() });

  function recordingBus(): { bus: MessageBus; seen: (SubscribeOptions | undefined)[] } {
    const seen: (SubscribeOptions | undefined)[] = [];
    const bus: MessageBus = {
      kind: 'in-process',
      ensureTopics: async () => undefined,
      publish: async () => undefined,
      endOffsets: async () => [],
      subscribe: async (_t, _g, _h, options) => {
        seen.push(options);
        return {} as Subscription;
      },
      subscribeBatches: async (_t, _g, _h, options) => {
        seen.push(options);
        return {} as Subscription;
      },
      ping: async () => undefined,
      close: async () => undefined,
    };
    return { bus, seen };
  }

  it('gives subscriptions the drain timeout of the process unless they set their own', async () => {
    const { bus, seen } = recordingBus();
    const wrapped = withSubscribeDefaults(bus, { drainTimeoutMs: 6000 });
    await wrapped.subscribe(topic, 'g', () => ack);
    await wrapped.subscribe(topic, 'g', () => ack, { drainTimeoutMs: 100, concurrency: 2 });
    await wrapped.subscribeBatches(topic, 'g', () => ack);
    await wrapped.subscribeBatches(topic, 'g', () => ack, { drainTimeoutMs: 100, maxBatch: 8 });
    expect(seen).toEqual([
      { drainTimeoutMs: 6000 },
      { drainTimeoutMs: 100, concurrency: 2 },
      { drainTimeoutMs: 6000 },
      { drainTimeoutMs: 100, maxBatch: 8 },
    ]);
    expect(wrapped.kind).toBe('in-process');
  });
});
