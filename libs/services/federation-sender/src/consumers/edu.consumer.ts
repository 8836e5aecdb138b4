import { presenceTopic, receiptTopic, toDeviceTopic, typingTopic, type PresenceUpdate, type ReceiptUpdate, type ToDeviceMessages, type Topic, type TypingUpdate } from '@axon/contracts-kafka';
import { parseRoomId, type RoomId, type ServerName } from '@axon/matrix-identifiers';
import { ack, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import { FEDERATION_SENDER_CHANNEL } from '../delivery/delivery-scheduler';
import type { EduToQueue, QueueWriter } from '../delivery/ports';
import { directToDeviceEdu, queuedPresenceEdu, receiptEdu, typingEdu, type Edu } from '../edus';
import { localUser, serverOfUser } from './destinations';
import type { RoomMembership } from './room-membership';
import { FEDERATION_SENDER_GROUP } from './sender-group';

/** Receipt types other servers are told of (`m.read.private` never leaves this server). */
const FEDERATED_RECEIPT_TYPES: ReadonlySet<string> = new Set(['m.read']);

/**
 * Queues the EDUs of this server's users for other servers, from the EDU topics:
 * typing and public read receipts for the servers in the room, presence (when
 * `presence.enabled`) for the servers sharing a room with the user, to-device messages
 * for the recipient's server. Typing, receipts and presence replace an unsent older EDU
 * of the same kind for the same destination (only the newest state matters); a
 * to-device message is queued once per message ID. Each message is acknowledged once its
 * rows are committed.
 */
export class EduConsumer {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly bus: MessageBus,
    private readonly queue: QueueWriter,
    private readonly membership: RoomMembership,
    private readonly wakeups: Wakeups,
    private readonly serverName: ServerName,
    private readonly presenceEnabled: boolean,
  ) {}

  async start(): Promise<void> {
    const subscribe = async <T>(topic: Topic<T>, handle: (value: T) => Promise<HandlerOutcome>): Promise<void> => {
      this.subscriptions.push(await this.bus.subscribe(topic, FEDERATION_SENDER_GROUP, (message) => handle(message.value)));
    };
    // Together: each join is a rebalance of the group.
    await Promise.all([
      subscribe(typingTopic, (update) => this.typing(update)),
      subscribe(receiptTopic, (update) => this.receipt(update)),
      subscribe(presenceTopic, (update) => this.presence(update)),
      subscribe(toDeviceTopic, (message) => this.toDevice(message)),
    ]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.stop()));
  }

  async typing(update: TypingUpdate): Promise<HandlerOutcome> {
    const roomId = this.roomOfLocalUser(update.room_id, update.user_id);
    if (roomId === undefined) return ack;
    return this.queueFor(await this.membership.joinedServers(roomId), typingEdu(update), `m.typing ${update.room_id} ${update.user_id}`);
  }

  async receipt(update: ReceiptUpdate): Promise<HandlerOutcome> {
    if (!FEDERATED_RECEIPT_TYPES.has(update.receipt_type)) return ack;
    const roomId = this.roomOfLocalUser(update.room_id, update.user_id);
    if (roomId === undefined) return ack;
    const key = `m.receipt ${update.room_id} ${update.receipt_type} ${update.user_id} ${update.thread_id ?? ''}`;
    return this.queueFor(await this.membership.joinedServers(roomId), receiptEdu(update), key);
  }

  async presence(update: PresenceUpdate): Promise<HandlerOutcome> {
    const user = localUser(update.user_id, this.serverName);
    if (!this.presenceEnabled || user === undefined) return ack;
    const servers = new Set<ServerName>();
    for (const roomId of await this.membership.roomsOf(user)) for (const server of await this.membership.joinedServers(roomId)) servers.add(server);
    return this.queueFor(servers, queuedPresenceEdu(update), `m.presence ${update.user_id}`);
  }

  async toDevice(message: ToDeviceMessages): Promise<HandlerOutcome> {
    const destination = serverOfUser(message.recipient);
    if (destination === undefined || destination === this.serverName || localUser(message.sender, this.serverName) === undefined) return ack;
    const edu = directToDeviceEdu(message);
    return this.enqueue([{ destination, eduType: edu.edu_type, eduJson: JSON.stringify(edu), dedupeKey: `m.direct_to_device ${message.message_id} ${message.recipient}` }]);
  }

  private roomOfLocalUser(roomId: string, userId: string): RoomId | undefined {
    const room = parseRoomId(roomId);
    return room.ok && localUser(userId, this.serverName) !== undefined ? room.value : undefined;
  }

  /** Queues `edu` for every server of `servers` but this one, replacing an unsent one under `key`. */
  private queueFor(servers: Iterable<ServerName>, edu: Edu, key: string): Promise<HandlerOutcome> {
    const eduJson = JSON.stringify(edu);
    const rows = [...servers].filter((server) => server !== this.serverName).map((destination) => ({ destination, eduType: edu.edu_type, eduJson, dedupeKey: key, replace: true }));
    return this.enqueue(rows);
  }

  private async enqueue(rows: EduToQueue[]): Promise<HandlerOutcome> {
    if (rows.length === 0) return ack;
    const { added } = await this.queue.enqueue({ edus: rows });
    if (added > 0) await this.wakeups.publish(FEDERATION_SENDER_CHANNEL, '');
    return ack;
  }
}
