import { Injectable } from '@nestjs/common';
import { typingTopic } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { parseRoomId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import { InjectBus } from '@axon/platform-runtime';
import type { JsonObject } from '@axon/platform-http';
import type { Requester } from '../auth/requester';
import { RoomQueryClient } from '../rooms/room-query.client';

/**
 * The longest a user is shown typing per request, and the timeout of a request that
 * gives none. Clients resend while typing (the spec suggests 5 s before the timeout
 * runs out), so a longer one only keeps a user who left "typing" for longer; Synapse
 * caps at the same 30 s.
 */
export const MAX_TYPING_TIMEOUT_MS = 30_000;

/**
 * `PUT /rooms/{roomId}/typing/{userId}`: announced on the ephemeral `hs.edu.typing.v1`
 * (never stored here); sync keeps who is typing and ends each at its `expires_at`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#typing-notifications
 */
@Injectable()
export class TypingService {
  constructor(
    private readonly roomQuery: RoomQueryClient,
    @InjectBus() private readonly bus: MessageBus,
  ) {}

  async setTyping(requester: Requester, roomId: string, userId: string, body: JsonObject): Promise<void> {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'Cannot set the typing state of another user', 403);
    if (!parseRoomId(roomId).ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomId)} is not a room ID`, 400);
    const typing = body['typing'];
    if (typeof typing !== 'boolean') throw new MatrixError('M_BAD_JSON', '"typing" must be a boolean', 400);
    const timeout = body['timeout'];
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)) {
      throw new MatrixError('M_BAD_JSON', '"timeout" must be a non-negative number of milliseconds', 400);
    }
    const membership = await this.roomQuery.getMembership({ roomId, userId });
    if (membership.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 'you are not joined to this room', 403);
    const expiresAt = typing ? Date.now() + Math.min(timeout ?? MAX_TYPING_TIMEOUT_MS, MAX_TYPING_TIMEOUT_MS) : 0;
    await this.bus.publish(typingTopic, [{ room_id: roomId, user_id: userId, typing, expires_at: expiresAt }]);
  }
}
