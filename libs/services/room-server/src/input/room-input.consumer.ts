import { encodeRoomInputOutcome, roomInputResultChannel, roomInputTopic, type RoomInput } from '@axon/contracts-kafka';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import type { RoomId } from '@axon/matrix-identifiers';
import type { OutputChannel } from '../output/output-channel';
import type { RoomServerMetrics } from '../room-server.metrics';
import type { RoomWriter } from './room-writer';

/** The consumer group of room servers on `hs.room.input.v1`. */
export const ROOM_INPUT_GROUP = 'room-server';

/**
 * Inputs per batch. A batch is one transaction, so this bounds how long one holds its
 * rooms' rows and how much a poison input's fallback (the bus then delivers the batch's
 * inputs one at a time) repeats.
 */
const MAX_BATCH = 128;

/**
 * Consumes `hs.room.input.v1` in batches (group commit): every input queued in a
 * partition goes through the writer together, each room strictly in order, in one
 * transaction; once the outputs are on the bus (`OutputChannel`), every waiting caller is
 * woken with its outcome. A refused input is an outcome, acknowledged like an
 * accepted one; an unexpected failure (the database went away) is thrown, so the bus
 * retries the batch (or, for anything but an outage, its inputs one at a time) and holds
 * back the rooms' later inputs.
 */
export class RoomInputConsumer {
  private subscription: Subscription | undefined;
  /** Batches committed whose callers are not answered yet (their outputs being published). */
  private readonly answering = new Set<Promise<void>>();

  constructor(
    private readonly bus: MessageBus,
    private readonly writer: RoomWriter,
    private readonly outputs: OutputChannel,
    private readonly wakeups: Wakeups,
    private readonly metrics?: Pick<RoomServerMetrics, 'inputBacklog'>,
  ) {}

  async start(): Promise<void> {
    const backlog = this.metrics?.inputBacklog;
    const owned = new Set<number>();
    this.subscription = await this.bus.subscribeBatches(roomInputTopic, ROOM_INPUT_GROUP, (messages) => this.handle(messages), {
      maxBatch: MAX_BATCH,
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
    // Callers of batches already committed still hear their outcomes before the relay stops.
    await Promise.all([...this.answering]);
  }

  private async handle(messages: readonly DeliveredMessage<RoomInput>[]): Promise<HandlerOutcome> {
    const outcomes = await this.writer.handleBatch(messages.map((message) => ({ input: message.value, traceContext: message.traceHeaders })));
    const rooms = new Set<RoomId>();
    for (const outcome of outcomes) if (outcome.ok) rooms.add(outcome.roomId);
    // The outputs are on the bus before the callers hear of the outcome: a write's 200 then
    // means its output is on the bus, which is what `/sync` waits for to show a client its
    // own writes (read-your-writes, `SyncService`). Through the outbox the partition does
    // not wait for the relay: the batch is committed, so the next one starts while the
    // relay publishes this one (bench:send, 50 rooms on PGlite at 10 senders: 96 msg/s
    // with the partition waiting for the drain, against 143 before the relay was awaited
    // at all). A failed drain is retried by the relay itself; a lost wake-up is a hint
    // lost, which callers make up for by reading the outcome back (`RoomInputClient`).
    const answered = this.outputs
      .published(rooms)
      .then(() =>
        Promise.all(
          messages.map((message, index) => {
            const outcome = outcomes[index]!;
            const payload = outcome.ok
              ? encodeRoomInputOutcome({ ok: true, room_id: outcome.roomId, event_id: outcome.eventId })
              : encodeRoomInputOutcome({ ok: false, errcode: outcome.error.errcode, error: outcome.error.message });
            return this.wakeups.publish(roomInputResultChannel(message.value.request_id), payload);
          }),
        ),
      )
      .then(
        () => undefined,
        () => undefined,
      );
    this.answering.add(answered);
    void answered.finally(() => this.answering.delete(answered));
    return ack;
  }
}
