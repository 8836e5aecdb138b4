import type { ClientApiStore } from '../storage/client-api-store';

/** Forgotten rooms and sent transaction IDs, in schema `client_api`. */
export class RoomRecordsRepository {
  constructor(private readonly store: ClientApiStore) {}

  /** Marks a room forgotten as of the user's membership event `membershipEventId`. */
  async forget(userId: string, roomId: string, membershipEventId: string): Promise<void> {
    await this.store.db.query(
      `INSERT INTO forgotten_rooms (user_id, room_id, membership_event_id) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, room_id) DO UPDATE SET membership_event_id = EXCLUDED.membership_event_id`,
      [userId, roomId, membershipEventId],
    );
  }

  /** The membership event the user forgot the room at, if they did. */
  async forgottenAt(userId: string, roomId: string): Promise<string | undefined> {
    const rows = await this.store.db.query<{ membership_event_id: string }[]>(`SELECT membership_event_id FROM forgotten_rooms WHERE user_id = $1 AND room_id = $2`, [
      userId,
      roomId,
    ]);
    return rows[0]?.membership_event_id;
  }

  async recordTransaction(userId: string, deviceId: string, eventId: string, txnId: string): Promise<void> {
    await this.store.db.query(`INSERT INTO sent_transactions (user_id, device_id, event_id, txn_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      userId,
      deviceId,
      eventId,
      txnId,
    ]);
  }

  /** The transaction IDs this device sent these events with, by event ID. */
  async transactionIds(userId: string, deviceId: string, eventIds: readonly string[]): Promise<Map<string, string>> {
    if (eventIds.length === 0) return new Map();
    const rows = await this.store.db.query<{ event_id: string; txn_id: string }[]>(
      `SELECT event_id, txn_id FROM sent_transactions WHERE user_id = $1 AND device_id = $2 AND event_id = ANY($3::text[])`,
      [userId, deviceId, [...eventIds]],
    );
    return new Map(rows.map((row) => [row.event_id, row.txn_id]));
  }
}
