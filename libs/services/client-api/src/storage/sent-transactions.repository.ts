import type { DeviceId, EventId, UserId } from '@axon/matrix-identifiers';
import { GroupCommit } from '@axon/platform-database';
import type { ClientApiStorage } from './client-api-storage';

interface SentTransaction {
  readonly userId: UserId;
  /** Empty for the server notices user, which sends without a device. */
  readonly deviceId: DeviceId | '';
  readonly eventId: EventId;
  readonly txnId: string;
}

/**
 * The transaction ID each device sent its events with (for `unsigned.transaction_id`), in
 * schema `client_api`. Recording is on the send path, once per send: concurrent sends
 * share one statement (`GroupCommit`: rows that arrive while one insert runs go in the next, up to 500).
 */
export class SentTransactionsRepository {
  private readonly writer = new GroupCommit<SentTransaction, void>(
    async (rows: readonly SentTransaction[]) => {
      await this.insert(rows);
      return rows.map(() => undefined);
    },
    { maxWeight: 500 },
  );

  constructor(private readonly storage: ClientApiStorage) {}

  /** Resolves once the row is committed. Recording the same event again is a no-op (a retried send). */
  record(userId: UserId, deviceId: DeviceId | '', eventId: EventId, txnId: string): Promise<void> {
    return this.writer.submit({ userId, deviceId, eventId, txnId });
  }

  /** The transaction IDs this device sent these events with, by event ID (as the room server's events name them). */
  async transactionIds(userId: UserId, deviceId: DeviceId | '', eventIds: readonly string[]): Promise<Map<string, string>> {
    if (eventIds.length === 0) return new Map();
    const rows = await this.storage.db.query<{ event_id: string; txn_id: string }[]>(
      `SELECT event_id, txn_id FROM sent_transactions WHERE user_id = $1 AND device_id = $2 AND event_id = ANY($3::text[])`,
      [userId, deviceId, [...eventIds]],
    );
    return new Map(rows.map((row) => [row.event_id, row.txn_id]));
  }

  /** One statement whatever the number of rows (arrays, so its text and plan stay the same). */
  private async insert(rows: readonly SentTransaction[]): Promise<void> {
    await this.storage.db.query(
      `INSERT INTO sent_transactions (user_id, device_id, event_id, txn_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
      [rows.map((row) => row.userId), rows.map((row) => row.deviceId), rows.map((row) => row.eventId), rows.map((row) => row.txnId)],
    );
  }
}
