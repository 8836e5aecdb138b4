import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** Reports users file about events, rooms and users (`event_reports`, `room_reports`, `user_reports`), kept for admins. */
export class ReportsRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async addEventReport(report: { roomId: RoomId; eventId: string; userId: UserId; reason: string | undefined; content: unknown }): Promise<void> {
    await this.storage.db.query(
      `INSERT INTO event_reports (received_ts, room_id, event_id, user_id, reason, content) VALUES ($1, $2, $3, $4, $5, $6::json)`,
      [Date.now(), report.roomId, report.eventId, report.userId, report.reason ?? null, JSON.stringify(report.content)],
    );
  }

  async addRoomReport(report: { roomId: RoomId; userId: UserId; reason: string }): Promise<void> {
    await this.storage.db.query(`INSERT INTO room_reports (received_ts, room_id, user_id, reason) VALUES ($1, $2, $3, $4)`, [Date.now(), report.roomId, report.userId, report.reason]);
  }

  async addUserReport(report: { targetUserId: UserId; userId: UserId; reason: string }): Promise<void> {
    await this.storage.db.query(`INSERT INTO user_reports (received_ts, target_user_id, user_id, reason) VALUES ($1, $2, $3, $4)`, [Date.now(), report.targetUserId, report.userId, report.reason]);
  }
}
