import { accountDataTopic, roomOutputTopic, type AccountDataUpdate, type RoomOutput } from '@axon/contracts-kafka';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type SubscribeOptions, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import type { SyncStore } from './storage/sync-store';

/** The consumer group of sync replicas on `hs.room.output.v1`. */
export const SYNC_GROUP = 'sync';

/**
 * Sync applies each partition strictly in offset order (no concurrency across keys), so
 * that a partition's applied position is a low-water mark: a token built from positions
 * never passes a message that is still being applied.
 */
export const SYNC_SUBSCRIBE_OPTIONS: SubscribeOptions = { order: 'partition' };

/** The wake-up channel of a user's waiting `/sync` long-polls. */
export function syncChannel(userId: string): string {
  return `sync:${userId}`;
}

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
    private readonly store: SyncStore,
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
    await this.store.applyAccountData(message.value, message.partition, message.offset);
    await this.wakeups.publish(syncChannel(message.value.user_id), message.value.type);
    return ack;
  }

  private async handle(message: DeliveredMessage<RoomOutput>): Promise<HandlerOutcome> {
    const users = await this.store.apply(message.value, message.partition, message.offset);
    await Promise.all(users.map((user) => this.wakeups.publish(syncChannel(user), message.value.event_id)));
    return ack;
  }
}
