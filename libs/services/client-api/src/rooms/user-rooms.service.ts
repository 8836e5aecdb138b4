import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { UserId } from '@axon/matrix-identifiers';
import { InjectLogger } from '@axon/platform-runtime';
import type { Logger } from '@axon/platform-telemetry';
import { RoomInputClient } from '@axon/platform-room-input';
import { RoomQueryClient } from './room-query.client';

/**
 * Membership changes a user's account makes in all their rooms at once: a new profile
 * sent into every joined room as a fresh `m.room.member` join, and leaving every room on
 * deactivation. Each room is a separate input to the room server; one room failing (the
 * room server refusing it, or timing out) is logged and does not stop the others, since
 * the account change that caused it has already happened.
 */
@Injectable()
export class UserRoomsService {
  constructor(
    private readonly input: RoomInputClient,
    private readonly roomQuery: RoomQueryClient,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  /** Sends `{membership: join, displayname, avatar_url}` into every room the user is joined to. */
  async propagateProfile(userId: UserId, profile: { readonly displayname?: unknown; readonly avatar_url?: unknown }): Promise<void> {
    const content: Record<string, unknown> = { membership: 'join' };
    if (typeof profile.displayname === 'string') content['displayname'] = profile.displayname;
    if (typeof profile.avatar_url === 'string') content['avatar_url'] = profile.avatar_url;
    const { roomIds } = await this.roomQuery.getRoomsOfUser({ userId, membership: 'join' });
    await this.eachRoom(roomIds, 'profile update', (roomId) => this.member(roomId, userId, content));
  }

  /** Leaves (or rejects, or rescinds a knock on) every room the user is joined to, invited to or knocking on. */
  async leaveAll(userId: UserId): Promise<void> {
    const rooms = new Set<string>();
    for (const membership of ['join', 'invite', 'knock']) {
      for (const roomId of (await this.roomQuery.getRoomsOfUser({ userId, membership })).roomIds) rooms.add(roomId);
    }
    await this.eachRoom([...rooms], 'leave on deactivation', (roomId) => this.member(roomId, userId, { membership: 'leave' }));
  }

  private async member(roomId: string, userId: UserId, content: Record<string, unknown>): Promise<void> {
    await this.input.submit({ kind: 'new_event', request_id: randomUUID(), room_id: roomId, event: { type: 'm.room.member', state_key: userId, sender: userId, content } });
  }

  private async eachRoom(roomIds: readonly string[], what: string, work: (roomId: string) => Promise<void>): Promise<void> {
    const outcomes = await Promise.allSettled(roomIds.map((roomId) => work(roomId)));
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'rejected') this.logger.warn({ err: outcome.reason as unknown, room_id: roomIds[index] }, `${what} failed in one room`);
    });
  }
}
