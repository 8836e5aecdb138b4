import { deviceListTopic, type DeviceListChange } from '@axon/contracts-kafka';
import type { UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { SHARING_USERS, sharingUsers } from './memberships.repository';
import { advanceHead, BETWEEN } from './stream-positions.repository';

/** The latest device-list change per user from `hs.edu.device-list.v1`, at its bus position. */
export class DeviceListsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Records a device-list change (a removed device's inbox goes with it); returns the users
   * to wake (the owner and everyone sharing a room with them).
   */
  async apply(change: DeviceListChange, partition: number, offset: string): Promise<UserId[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO device_list_changes (user_id, partition, "offset") VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE device_list_changes.partition <> EXCLUDED.partition OR device_list_changes."offset" < EXCLUDED."offset"`,
        [change.user_id, partition, offset],
      );
      if (change.change === 'removed') await tx.query(`DELETE FROM to_device WHERE user_id = $1 AND device_id = $2`, [change.user_id, change.device_id]);
      await advanceHead(tx, deviceListTopic.name, partition, offset);
      return [...new Set([change.user_id as UserId, ...(await sharingUsers(tx, change.user_id))])];
    });
  }

  /** Users sharing a room with `userId` (and the user) whose device list changed in (`since`, `upTo`]. */
  async changedFor(userId: UserId, since: StreamPositions, upTo: StreamPositions): Promise<UserId[]> {
    const rows = await this.db.query<Array<{ user_id: UserId }>>(`SELECT user_id FROM device_list_changes WHERE user_id IN (SELECT $1 UNION ${SHARING_USERS}) AND ${BETWEEN(2, 3)}`, [
      userId,
      since,
      upTo,
    ]);
    return rows.map((row) => row.user_id);
  }
}
