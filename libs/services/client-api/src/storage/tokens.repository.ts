import type { ClientApiStore, Queryable } from './client-api-store';

/** What an access token resolves to, with its account's state. */
export interface AccessTokenRow {
  readonly userId: string;
  readonly deviceId: string;
  readonly expiresTs: number | null;
  readonly isGuest: boolean;
}

/**
 * Access, refresh and login tokens, stored only as SHA-256 hashes (`token_hash`). An
 * access token resolves only while its device exists and its account is active.
 */
export class TokensRepository {
  constructor(private readonly store: ClientApiStore) {}

  async findAccess(tokenHash: string): Promise<AccessTokenRow | undefined> {
    const rows = await this.store.db.query<{ user_id: string; device_id: string; expires_ts: string | null; is_guest: boolean }[]>(
      `SELECT t.user_id, t.device_id, t.expires_ts, u.is_guest
       FROM access_tokens t JOIN users u ON u.user_id = t.user_id
       WHERE t.token_hash = $1 AND NOT u.deactivated`,
      [tokenHash],
    );
    const row = rows[0];
    return row && { userId: row.user_id, deviceId: row.device_id, expiresTs: row.expires_ts === null ? null : Number(row.expires_ts), isGuest: row.is_guest };
  }

  async insertAccess(tokenHash: string, userId: string, deviceId: string, expiresTs: number | null, db: Queryable): Promise<void> {
    await db.query(
      `INSERT INTO access_tokens (token_hash, user_id, device_id, expires_ts, created_ts) VALUES ($1, $2, $3, $4, $5)`,
      [tokenHash, userId, deviceId, expiresTs, Date.now()],
    );
  }

  async insertRefresh(tokenHash: string, userId: string, deviceId: string, db: Queryable): Promise<void> {
    await db.query(`INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)`, [
      tokenHash,
      userId,
      deviceId,
      Date.now(),
    ]);
  }

  /** Removes the refresh token and answers whose it was (single use: a second call finds nothing). */
  async takeRefresh(tokenHash: string, db: Queryable): Promise<{ userId: string; deviceId: string } | undefined> {
    const rows = await db.query<{ user_id: string; device_id: string }[]>(
      `WITH gone AS (DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING user_id, device_id)
       SELECT gone.user_id, gone.device_id FROM gone JOIN users u ON u.user_id = gone.user_id WHERE NOT u.deactivated`,
      [tokenHash],
    );
    const row = rows[0];
    return row && { userId: row.user_id, deviceId: row.device_id };
  }

  /** Revokes every access token of a device (on refresh: the previous ones). */
  async deleteDeviceAccess(userId: string, deviceId: string, db: Queryable): Promise<void> {
    await db.query(`DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2`, [userId, deviceId]);
  }

  async insertLogin(tokenHash: string, userId: string, expiresTs: number): Promise<void> {
    await this.store.db.query(`INSERT INTO login_tokens (token_hash, user_id, expires_ts) VALUES ($1, $2, $3)`, [tokenHash, userId, expiresTs]);
  }

  /** Consumes a login token: the user it was issued to if it was unused and unexpired. */
  async takeLogin(tokenHash: string, now: number): Promise<string | undefined> {
    const rows = await this.store.db.query<{ user_id: string; expires_ts: string }[]>(
      `WITH gone AS (DELETE FROM login_tokens WHERE token_hash = $1 OR expires_ts < $2 RETURNING token_hash, user_id, expires_ts)
       SELECT user_id, expires_ts FROM gone WHERE token_hash = $1`,
      [tokenHash, now],
    );
    const row = rows[0];
    return row && Number(row.expires_ts) >= now ? row.user_id : undefined;
  }
}
