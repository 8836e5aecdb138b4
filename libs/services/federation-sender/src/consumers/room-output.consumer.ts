import { roomOutputTopic, type RoomOutput } from '@axon/contracts-kafka';
import { parseEventId, parseRoomId, type ServerName } from '@axon/matrix-identifiers';
import { ack, PermanentFailure, type DeliveredMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import { FEDERATION_SENDER_CHANNEL } from '../delivery/delivery-scheduler';
import type { QueueWriter } from '../delivery/ports';
import type { SenderLogger } from '../delivery/transaction-sender';
import type { FederationSenderMetrics } from '../federation-sender.metrics';
import { pduDestinations, serverOfUser, type PduRouting } from './destinations';
import type { RoomMembership } from './room-membership';
import { FEDERATION_SENDER_GROUP } from './sender-group';

/**
 * Queues the events this server's users send for every server in their room
 * (`pduDestinations`), from `hs.room.output.v1`. Rooms are handled concurrently, each
 * room's events in order, so a room's PDUs are queued in the order it got them. A message
 * is acknowledged only once its rows are committed; a redelivered one queues nothing
 * twice (one row per destination and event ID). Who is joined is asked of the room
 * server at the event (`GetMembers`), for that event's state, not today's.
 */
export class RoomOutputConsumer {
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly queue: QueueWriter,
    private readonly membership: RoomMembership,
    private readonly wakeups: Wakeups,
    private readonly serverName: ServerName,
    private readonly logger: SenderLogger,
    private readonly metrics?: FederationSenderMetrics,
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe(roomOutputTopic, FEDERATION_SENDER_GROUP, (message) => this.handle(message));
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  async handle(message: DeliveredMessage<RoomOutput>): Promise<HandlerOutcome> {
    const output = message.value;
    const pdu = JSON.parse(output.pdu_json) as PduRouting;
    // Remote events are their origin's to send: no room server query for them.
    if (serverOfUser(pdu.sender) !== this.serverName && output.relayed_for === undefined) return ack;
    const roomId = parseRoomId(output.room_id);
    const eventId = parseEventId(output.event_id);
    if (!roomId.ok || !eventId.ok) throw new PermanentFailure(`room output ${output.event_id} in ${output.room_id}: not a room and event ID`);
    const destinations = pduDestinations(pdu, await this.membership.joinedServers(roomId.value, eventId.value), this.serverName, output.relayed_for);
    if (destinations.length === 0) return ack;
    const { added, dropped } = await this.queue.enqueue({
      pdus: destinations.map((destination) => ({ destination, roomId: roomId.value, eventId: eventId.value, pduJson: output.pdu_json })),
    });
    if (dropped > 0) {
      this.metrics?.pdusDropped.inc({ reason: 'catch_up' }, dropped);
      this.logger.info({ roomId: roomId.value, dropped }, 'catch-up: dropped the oldest queued PDUs of a room over the per-destination limit');
    }
    if (added > 0) await this.wakeups.publish(FEDERATION_SENDER_CHANNEL, '');
    return ack;
  }
}
