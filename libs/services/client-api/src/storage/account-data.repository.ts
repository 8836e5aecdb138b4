import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

export type AccountDataContent = Record<string, unknown>;

/** Users' account data, global (`roomId` empty) and per room, in schema `client_api`. */
export class AccountDataRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async find(userId: UserId, roomId: RoomId | '', type: string): Promise<AccountDataContent | undefined> {
    const rows = await this.storage.db.query<{ content: AccountDataContent }[]>(`SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3`, [
      userId,
      roomId,
      type,
    ]);
    return rows[0]?.content;
  }

  async upsert(userId: UserId, roomId: RoomId | '', type: string, content: AccountDataContent): Promise<void> {
    await this.storage.db.query(
      `INSERT INTO account_data (user_id, room_id, type, content) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content`,
      [userId, roomId, type, JSON.stringify(content)],
    );
  }
}
