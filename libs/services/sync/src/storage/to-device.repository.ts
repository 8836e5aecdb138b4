import { toDeviceTopic, type ToDeviceMessages } from '@axon/contracts-kafka';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { advanceHead, BETWEEN } from './stream-positions.repository';

export interface ToDeviceRow {
  readonly partition: number;
  readonly sender: UserId;
  readonly type: string;
  readonly content: string;
  readonly offset: string;
}

/** Each device's inbox of to-device messages from `hs.edu.to-device.v1`, kept until the device syncs past them. */
export class ToDeviceRepository {
  constructor(private readonly db: DataSource) {}

  /** Puts a to-device message into each addressed device's inbox (once per message ID). */
  async apply(message: ToDeviceMessages, partition: number, offset: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const [deviceId, content] of Object.entries(message.messages)) {
        await tx.query(
          `INSERT INTO to_device (user_id, device_id, message_id, sender, type, content, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING`,
          [message.recipient, deviceId, message.message_id, message.sender, message.type, JSON.stringify(content), partition, offset],
        );
      }
      await advanceHead(tx, toDeviceTopic.name, partition, offset);
    });
  }

  /** Deletes the device's messages at or before `acked` (the client synced past them). */
  async ack(userId: UserId, deviceId: DeviceId, acked: StreamPositions): Promise<void> {
    await this.db.query(`WITH gone AS (DELETE FROM to_device WHERE user_id = $1 AND device_id = $2 AND "offset" <= ($3::bigint[])[partition + 1] RETURNING 1) SELECT count(*) FROM gone`, [
      userId,
      deviceId,
      acked,
    ]);
  }

  /**
   * The device's messages in (`after`, `upTo`], at most `limit`, in the order they arrived
   * (`seq`: the offsets order them only within one partition, and a recipient's messages
   * are in two once the topic's partition count was raised).
   */
  async inbox(userId: UserId, deviceId: DeviceId, after: StreamPositions | undefined, upTo: StreamPositions, limit: number): Promise<ToDeviceRow[]> {
    return this.db.query<ToDeviceRow[]>(
      `SELECT partition, sender, type, content, "offset"::text AS "offset" FROM to_device WHERE user_id = $1 AND device_id = $2 AND ${BETWEEN(3, 4)} ORDER BY to_device.seq LIMIT $5`,
      [userId, deviceId, after ?? upTo.map(() => -1), upTo, limit],
    );
  }
}
