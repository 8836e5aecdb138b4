import { roomOutputTopic } from '@axon/contracts-kafka';
import type { RoomId } from '@axon/matrix-identifiers';
import type { MessageBus, TransactionalPublisher } from '@axon/platform-bus';
import type { OutputWriter } from '../storage/append.repository';
import type { RoomStorage } from '../storage/room-storage';
import type { OutboxRelay } from './outbox-relay';
import { outboxShard } from './outbox-shard';

/**
 * How the room server's output messages reach `hs.room.output.v1`: written in the
 * appending transaction (`writeOutputs`), and on the bus when `published` resolves, which
 * is when the callers of the write are answered (read-your-writes: a 200 means `/sync`
 * can show the write).
 */
export interface OutputChannel {
  readonly writeOutputs: OutputWriter;
  /** Resolves once the outputs committed for these rooms are on the bus. */
  published(roomIds: ReadonlySet<RoomId>): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Through the outbox (Kafka, or a bus in another database): the outputs are rows of the
 * room server's `outbox`, and on the bus once the relay drained their shards.
 */
export function relayedOutputs(storage: RoomStorage, relay: OutboxRelay): OutputChannel {
  return {
    writeOutputs: (tx, entries) => storage.outbox.insert(tx, entries),
    published: (roomIds) => (roomIds.size === 0 ? Promise.resolve() : relay.kick([...new Set([...roomIds].map(outboxShard))])),
    start: async () => {
      await relay.start();
      void relay.poll();
    },
    stop: () => relay.stop(),
  };
}

/**
 * Straight into the in-process bus's log, in the appending transaction
 * (`MessageBus.transactionalPublisher`): the outputs are on the bus when it commits, so
 * the callers wait for nothing more, and a send costs three statements and two
 * transactions fewer than through the outbox (the relay's claim, the log's append, the
 * outbox's delete). Measured (bench:send, embedded PGlite, 50 rooms at 10 senders): with
 * the callers waiting for the relay's drain, 96 msg/s; answered right after the commit,
 * 144. The relay still drains, once, whatever an earlier run through the outbox left in
 * it: `start` resolves when it did, and the room server starts consuming only then, so a
 * room's old outputs go before its new ones.
 */
export function transactionalOutputs(bus: MessageBus, publisher: TransactionalPublisher, relay: OutboxRelay): OutputChannel {
  return {
    writeOutputs: async (tx, entries) => {
      const staged = await publisher.stage(
        tx,
        roomOutputTopic,
        entries.map((entry) => entry.output),
        { traceContexts: entries.map((entry) => entry.traceContext) },
      );
      return () => publisher.committed(staged);
    },
    published: () => Promise.resolve(),
    start: async () => {
      await bus.ensureTopics([roomOutputTopic]);
      await relay.poll();
    },
    stop: () => relay.stop(),
  };
}
