import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { GroupCommit } from '@axon/platform-database';
import type { ClientApiStorage, Queryable } from './client-api-storage';

/** What an access token resolves to, with its account's state. */
export interface AccessTokenRow {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly expiresTs: number | null;
  readonly isGuest: boolean;
  /** The refresh token issued with this access token, if any. */
  readonly refreshTokenHash: string | null;
  /** Whether this token's first use must revoke the refresh token its refresh token replaced. */
  readonly revokesPredecessor: boolean;
}

/**
 * Access, refresh and login tokens, stored only as SHA-256 hashes (`token_hash`). An
 * access token resolves only while its device exists and its account is active.
 */
export class TokensRepository {
  /**
   * Every request looks its token up: lookups that arrive while one runs go together in
   * the next query (one statement for many requests under load, none added when alone).
   * Each lookup still runs after its request arrived, so it sees every logout or
   * deactivation committed before: this is not a cache.
   */
  private readonly lookups = new GroupCommit<string, AccessTokenRow | undefined>((hashes) => this.findAccessMany(hashes), { maxWeight: 500 });

  constructor(private readonly storage: ClientApiStorage) {}

  findAccess(tokenHash: string): Promise<AccessTokenRow | undefined> {
    return this.lookups.submit(tokenHash);
  }

  private async findAccessMany(tokenHashes: readonly string[]): Promise<Array<AccessTokenRow | undefined>> {
    const rows = await this.storage.db.query<
      {
        token_hash: string;
        user_id: string;
        device_id: string;
        expires_ts: string | null;
        is_guest: boolean;
        refresh_token_hash: string | null;
        revokes_predecessor: boolean;
      }[]
    >(
      `SELECT t.token_hash, t.user_id, t.device_id, t.expires_ts, u.is_guest, t.refresh_token_hash, t.revokes_predecessor
       FROM access_tokens t JOIN users u ON u.user_id = t.user_id
       WHERE t.token_hash = ANY($1::text[]) AND NOT u.deactivated`,
      [[...new Set(tokenHashes)]],
    );
    const found = new Map(
      rows.map((row): [string, AccessTokenRow] => [
        row.token_hash,
        {
          // Written only from parsed identifiers (registration, login), so read back as such.
          userId: row.user_id as UserId,
          deviceId: row.device_id as DeviceId,
          expiresTs: row.expires_ts === null ? null : Number(row.expires_ts),
          isGuest: row.is_guest,
          refreshTokenHash: row.refresh_token_hash,
          revokesPredecessor: row.revokes_predecessor,
        },
      ]),
    );
    return tokenHashes.map((hash) => found.get(hash));
  }

  async insertAccess(
    tokenHash: string,
    owner: { userId: UserId; deviceId: DeviceId },
    options: { expiresTs: number | null; refreshTokenHash: string | null; revokesPredecessor: boolean },
    db: Queryable,
  ): Promise<void> {
    await db.query(
      `INSERT INTO access_tokens (token_hash, user_id, device_id, expires_ts, refresh_token_hash, revokes_predecessor, created_ts)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [tokenHash, owner.userId, owner.deviceId, options.expiresTs, options.refreshTokenHash, options.revokesPredecessor, Date.now()],
    );
  }

  async insertRefresh(tokenHash: string, userId: UserId, deviceId: DeviceId, db: Queryable): Promise<void> {
    await db.query(`INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)`, [
      tokenHash,
      userId,
      deviceId,
      Date.now(),
    ]);
  }

  /** Locks the refresh token's row for the refresh and answers whose it is (active accounts only). */
  async lockRefresh(tokenHash: string, db: Queryable): Promise<{ userId: UserId; deviceId: DeviceId; supersededBy: string | null } | undefined> {
    const rows = await db.query<{ user_id: UserId; device_id: DeviceId; superseded_by: string | null }[]>(
      `SELECT r.user_id, r.device_id, r.superseded_by FROM refresh_tokens r JOIN users u ON u.user_id = r.user_id
       WHERE r.token_hash = $1 AND NOT u.deactivated FOR UPDATE OF r`,
      [tokenHash],
    );
    const row = rows[0];
    return row && { userId: row.user_id, deviceId: row.device_id, supersededBy: row.superseded_by };
  }

  /** Revokes a refresh token and the access tokens issued with it. */
  async deleteRefresh(tokenHash: string, db: Queryable): Promise<void> {
    await db.query(`DELETE FROM access_tokens WHERE refresh_token_hash = $1`, [tokenHash]);
    await db.query(`DELETE FROM refresh_tokens WHERE token_hash = $1`, [tokenHash]);
  }

  /** Revokes the access tokens issued with a refresh token (the refresh token itself stays). */
  async deleteAccessOfRefresh(refreshTokenHash: string, db: Queryable): Promise<void> {
    await db.query(`DELETE FROM access_tokens WHERE refresh_token_hash = $1`, [refreshTokenHash]);
  }

  async supersede(tokenHash: string, successorHash: string, db: Queryable): Promise<void> {
    await db.query(`UPDATE refresh_tokens SET superseded_by = $2 WHERE token_hash = $1`, [tokenHash, successorHash]);
  }

  /**
   * The refresh token `refreshTokenHash` (or its access token) was used: the refresh
   * token it replaced is revoked now, as the spec's POST /refresh says.
   */
  async revokePredecessor(refreshTokenHash: string, db: Queryable = this.storage.db): Promise<void> {
    await db.query(`DELETE FROM refresh_tokens WHERE superseded_by = $1`, [refreshTokenHash]);
    await db.query(`UPDATE access_tokens SET revokes_predecessor = false WHERE refresh_token_hash = $1`, [refreshTokenHash]);
  }

  async insertLogin(tokenHash: string, userId: UserId, expiresTs: number): Promise<void> {
    await this.storage.db.query(`INSERT INTO login_tokens (token_hash, user_id, expires_ts) VALUES ($1, $2, $3)`, [tokenHash, userId, expiresTs]);
  }

  /** Consumes a login token: the user it was issued to if it was unused and unexpired. */
  async takeLogin(tokenHash: string, now: number): Promise<UserId | undefined> {
    const rows = await this.storage.db.query<{ user_id: UserId; expires_ts: string }[]>(
      `WITH gone AS (DELETE FROM login_tokens WHERE token_hash = $1 OR expires_ts < $2 RETURNING token_hash, user_id, expires_ts)
       SELECT user_id, expires_ts FROM gone WHERE token_hash = $1`,
      [tokenHash, now],
    );
    const row = rows[0];
    return row && Number(row.expires_ts) >= now ? row.user_id : undefined;
  }
}
