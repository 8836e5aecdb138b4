import type { UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** OpenID tokens (`openid_tokens`), stored as SHA-256 hashes with their expiry. */
export class OpenIdTokensRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  /** Records a token for `userId`, and drops the tokens that expired before `now`. */
  async insert(tokenHash: string, userId: UserId, expiresTs: number, now: number): Promise<void> {
    await this.storage.transaction(async (tx) => {
      await tx.query(`DELETE FROM openid_tokens WHERE expires_ts <= $1`, [now]);
      await tx.query(`INSERT INTO openid_tokens (token_hash, user_id, expires_ts) VALUES ($1, $2, $3)`, [tokenHash, userId, expiresTs]);
    });
  }

  /** The user a token was issued to while it is still valid at `now` (and its account active). */
  async userOf(tokenHash: string, now: number): Promise<UserId | undefined> {
    const rows = await this.storage.db.query<{ user_id: UserId }[]>(
      `SELECT t.user_id FROM openid_tokens t JOIN users u ON u.user_id = t.user_id
        WHERE t.token_hash = $1 AND t.expires_ts > $2 AND NOT u.deactivated`,
      [tokenHash, now],
    );
    return rows[0]?.user_id;
  }
}
