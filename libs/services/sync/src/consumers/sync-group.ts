import type { AnyTopic } from '@axon/contracts-kafka';
import type { SubscribeOptions } from '@axon/platform-bus';
import type { StreamPositionsRepository } from '../storage/stream-positions.repository';

/** The consumer group of sync replicas on every topic the sync read model is built from. */
export const SYNC_GROUP = 'sync';

/**
 * Sync applies each partition strictly in offset order (no concurrency across keys), so
 * that a partition's applied position is a low-water mark: a token built from positions
 * never passes a message that is still being applied.
 */
export const SYNC_SUBSCRIBE_OPTIONS: SubscribeOptions = { order: 'partition' };

/** Tries of recording a dead-lettered message's position, and the wait before the first retry (doubling). */
const PASS_TRIES = 5;
const PASS_RETRY_MS = 100;

/**
 * `SYNC_SUBSCRIBE_OPTIONS` for `topic`, with an observer that moves the partition's
 * applied position (`stream_heads`) past a message the bus dead-letters
 * (`StreamPositionsRepository.passDeadLettered`), so `CatchUp` does not wait for it. It
 * runs in the replica that dead-lettered the message, on Kafka as in-process, and the
 * heads are shared by every sync replica. A write that keeps failing only leaves the head
 * where it was until the partition's next message is applied.
 */
export function syncSubscribeOptions(topic: AnyTopic, positions: Pick<StreamPositionsRepository, 'passDeadLettered'>): SubscribeOptions {
  return {
    ...SYNC_SUBSCRIBE_OPTIONS,
    observer: {
      deadLettered: (partition, offset) => {
        void (async () => {
          for (let tries = 1; ; tries++) {
            try {
              return await positions.passDeadLettered(topic.name, partition, offset);
            } catch {
              if (tries >= PASS_TRIES) return;
              await new Promise((resolve) => setTimeout(resolve, PASS_RETRY_MS * 2 ** (tries - 1)));
            }
          }
        })();
      },
    },
  };
}
