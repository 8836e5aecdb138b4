import { accountDataTopic, roomOutputTopic, type AccountDataUpdate, type RoomOutput } from '@axon/contracts-kafka';
import type { RoomId, UserId } from '@axon/matrix-identifiers';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import type { AccountDataRepository } from '../storage/account-data.repository';
import { RoomEventsRepository } from '../storage/room-events.repository';
import type { PublicOf } from '../storage/sync-repositories';
import { syncChannel } from '../sync-channel';
import { SYNC_GROUP, SYNC_SUBSCRIBE_OPTIONS } from './sync-group';

/** Outputs per batch (one partition's consecutive messages). */
const MAX_BATCH = 128;

/**
 * Builds the sync read model from `hs.room.output.v1` (idempotent per room sequence) and
 * `hs.account-data.v1`, and wakes the long-polls of every user a change concerns (a
 * room's members and the target of a membership change; the owner of account data).
 */
export class RoomOutputConsumer {
  private subscription: Subscription | undefined;
  private accountDataSubscription: Subscription | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly roomEvents: PublicOf<RoomEventsRepository>,
    private readonly accountData: PublicOf<AccountDataRepository>,
    private readonly wakeups: Wakeups,
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribeBatches(roomOutputTopic, SYNC_GROUP, (messages) => this.handle(messages), { ...SYNC_SUBSCRIBE_OPTIONS, maxBatch: MAX_BATCH });
    this.accountDataSubscription = await this.bus.subscribe(accountDataTopic, SYNC_GROUP, (message) => this.handleAccountData(message), SYNC_SUBSCRIBE_OPTIONS);
  }

  async stop(): Promise<void> {
    await Promise.all([this.subscription?.stop(), this.accountDataSubscription?.stop()]);
  }

  private async handleAccountData(message: DeliveredMessage<AccountDataUpdate>): Promise<HandlerOutcome> {
    await this.accountData.apply(message.value, message.partition, message.offset);
    // client-api published it for the user it authenticated: the ID is a valid one.
    await this.wakeups.publish(syncChannel(message.value.user_id as UserId), message.value.type);
    return ack;
  }

  /**
   * A batch is consecutive messages of one partition, in offset order. Runs of plain
   * messages are applied together in one statement; any other output (state, membership,
   * redaction) alone, in its place, so the order and the partition's position hold.
   */
  private async handle(messages: readonly DeliveredMessage<RoomOutput>[]): Promise<HandlerOutcome> {
    let run: DeliveredMessage<RoomOutput>[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const woken = await this.roomEvents.applyMessages(
        run.map((message) => ({ output: message.value, offset: message.offset })),
        run[0]!.partition,
      );
      const lastOf = new Map<RoomId, string>(run.map((message) => [message.value.room_id as RoomId, message.value.event_id]));
      run = [];
      await Promise.all([...woken].flatMap(([roomId, users]) => users.map((user) => this.wakeups.publish(syncChannel(user), lastOf.get(roomId) ?? ''))));
    };
    for (const message of messages) {
      if (RoomEventsRepository.isPlainMessage(message.value)) {
        run.push(message);
        continue;
      }
      await flush();
      const users = await this.roomEvents.apply(message.value, message.partition, message.offset);
      await Promise.all(users.map((user) => this.wakeups.publish(syncChannel(user), message.value.event_id)));
    }
    await flush();
    return ack;
  }
}
