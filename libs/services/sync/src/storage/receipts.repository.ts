import { receiptTopic, type ReceiptUpdate } from '@axon/contracts-kafka';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { joinedMembersOf } from './memberships.repository';
import { advanceHead, BETWEEN } from './stream-positions.repository';

export interface ReceiptRow {
  readonly room_id: RoomId;
  readonly receipt_type: string;
  readonly user_id: UserId;
  readonly thread_id: string;
  readonly event_id: EventId;
  readonly ts: string;
}

/** Read receipts from `hs.edu.receipt.v1`: the latest per (room, type, user, thread), at its bus position. */
export class ReceiptsRepository {
  constructor(private readonly db: DataSource) {}

  /** Applies a receipt (idempotent: an older position changes nothing); returns the users to wake (the room's joined members). */
  async apply(update: ReceiptUpdate, partition: number, offset: string): Promise<UserId[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE
         SET event_id = EXCLUDED.event_id, ts = EXCLUDED.ts, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE receipts.partition <> EXCLUDED.partition OR receipts."offset" < EXCLUDED."offset"`,
        [update.room_id, update.receipt_type, update.user_id, update.thread_id ?? '', update.event_id, update.ts, partition, offset],
      );
      await advanceHead(tx, receiptTopic.name, partition, offset);
      if (update.receipt_type === 'm.read.private') return [update.user_id as UserId];
      return joinedMembersOf(tx, update.room_id);
    });
  }

  /** Receipts of the rooms changed in (`since`, `upTo`] (all of them without `since`). */
  async changed(roomIds: readonly RoomId[], since: StreamPositions | undefined, upTo: StreamPositions): Promise<ReceiptRow[]> {
    if (roomIds.length === 0) return [];
    return this.db.query<ReceiptRow[]>(
      `SELECT room_id, receipt_type, user_id, thread_id, event_id, ts::text AS ts FROM receipts WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)} ORDER BY receipts."offset"`,
      [roomIds, since ?? upTo.map(() => -1), upTo],
    );
  }
}
