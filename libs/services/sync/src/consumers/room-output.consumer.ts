import { accountDataTopic, roomOutputTopic, type AccountDataUpdate, type RoomOutput } from '@axon/contracts-kafka';
import type { RoomId, UserId } from '@axon/matrix-identifiers';
import { ack, isTransientFailure, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import { GroupCommit } from '@axon/platform-database';
import type { AccountDataRepository } from '../storage/account-data.repository';
import { RoomEventsRepository, type MessageRun } from '../storage/room-events.repository';
import type { StreamPositionsRepository } from '../storage/stream-positions.repository';
import type { PublicOf } from '../storage/sync-repositories';
import { syncChannel } from '../sync-channel';
import { SYNC_GROUP, syncSubscribeOptions } from './sync-group';

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
  /**
   * Runs of messages of different partitions (each partition's handler has its own) that
   * wait while one is applied go together in the next statement: rooms spread over many
   * partitions share statements as one busy room's messages do.
   */
  private readonly messageRuns: GroupCommit<MessageRun, Map<RoomId, UserId[]>>;

  constructor(
    private readonly bus: MessageBus,
    private readonly roomEvents: PublicOf<RoomEventsRepository>,
    private readonly accountData: PublicOf<AccountDataRepository>,
    private readonly wakeups: Wakeups,
    private readonly positions: Pick<PublicOf<StreamPositionsRepository>, 'passDeadLettered'>,
  ) {
    this.messageRuns = new GroupCommit(
      async (runs: readonly MessageRun[]) => {
        const woken = await this.roomEvents.applyMessages(runs);
        return runs.map(() => woken);
      },
      { maxWeight: 512, weight: (run) => run.outputs.length, retryAlone: (error) => !isTransientFailure(error) },
    );
  }

  async start(): Promise<void> {
    // Both joins (each a rebalance of its group) at once.
    [this.subscription, this.accountDataSubscription] = await Promise.all([
      this.bus.subscribeBatches(roomOutputTopic, SYNC_GROUP, (messages) => this.handle(messages), { ...syncSubscribeOptions(roomOutputTopic, this.positions), maxBatch: MAX_BATCH }),
      this.bus.subscribe(accountDataTopic, SYNC_GROUP, (message) => this.handleAccountData(message), syncSubscribeOptions(accountDataTopic, this.positions)),
    ]);
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
      const woken = await this.messageRuns.submit({ partition: run[0]!.partition, outputs: run.map((message) => ({ output: message.value, offset: message.offset })) });
      // Only this run's rooms: a shared statement answers for every run in it.
      const lastOf = new Map<RoomId, string>(run.map((message) => [message.value.room_id as RoomId, message.value.event_id]));
      run = [];
      await Promise.all([...lastOf].flatMap(([roomId, eventId]) => (woken.get(roomId) ?? []).map((user) => this.wakeups.publish(syncChannel(user), eventId))));
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
