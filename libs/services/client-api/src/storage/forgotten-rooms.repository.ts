import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** Rooms users forgot (`POST /rooms/{roomId}/forget`), in schema `client_api`. */
export class ForgottenRoomsRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  /** Marks a room forgotten as of the user's membership event `membershipEventId`. */
  async forget(userId: UserId, roomId: RoomId, membershipEventId: EventId): Promise<void> {
    await this.storage.db.query(
      `INSERT INTO forgotten_rooms (user_id, room_id, membership_event_id) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, room_id) DO UPDATE SET membership_event_id = EXCLUDED.membership_event_id`,
      [userId, roomId, membershipEventId],
    );
  }

  /** The membership event the user forgot the room at, if they did. */
  async forgottenAt(userId: UserId, roomId: RoomId): Promise<EventId | undefined> {
    const rows = await this.storage.db.query<{ membership_event_id: EventId }[]>(`SELECT membership_event_id FROM forgotten_rooms WHERE user_id = $1 AND room_id = $2`, [
      userId,
      roomId,
    ]);
    return rows[0]?.membership_event_id;
  }
}
