import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/**
 * The `sendToDevice` transactions a device has made, so a retried request (same event
 * type and transaction ID) is answered without sending again, also after the recipient
 * has received and acknowledged the first. Rows older than a day are dropped.
 */
export class ToDeviceTxnsRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async seen(userId: UserId, deviceId: DeviceId | '', eventType: string, txnId: string): Promise<boolean> {
    const rows = await this.storage.db.query<unknown[]>(`SELECT 1 FROM to_device_txns WHERE user_id = $1 AND device_id = $2 AND event_type = $3 AND txn_id = $4`, [
      userId,
      deviceId,
      eventType,
      txnId,
    ]);
    return rows.length > 0;
  }

  async record(userId: UserId, deviceId: DeviceId | '', eventType: string, txnId: string, now = Date.now()): Promise<void> {
    await this.storage.db.query(
      `WITH added AS (INSERT INTO to_device_txns (user_id, device_id, event_type, txn_id, created_ts) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1),
            expired AS (DELETE FROM to_device_txns WHERE created_ts < $6 RETURNING 1)
       SELECT (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM expired) AS expired`,
      [userId, deviceId, eventType, txnId, now, now - 24 * 3_600_000],
    );
  }
}
