import { Injectable } from '@nestjs/common';
import { accountDataTopic } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { parseRoomId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { defaultPushRules } from '@axon/matrix-push-rules';
import type { MessageBus } from '@axon/platform-bus';
import { InjectBus } from '@axon/platform-runtime';
import type { Requester } from '../auth/requester';
import { AccountDataRepository, type AccountDataContent as Content } from '../storage/account-data.repository';

/** Account data types the server manages: clients may read them but not set them (405). */
const SERVER_MANAGED = new Set(['m.fully_read', 'm.push_rules']);

/**
 * Account data, global and per room, and room tags (the room's `m.tag`): stored here,
 * then announced on `hs.account-data.v1` for sync. A failed announcement fails the
 * request, so the client retries (setting the same content again is harmless).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#client-config
 */
@Injectable()
export class AccountDataService {
  constructor(
    private readonly accountData: AccountDataRepository,
    @InjectBus() private readonly bus: MessageBus,
  ) {}

  /** The owner check every account data endpoint makes: the path's user is the requester (whose ID it answers). */
  owner(requester: Requester, userId: string): UserId {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', "Cannot access other users' account data.", 403);
    return requester.userId;
  }

  /** The owner check, then the room ID check of the room endpoints: the owner and the room, parsed. */
  ownerAndRoom(requester: Requester, userId: string, roomId: string): [UserId, RoomId] {
    const owner = this.owner(requester, userId);
    const parsed = parseRoomId(roomId);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a valid room ID.`, 400);
    return [owner, parsed.value];
  }

  /** `roomId` is empty for global account data. */
  async get(userId: UserId, roomId: RoomId | '', type: string): Promise<Content> {
    // Server-managed types read "as normal": a user's push rules are the defaults until
    // users can change them.
    if (roomId === '' && type === 'm.push_rules') return { global: defaultPushRules(userId) };
    const content = await this.accountData.find(userId, roomId, type);
    if (content === undefined) throw new MatrixError('M_NOT_FOUND', roomId === '' ? 'Account data not found.' : 'Room account data not found.', 404);
    return content;
  }

  async set(userId: UserId, roomId: RoomId | '', type: string, content: Content, fromClient = true): Promise<void> {
    if (fromClient && SERVER_MANAGED.has(type)) throw new MatrixError('M_BAD_JSON', `Cannot set ${type} through this API.`, 405);
    await this.accountData.upsert(userId, roomId, type, content);
    await this.bus.publish(accountDataTopic, [{ user_id: userId, room_id: roomId, type, content }]);
  }

  async tags(userId: UserId, roomId: RoomId): Promise<Record<string, Content>> {
    const tags = (await this.accountData.find(userId, roomId, 'm.tag'))?.['tags'];
    return typeof tags === 'object' && tags !== null && !Array.isArray(tags) ? (tags as Record<string, Content>) : {};
  }

  async setTag(userId: UserId, roomId: RoomId, tag: string, body: Content): Promise<void> {
    const order = body['order'];
    if (order !== undefined && (typeof order !== 'number' || order < 0 || order > 1)) throw new MatrixError('M_BAD_JSON', '"order" must be a number between 0 and 1', 400);
    if (Buffer.byteLength(tag, 'utf8') > 255) throw new MatrixError('M_INVALID_PARAM', 'tag names are at most 255 bytes', 400);
    const tags = { ...(await this.tags(userId, roomId)), [tag]: body };
    await this.set(userId, roomId, 'm.tag', { tags }, false);
  }

  async deleteTag(userId: UserId, roomId: RoomId, tag: string): Promise<void> {
    const tags = { ...(await this.tags(userId, roomId)) };
    delete tags[tag];
    await this.set(userId, roomId, 'm.tag', { tags }, false);
  }
}
