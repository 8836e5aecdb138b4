import type { UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** Filters uploaded with `POST /user/{userId}/filter`; IDs are decimal strings. */
export class FiltersRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  async insert(userId: UserId, filter: unknown): Promise<string> {
    const rows = await this.storage.db.query<{ filter_id: string }[]>(
      `INSERT INTO filters (user_id, filter) VALUES ($1, $2::jsonb) RETURNING filter_id::text AS filter_id`,
      [userId, JSON.stringify(filter)],
    );
    return rows[0]!.filter_id;
  }

  async find(userId: UserId, filterId: string): Promise<unknown> {
    if (!/^\d{1,18}$/.test(filterId)) return undefined;
    const rows = await this.storage.db.query<{ filter: unknown }[]>(`SELECT filter FROM filters WHERE user_id = $1 AND filter_id = $2`, [
      userId,
      filterId,
    ]);
    return rows[0]?.filter;
  }
}
