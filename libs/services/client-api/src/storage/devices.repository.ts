import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage, Queryable } from './client-api-storage';

export interface DeviceRow {
  readonly device_id: DeviceId;
  readonly display_name: string | null;
  readonly last_seen_ts: number | null;
  readonly last_seen_ip: string | null;
}

interface RawDevice {
  device_id: DeviceId;
  display_name: string | null;
  last_seen_ts: string | null;
  last_seen_ip: string | null;
}

const toDevice = (r: RawDevice): DeviceRow => ({
  device_id: r.device_id,
  display_name: r.display_name,
  last_seen_ts: r.last_seen_ts === null ? null : Number(r.last_seen_ts),
  last_seen_ip: r.last_seen_ip,
});

/** Devices (`devices`); deleting one cascades to its access and refresh tokens. */
export class DevicesRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async list(userId: UserId): Promise<DeviceRow[]> {
    const rows = await this.storage.db.query<RawDevice[]>(
      `SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices WHERE user_id = $1 ORDER BY device_id`,
      [userId],
    );
    return rows.map(toDevice);
  }

  async find(userId: UserId, deviceId: DeviceId): Promise<DeviceRow | undefined> {
    const rows = await this.storage.db.query<RawDevice[]>(
      `SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices WHERE user_id = $1 AND device_id = $2`,
      [userId, deviceId],
    );
    return rows[0] && toDevice(rows[0]);
  }

  /**
   * Creates the device, or keeps an existing one of that ID (a login that names its
   * device ID takes the device over: its old tokens are revoked). `displayName` applies
   * to new devices, and to existing ones only when given. Answers whether the device is new.
   */
  async upsert(userId: UserId, deviceId: DeviceId, displayName: string | undefined, db: Queryable): Promise<{ created: boolean }> {
    // `xmax = 0` holds for a freshly inserted row and not for one the conflict updated.
    const rows = await db.query<{ created: boolean }[]>(
      `INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, device_id) DO UPDATE SET display_name = COALESCE($3, devices.display_name)
       RETURNING (xmax = 0) AS created`,
      [userId, deviceId, displayName ?? null, Date.now()],
    );
    await db.query(`DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2`, [userId, deviceId]);
    await db.query(`DELETE FROM refresh_tokens WHERE user_id = $1 AND device_id = $2`, [userId, deviceId]);
    return { created: rows[0]?.created === true };
  }

  /** `false` when the user has no such device. */
  async rename(userId: UserId, deviceId: DeviceId, displayName: string): Promise<boolean> {
    // UPDATE answers [rows, count] through TypeORM; a CTE makes it a plain row list.
    const rows = await this.storage.db.query<unknown[]>(
      `WITH renamed AS (UPDATE devices SET display_name = $3 WHERE user_id = $1 AND device_id = $2 RETURNING 1) SELECT 1 FROM renamed`,
      [userId, deviceId, displayName],
    );
    return rows.length === 1;
  }

  /** Deletes the devices (and, by cascade, their tokens); answers the IDs of those that existed. */
  async delete(userId: UserId, deviceIds: readonly DeviceId[], db: Queryable = this.storage.db): Promise<DeviceId[]> {
    const rows = await db.query<{ device_id: DeviceId }[]>(
      `WITH deleted AS (DELETE FROM devices WHERE user_id = $1 AND device_id = ANY($2::text[]) RETURNING device_id) SELECT device_id FROM deleted`,
      [userId, [...deviceIds]],
    );
    return rows.map((row) => row.device_id);
  }

  /** Deletes every device of the user except `keep` (and their tokens); answers the IDs deleted. */
  async deleteAllExcept(userId: UserId, keep: DeviceId | undefined, db: Queryable = this.storage.db): Promise<DeviceId[]> {
    const rows = await db.query<{ device_id: DeviceId }[]>(
      `WITH deleted AS (DELETE FROM devices WHERE user_id = $1 AND device_id IS DISTINCT FROM $2 RETURNING device_id) SELECT device_id FROM deleted`,
      [userId, keep ?? null],
    );
    return rows.map((row) => row.device_id);
  }

  async touch(userId: UserId, deviceId: DeviceId, ts: number, ip: string | undefined): Promise<void> {
    await this.storage.db.query(
      `UPDATE devices SET last_seen_ts = $3, last_seen_ip = $4 WHERE user_id = $1 AND device_id = $2`,
      [userId, deviceId, ts, ip ?? null],
    );
  }
}
