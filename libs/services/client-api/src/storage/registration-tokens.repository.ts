import type { ClientApiStorage, Queryable } from './client-api-storage';

/** How many registrations each configured registration token has completed. */
export class RegistrationTokensRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async completed(token: string): Promise<number> {
    const rows = await this.storage.db.query<{ completed: number }[]>(`SELECT completed FROM registration_token_uses WHERE token = $1`, [token]);
    return Number(rows[0]?.completed ?? 0);
  }

  /**
   * Counts one completed registration with the token if it has uses left (`usesAllowed`
   * undefined: unlimited); `false` when it has none. Atomic, so concurrent registrations
   * never overspend a token.
   */
  async use(token: string, usesAllowed: number | undefined, db: Queryable): Promise<boolean> {
    if (usesAllowed !== undefined && usesAllowed <= 0) return false;
    const rows = await db.query<unknown[]>(
      `INSERT INTO registration_token_uses AS r (token, completed) VALUES ($1, 1)
       ON CONFLICT (token) DO UPDATE SET completed = r.completed + 1
       WHERE $2::integer IS NULL OR r.completed < $2::integer
       RETURNING 1`,
      [token, usesAllowed ?? null],
    );
    return rows.length === 1;
  }
}
