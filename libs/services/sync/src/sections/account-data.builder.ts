import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { EventFilter } from '@axon/matrix-filters';
import type { AccountDataRepository, AccountDataRow } from '../storage/account-data.repository';
import type { PublicOf } from '../storage/sync-repositories';
import type { SyncToken } from '../sync-token';
import { filtered, MEMORY_LIMIT, unchanged, type Json } from './sync-window';

/**
 * Account data for a sync: the user's entries that changed in the window (global ones at
 * the top level, a room's in its section), and the users they ignore
 * (`m.ignored_user_list`), whose events and invites the other sections leave out.
 */
export class AccountDataBuilder {
  /** Per user, the ignored users as of the account data positions they were read at. */
  private readonly ignoredCache = new Map<UserId, { at: string; users: ReadonlySet<UserId> }>();

  constructor(private readonly accountData: PublicOf<AccountDataRepository>) {}

  /** The user's entries changed after `since` (all of them on an initial sync). */
  async changed(userId: UserId, since: SyncToken | undefined, heads: SyncToken): Promise<AccountDataRow[]> {
    return unchanged(since, heads, 'accountData') ? [] : this.accountData.changed(userId, since?.accountData, heads.accountData);
  }

  /** The events of `roomId`'s entries among `rows` (global ones for `''`) that `filter` lets through. */
  events(filter: EventFilter, rows: readonly AccountDataRow[], roomId: RoomId | '', userId: UserId): Json[] {
    return filtered(
      filter,
      rows.filter((entry) => entry.room_id === roomId).map((entry) => ({ type: entry.type, content: JSON.parse(entry.content) as Json })),
      () => userId,
    );
  }

  /** The users `userId` ignores, read again only when account data moved. */
  async ignored(userId: UserId, heads: SyncToken): Promise<ReadonlySet<UserId>> {
    const at = heads.accountData.join('.');
    const cached = this.ignoredCache.get(userId);
    if (cached?.at === at) return cached.users;
    const users = ignoredUsers(await this.accountData.get(userId, '', 'm.ignored_user_list'));
    if (this.ignoredCache.size >= MEMORY_LIMIT) this.ignoredCache.clear();
    this.ignoredCache.set(userId, { at, users });
    return users;
  }
}

/**
 * The users in an `m.ignored_user_list` content (its `ignored_users` keys). Kept as the
 * user stored them: they are only compared with senders, never sent on.
 */
export function ignoredUsers(content: Json | undefined): ReadonlySet<UserId> {
  const users = content?.['ignored_users'];
  return new Set(typeof users === 'object' && users !== null && !Array.isArray(users) ? (Object.keys(users) as UserId[]) : []);
}
