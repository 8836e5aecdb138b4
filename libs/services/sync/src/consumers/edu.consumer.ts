import { deviceListTopic, presenceTopic, receiptTopic, toDeviceTopic, typingTopic, type Topic } from '@axon/contracts-kafka';
import { ack, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import { getUserIdServerName, parseHistoricalUserId, type UserId } from '@axon/matrix-identifiers';
import type { Wakeups } from '@axon/platform-cache';
import type { SyncRepositories } from '../storage/sync-repositories';
import { syncChannel } from '../sync-channel';
import { SYNC_GROUP, syncSubscribeOptions } from './sync-group';

/** How presence ends for a user whose clients stopped syncing. */
export interface PresenceExpiry {
  readonly enabled: boolean;
  readonly offlineAfterMs: number;
}

/**
 * Applies the EDU topics to the sync read model and wakes the long-polls each change
 * concerns. It also ends what ends by time: a typing notification whose timeout passed
 * (a stop for exactly that typing, published on `hs.edu.typing.v1`), and the presence of
 * a user no client has synced for `offlineAfterMs` (`offline` on `hs.edu.presence.v1`).
 * Timers live where the change was applied and are armed again from the read model at
 * start, so a restart or a second replica only adds harmless duplicate stops.
 */
export class EduConsumer {
  private readonly subscriptions: Subscription[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly store: Pick<SyncRepositories, 'receipts' | 'typing' | 'presence' | 'toDevice' | 'deviceLists' | 'positions'>,
    private readonly wakeups: Wakeups,
    private readonly presence: PresenceExpiry,
    /** This server's name: to-device messages for other servers' users are not applied. */
    private readonly serverName: string,
  ) {}

  async start(): Promise<void> {
    const subscribe = async <T>(topic: Topic<T>, apply: (value: T, partition: number, offset: string) => Promise<readonly UserId[]>): Promise<void> => {
      const handler = async (message: DeliveredMessage<T>): Promise<HandlerOutcome> => {
        const users = await apply(message.value, message.partition, message.offset);
        await Promise.all(users.map((user) => this.wakeups.publish(syncChannel(user), topic.name)));
        return ack;
      };
      this.subscriptions.push(await this.bus.subscribe(topic, SYNC_GROUP, handler, syncSubscribeOptions(topic, this.store.positions)));
    };
    // Together: each join is a rebalance of its group, and one after another they took
    // an added sync replica about 4 s to become ready (issue 18's rescale test).
    await Promise.all([
      subscribe(receiptTopic, (value, partition, offset) => this.store.receipts.apply(value, partition, offset)),
      subscribe(typingTopic, async (value, partition, offset) => {
        const users = await this.store.typing.apply(value, partition, offset);
        if (value.typing && users.length > 0) this.armTyping(value.room_id, value.user_id, value.expires_at);
        return users;
      }),
      subscribe(presenceTopic, async (value, partition, offset) => {
        const users = await this.store.presence.apply(value, partition, offset);
        if (value.presence !== 'offline') this.armOffline(value.user_id, value.last_active_ts);
        return users;
      }),
      subscribe(toDeviceTopic, async (value, partition, offset) => {
        // Another server's user: the federation sender's, no inbox here.
        const recipient = parseHistoricalUserId(value.recipient);
        if (!recipient.ok || getUserIdServerName(recipient.value) !== this.serverName) {
          await this.store.positions.pass(toDeviceTopic.name, partition, offset);
          return [];
        }
        await this.store.toDevice.apply(value, partition, offset);
        return [recipient.value];
      }),
      subscribe(deviceListTopic, (value, partition, offset) => this.store.deviceLists.apply(value, partition, offset)),
    ]);
    for (const row of await this.store.typing.active()) this.armTyping(row.room_id, row.user_id, row.expires_at);
    if (this.presence.enabled) for (const row of await this.store.presence.present()) this.armOffline(row.user_id, Number(row.last_active_ts));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.subscriptions.map((subscription) => subscription.stop()));
  }

  private arm(key: string, at: number, fire: () => Promise<void>): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(key));
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        // A failed publish leaves the state as it is; the next change or restart re-arms it.
        fire().catch(() => undefined);
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  private armTyping(roomId: string, userId: string, expiresAt: number): void {
    this.arm(`typing\u0000${roomId}\u0000${userId}`, expiresAt, () => this.bus.publish(typingTopic, [{ room_id: roomId, user_id: userId, typing: false, expires_at: expiresAt }]));
  }

  private armOffline(userId: string, lastActiveTs: number): void {
    if (!this.presence.enabled) return;
    this.arm(`presence\u0000${userId}`, lastActiveTs + this.presence.offlineAfterMs, async () => {
      const now = await this.store.presence.of(userId as UserId);
      if (now === undefined || now.presence === 'offline' || Number(now.last_active_ts) !== lastActiveTs) return;
      await this.bus.publish(presenceTopic, [{ user_id: userId, presence: 'offline', last_active_ts: lastActiveTs, currently_active: false }]);
    });
  }
}
