import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** Each user's server-notices room (`server_notice_rooms`); room IDs are stored only as the room server made them. */
export class ServerNoticeRoomsRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  /** The user's server-notices room, if one was made for them. */
  async roomOf(userId: UserId): Promise<RoomId | undefined> {
    const rows = await this.storage.db.query<{ room_id: RoomId }[]>(`SELECT room_id FROM server_notice_rooms WHERE user_id = $1`, [userId]);
    return rows[0]?.room_id;
  }

  /**
   * Records `roomId` as the user's room unless one is recorded already (a concurrent
   * notice made it first), replacing only `stale` (a room the notices user is no longer
   * in). Answers the room that is recorded afterwards.
   */
  async record(userId: UserId, roomId: RoomId, stale?: RoomId): Promise<RoomId> {
    const rows = await this.storage.db.query<{ room_id: RoomId }[]>(
      `INSERT INTO server_notice_rooms (user_id, room_id, created_ts) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE SET room_id = EXCLUDED.room_id, created_ts = EXCLUDED.created_ts
         WHERE server_notice_rooms.room_id = $4
       RETURNING room_id`,
      [userId, roomId, Date.now(), stale ?? null],
    );
    return rows[0]?.room_id ?? (await this.roomOf(userId)) ?? roomId;
  }

  /** Whether `roomId` is `userId`'s server-notices room. */
  async isNoticeRoom(userId: UserId, roomId: RoomId): Promise<boolean> {
    const rows = await this.storage.db.query<unknown[]>(`SELECT 1 FROM server_notice_rooms WHERE user_id = $1 AND room_id = $2`, [userId, roomId]);
    return rows.length > 0;
  }
}
