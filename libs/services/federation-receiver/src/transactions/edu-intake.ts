import { deviceListTopic, presenceTopic, PRESENCE_STATES, receiptTopic, toDeviceTopic, typingTopic, type PresenceState } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { isJsonObject } from '@axon/matrix-events';
import type { RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import type { Logger } from '@axon/platform-telemetry';
import { serverOfUser } from '../rooms/room-access';

/** What the intake asks about rooms and local users. */
export interface EduContext {
  /** Whether `userId` is joined to the room now. */
  isJoined(roomId: RoomId, userId: string): Promise<boolean>;
  /** Whether the room's server ACL lets `server` in. */
  aclAllows(roomId: RoomId, server: ServerName): Promise<boolean>;
  /** The device IDs of a local user (`*` in a to-device message). */
  devicesOf(userId: string): Promise<string[]>;
}

/** How long a remote typing notification lasts without a refresh (the spec leaves it to servers; Synapse: 30 s). */
const REMOTE_TYPING_MS = 30_000;

/**
 * The EDUs of a received transaction, each checked against the server that sent it (a
 * server speaks only for its own users) and published where the same kind of local
 * update goes: typing, receipts and presence to their topics, to-device messages to their
 * local recipients' inboxes, device list and signing key updates to the device list
 * topic. Unknown EDU types are ignored, as the spec allows. Nothing is answered: EDUs
 * have no per-EDU result.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#edus
 */
export class EduIntake {
  constructor(
    private readonly bus: MessageBus,
    private readonly context: EduContext,
    private readonly serverName: string,
    private readonly logger: Pick<Logger, 'debug' | 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  async take(origin: ServerName, edus: readonly unknown[]): Promise<void> {
    for (const edu of edus) {
      if (!isJsonObject(edu as never) || typeof (edu as JsonObject)['edu_type'] !== 'string') continue;
      const { edu_type: type, content } = edu as JsonObject;
      if (!isJsonObject(content as never)) continue;
      try {
        await this.takeOne(origin, type as string, content as JsonObject);
      } catch (error) {
        // One bad EDU must not cost the others (or the transaction's PDUs).
        this.logger.warn({ origin, type, err: error }, 'an EDU could not be taken');
      }
    }
  }

  private fromOrigin(origin: ServerName, userId: unknown): userId is string {
    return typeof userId === 'string' && serverOfUser(userId) === origin;
  }

  private isLocal(userId: string): boolean {
    return serverOfUser(userId) === this.serverName;
  }

  private async takeOne(origin: ServerName, type: string, content: JsonObject): Promise<void> {
    switch (type) {
      case 'm.typing': {
        const { room_id: roomId, user_id: userId, typing } = content;
        if (typeof roomId !== 'string' || !this.fromOrigin(origin, userId) || typeof typing !== 'boolean') return;
        if (!(await this.context.aclAllows(roomId as RoomId, origin)) || !(await this.context.isJoined(roomId as RoomId, userId))) return;
        await this.bus.publish(typingTopic, [{ room_id: roomId, user_id: userId, typing, expires_at: this.now() + (typing ? REMOTE_TYPING_MS : 0) }]);
        return;
      }
      case 'm.receipt':
        return this.takeReceipts(origin, content);
      case 'm.presence': {
        const pushes = Array.isArray(content['push']) ? content['push'] : [];
        const updates = pushes.flatMap((push) => {
          if (!isJsonObject(push as never)) return [];
          const p = push as JsonObject;
          if (!this.fromOrigin(origin, p['user_id']) || !(PRESENCE_STATES as readonly unknown[]).includes(p['presence'])) return [];
          const ago = typeof p['last_active_ago'] === 'number' ? p['last_active_ago'] : 0;
          const status = p['status_msg'];
          return [
            {
              user_id: p['user_id'] as string,
              presence: p['presence'] as PresenceState,
              last_active_ts: this.now() - ago,
              currently_active: p['currently_active'] === true,
              ...(typeof status === 'string' || status === null ? { status_msg: status } : {}),
            },
          ];
        });
        if (updates.length > 0) await this.bus.publish(presenceTopic, updates);
        return;
      }
      case 'm.direct_to_device':
        return this.takeToDevice(origin, content);
      case 'm.device_list_update': {
        const { user_id: userId, device_id: deviceId, deleted } = content;
        if (!this.fromOrigin(origin, userId) || typeof deviceId !== 'string') return;
        await this.bus.publish(deviceListTopic, [{ user_id: userId, device_id: deviceId, change: deleted === true ? 'removed' : 'updated' }]);
        return;
      }
      case 'm.signing_key_update': {
        // A user's cross-signing keys changed: their device list, as clients see it.
        if (!this.fromOrigin(origin, content['user_id'])) return;
        await this.bus.publish(deviceListTopic, [{ user_id: content['user_id'], device_id: '', change: 'updated' }]);
        return;
      }
      default:
        this.logger.debug({ origin, type }, 'an EDU of a type this server does not take');
    }
  }

  /** `m.receipt`: `{room_id: {receipt_type: {user_id: {event_ids, data: {ts, thread_id?}}}}}`; private receipts never travel. */
  private async takeReceipts(origin: ServerName, content: JsonObject): Promise<void> {
    for (const [roomId, byType] of Object.entries(content)) {
      if (!isJsonObject(byType as never) || !(await this.context.aclAllows(roomId as RoomId, origin))) continue;
      const byUser = (byType as JsonObject)['m.read'];
      if (!isJsonObject(byUser as never)) continue;
      for (const [userId, receipt] of Object.entries(byUser as JsonObject)) {
        if (!this.fromOrigin(origin, userId) || !isJsonObject(receipt as never)) continue;
        const r = receipt as JsonObject;
        const eventIds = Array.isArray(r['event_ids']) ? r['event_ids'].filter((id): id is string => typeof id === 'string') : [];
        const data = isJsonObject(r['data'] as never) ? (r['data'] as JsonObject) : {};
        if (eventIds.length === 0 || !(await this.context.isJoined(roomId as RoomId, userId))) continue;
        const threadId = data['thread_id'];
        await this.bus.publish(
          receiptTopic,
          eventIds.map((eventId) => ({
            room_id: roomId,
            user_id: userId,
            receipt_type: 'm.read' as const,
            event_id: eventId,
            ts: typeof data['ts'] === 'number' ? data['ts'] : this.now(),
            ...(typeof threadId === 'string' ? { thread_id: threadId } : {}),
          })),
        );
      }
    }
  }

  /** `m.direct_to_device`: one message per local recipient, `*` expanded to their devices. */
  private async takeToDevice(origin: ServerName, content: JsonObject): Promise<void> {
    const { sender, type, message_id: messageId, messages } = content;
    if (!this.fromOrigin(origin, sender) || typeof type !== 'string' || typeof messageId !== 'string' || !isJsonObject(messages as never)) return;
    for (const [recipient, byDevice] of Object.entries(messages as JsonObject)) {
      if (!this.isLocal(recipient) || !isJsonObject(byDevice as never)) continue;
      const out: Record<string, JsonObject> = {};
      for (const [deviceId, body] of Object.entries(byDevice as JsonObject)) {
        if (!isJsonObject(body as never)) continue;
        if (deviceId === '*') for (const device of await this.context.devicesOf(recipient)) out[device] = body as JsonObject;
        else out[deviceId] = body as JsonObject;
      }
      if (Object.keys(out).length === 0) continue;
      await this.bus.publish(toDeviceTopic, [{ recipient: recipient as UserId, sender, type, message_id: `${origin}:${messageId}`, messages: out }]);
    }
  }
}
