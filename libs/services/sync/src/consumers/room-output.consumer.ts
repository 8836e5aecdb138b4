import { accountDataTopic, roomOutputTopic, type AccountDataUpdate, type RoomOutput } from '@axon/contracts-kafka';
import type { UserId } from '@axon/matrix-identifiers';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import type { AccountDataRepository } from '../storage/account-data.repository';
import type { RoomEventsRepository } from '../storage/room-events.repository';
import type { PublicOf } from '../storage/sync-repositories';
import { syncChannel } from '../sync-channel';
import { SYNC_GROUP, SYNC_SUBSCRIBE_OPTIONS } from './sync-group';

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
    this.subscription = await this.bus.subscribe(roomOutputTopic, SYNC_GROUP, (message) => this.handle(message), SYNC_SUBSCRIBE_OPTIONS);
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

  private async handle(message: DeliveredMessage<RoomOutput>): Promise<HandlerOutcome> {
    const users = await this.roomEvents.apply(message.value, message.partition, message.offset);
    await Promise.all(users.map((user) => this.wakeups.publish(syncChannel(user), message.value.event_id)));
    return ack;
  }
}
