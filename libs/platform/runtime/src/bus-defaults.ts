import type { MessageBus, SubscribeOptions } from '@axon/platform-bus';

/**
 * The process's bus with subscription defaults of its own: a subscription's drain must
 * end inside the shutdown grace period, or SIGTERM would end in exit 1 and the drained
 * work would be delivered again. A subscription's own options still win.
 */
export function withSubscribeDefaults(bus: MessageBus, defaults: SubscribeOptions): MessageBus {
  return {
    get kind() {
      return bus.kind;
    },
    ensureTopics: (topics) => bus.ensureTopics(topics),
    publish: (topic, messages, options) => bus.publish(topic, messages, options),
    subscribe: (topic, groupId, handler, options) => bus.subscribe(topic, groupId, handler, { ...defaults, ...options }),
    subscribeBatches: (topic, groupId, handler, options) => bus.subscribeBatches(topic, groupId, handler, { ...defaults, ...options }),
    endOffsets: (topic) => bus.endOffsets(topic),
    ping: () => bus.ping(),
    transactionalPublisher: (database) => bus.transactionalPublisher?.(database),
    close: () => bus.close(),
  };
}
