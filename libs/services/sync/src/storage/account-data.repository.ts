import { accountDataTopic, type AccountDataUpdate } from '@axon/contracts-kafka';
import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { advanceHead, BETWEEN } from './stream-positions.repository';

/** One account data entry; `room_id` is empty for global account data. */
export interface AccountDataRow {
  readonly room_id: RoomId | '';
  readonly type: string;
  readonly content: string;
}

/** Account data from `hs.account-data.v1`: the latest content per (user, room, type), at its bus position. */
export class AccountDataRepository {
  constructor(private readonly db: DataSource) {}

  /** Applies one message (the newest position wins, so a redelivered older one changes nothing). */
  async apply(update: AccountDataUpdate, partition: number, offset: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO account_data (user_id, room_id, type, content, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE account_data.partition <> EXCLUDED.partition OR account_data."offset" < EXCLUDED."offset"`,
        [update.user_id, update.room_id, update.type, JSON.stringify(update.content), partition, offset],
      );
      await advanceHead(tx, accountDataTopic.name, partition, offset);
    });
  }

  /** A user's account data changed after `since` up to `upTo` (all of it without `since`). */
  async changed(userId: UserId, since: StreamPositions | undefined, upTo: StreamPositions): Promise<AccountDataRow[]> {
    return this.db.query<AccountDataRow[]>(`SELECT room_id, type, content FROM account_data WHERE user_id = $1 AND ${BETWEEN(2, 3)} ORDER BY account_data."offset"`, [
      userId,
      since ?? upTo.map(() => -1),
      upTo,
    ]);
  }

  /** One account data entry's content now (global when `roomId` is empty). */
  async get(userId: UserId, roomId: RoomId | '', type: string): Promise<Record<string, unknown> | undefined> {
    const rows = await this.db.query<Array<{ content: string }>>(`SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3`, [userId, roomId, type]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].content) as Record<string, unknown>);
  }
}
