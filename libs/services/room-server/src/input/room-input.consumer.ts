import { roomInputResultChannel, roomInputTopic, type RoomInput } from '@axon/contracts-kafka';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import { outboxShard } from '../output/outbox-shard';
import type { OutboxRelay } from '../output/outbox-relay';
import type { RoomServerMetrics } from '../room-server.metrics';
import type { RoomWriter } from './room-writer';

/** The consumer group of room servers on `hs.room.input.v1`. */
export const ROOM_INPUT_GROUP = 'room-server';

/**
 * Consumes `hs.room.input.v1`: each message through the writer (one room at a time, in
 * order), then the outbox relay is kicked and the waiting caller woken. A refused input
 * is an outcome, acknowledged like an accepted one; an unexpected failure (the database
 * went away) is thrown, so the bus retries the message and holds back the room's later
 * inputs.
 */
export class RoomInputConsumer {
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly writer: RoomWriter,
    private readonly relay: OutboxRelay,
    private readonly wakeups: Wakeups,
    private readonly metrics?: Pick<RoomServerMetrics, 'inputBacklog'>,
  ) {}

  async start(): Promise<void> {
    const backlog = this.metrics?.inputBacklog;
    const owned = new Set<number>();
    this.subscription = await this.bus.subscribe(roomInputTopic, ROOM_INPUT_GROUP, (message) => this.handle(message), {
      ...(backlog && {
        observer: {
          // Only partitions still ours: a lost partition's handlers may finish after it left.
          pending: (partition, count) => {
            if (owned.has(partition)) backlog.set({ partition: String(partition) }, count);
          },
          // A partition that left is another instance's backlog now.
          assigned: (partitions) => {
            for (const partition of owned) if (!partitions.includes(partition)) backlog.remove({ partition: String(partition) });
            owned.clear();
            for (const partition of partitions) owned.add(partition);
          },
        },
      }),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  private async handle(message: DeliveredMessage<RoomInput>): Promise<HandlerOutcome> {
    const outcome = await this.writer.handle(message.value);
    if (outcome.ok) void this.relay.kick([outboxShard(outcome.roomId)]);
    await this.wakeups.publish(roomInputResultChannel(message.value.request_id), outcome.ok ? outcome.eventId : outcome.error.errcode);
    return ack;
  }
}
