import type { UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage, Queryable } from './client-api-storage';

export interface UserRow {
  readonly userId: UserId;
  readonly passwordHash: string | null;
  readonly isGuest: boolean;
  readonly isAdmin: boolean;
  readonly deactivated: boolean;
}

export type Profile = Readonly<Record<string, unknown>>;

interface RawUser {
  user_id: UserId;
  password_hash: string | null;
  is_guest: boolean;
  is_admin: boolean;
  deactivated: boolean;
}

const toUser = (r: RawUser): UserRow => ({
  userId: r.user_id,
  passwordHash: r.password_hash,
  isGuest: r.is_guest,
  isAdmin: r.is_admin,
  deactivated: r.deactivated,
});

/** Accounts and their profiles (`users`). */
export class UsersRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async find(userId: UserId, db: Queryable = this.storage.db): Promise<UserRow | undefined> {
    const rows = await db.query<RawUser[]>(
      `SELECT user_id, password_hash, is_guest, is_admin, deactivated FROM users WHERE user_id = $1`,
      [userId],
    );
    return rows[0] && toUser(rows[0]);
  }

  /** Inserts the account; `false` when the user ID is taken. */
  async insert(
    user: { userId: UserId; passwordHash: string | null; isGuest: boolean; isAdmin: boolean; profile: Profile },
    db: Queryable = this.storage.db,
  ): Promise<boolean> {
    const rows = await db.query<unknown[]>(
      `INSERT INTO users (user_id, password_hash, is_guest, is_admin, profile, created_ts)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT (user_id) DO NOTHING RETURNING 1`,
      [user.userId, user.passwordHash, user.isGuest, user.isAdmin, JSON.stringify(user.profile), Date.now()],
    );
    return rows.length === 1;
  }

  async setPasswordHash(userId: UserId, passwordHash: string, db: Queryable = this.storage.db): Promise<void> {
    await db.query(`UPDATE users SET password_hash = $2 WHERE user_id = $1`, [userId, passwordHash]);
  }

  /** Marks the account deactivated, wipes its password and profile. */
  async deactivate(userId: UserId, db: Queryable): Promise<void> {
    await db.query(`UPDATE users SET deactivated = true, password_hash = NULL, profile = '{}'::jsonb WHERE user_id = $1`, [userId]);
  }

  /** The profile of an existing, active account; `undefined` otherwise. */
  async profile(userId: UserId): Promise<Profile | undefined> {
    const rows = await this.storage.db.query<{ profile: Profile }[]>(
      `SELECT profile FROM users WHERE user_id = $1 AND NOT deactivated`,
      [userId],
    );
    return rows[0]?.profile;
  }

  /** Sets (value) or removes (undefined) one profile field. */
  async setProfileField(userId: UserId, key: string, value: unknown): Promise<void> {
    await this.storage.db.query(
      value === undefined
        ? `UPDATE users SET profile = profile - $2::text WHERE user_id = $1`
        : `UPDATE users SET profile = jsonb_set(profile, ARRAY[$2::text], $3::jsonb) WHERE user_id = $1`,
      value === undefined ? [userId, key] : [userId, key, JSON.stringify(value)],
    );
  }
}
