import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { ClientApiStorage } from './client-api-storage';

/** What one room output changes in the directory: the room's public settings and its members. */
export interface DirectoryChange {
  readonly roomId: RoomId;
  readonly roomSeq: number;
  /** Set when the output changed the join rule or history visibility (`null`: the event has none). */
  readonly joinRule?: string | null;
  readonly historyVisibility?: string | null;
  /** Members whose membership the output set: joined ones with their member event's profile, the rest left. */
  readonly members: ReadonlyArray<{ readonly userId: string; readonly joined: boolean; readonly displayName: string | null; readonly avatarUrl: string | null }>;
}

export interface DirectoryEntry {
  readonly user_id: UserId;
  readonly display_name?: string;
  readonly avatar_url?: string;
}

/** A room counts as public for the directory, as the spec's search scope and Synapse's `is_room_world_readable_or_publicly_joinable` say. */
export function isPublicForDirectory(joinRule: string | null, historyVisibility: string | null): boolean {
  return joinRule === 'public' || historyVisibility === 'world_readable';
}

/**
 * The user directory's read model (`user_directory_rooms`, `user_directory_members`) and
 * its search. Profiles of local users come from their accounts (the global profile, as
 * Synapse's directory shows local users); remote users are known by their member events.
 */
export class UserDirectoryRepository {
  constructor(private readonly storage: ClientApiStorage) {}

  /**
   * Applies one room output's change in one transaction, unless the room has already seen
   * an output at or after `roomSeq` (a redelivery): outputs of a room arrive in order, so
   * `last_seq` tells what was applied.
   */
  async apply(change: DirectoryChange): Promise<boolean> {
    return this.storage.transaction(async (tx) => {
      const rows = await tx.query<{ last_seq: number; join_rule: string | null; history_visibility: string | null }[]>(
        `SELECT last_seq, join_rule, history_visibility FROM user_directory_rooms WHERE room_id = $1 FOR UPDATE`,
        [change.roomId],
      );
      const room = rows[0];
      if (room !== undefined && room.last_seq >= change.roomSeq) return false;
      const joinRule = change.joinRule !== undefined ? change.joinRule : (room?.join_rule ?? null);
      const historyVisibility = change.historyVisibility !== undefined ? change.historyVisibility : (room?.history_visibility ?? null);
      await tx.query(
        `INSERT INTO user_directory_rooms (room_id, is_public, join_rule, history_visibility, last_seq) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (room_id) DO UPDATE SET is_public = EXCLUDED.is_public, join_rule = EXCLUDED.join_rule,
           history_visibility = EXCLUDED.history_visibility, last_seq = EXCLUDED.last_seq`,
        [change.roomId, isPublicForDirectory(joinRule, historyVisibility), joinRule, historyVisibility, change.roomSeq],
      );
      for (const member of change.members) {
        if (member.joined) {
          await tx.query(
            `INSERT INTO user_directory_members (room_id, user_id, display_name, avatar_url) VALUES ($1, $2, $3, $4)
             ON CONFLICT (room_id, user_id) DO UPDATE SET display_name = EXCLUDED.display_name, avatar_url = EXCLUDED.avatar_url`,
            [change.roomId, member.userId, member.displayName, member.avatarUrl],
          );
        } else {
          await tx.query(`DELETE FROM user_directory_members WHERE room_id = $1 AND user_id = $2`, [change.roomId, member.userId]);
        }
      }
      return true;
    });
  }

  /**
   * Users visible to `searcher` (sharing a room with them, or joined to a public room)
   * whose user ID or display name has a word starting with each of `words`, best first:
   * those sharing a room, then those with a display name, then with an avatar. At most
   * `limit` (the caller asks for one more to tell whether the list was cut).
   */
  async search(searcher: UserId, words: readonly string[], limit: number): Promise<DirectoryEntry[]> {
    if (words.length === 0 || limit <= 0) return [];
    const parameters: unknown[] = [searcher, limit];
    const conditions = words.map((word) => {
      parameters.push(`(^|[^[:alnum:]_-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
      const p = `$${parameters.length}`;
      return `(p.user_id ~* ${p} OR coalesce(p.display_name, '') ~* ${p})`;
    });
    const rows = await this.storage.db.query<{ user_id: UserId; display_name: string | null; avatar_url: string | null }[]>(
      `WITH candidates AS (
         SELECT user_id, bool_or(shares) AS shares FROM (
           SELECT other.user_id, true AS shares FROM user_directory_members me
             JOIN user_directory_members other ON other.room_id = me.room_id
            WHERE me.user_id = $1 AND other.user_id <> $1
           UNION ALL
           SELECT m.user_id, false FROM user_directory_members m
             JOIN user_directory_rooms r ON r.room_id = m.room_id
            WHERE r.is_public
         ) visible GROUP BY user_id
       ), p AS (
         SELECT c.user_id, c.shares,
                CASE WHEN u.user_id IS NOT NULL THEN u.profile->>'displayname' ELSE remote.display_name END AS display_name,
                CASE WHEN u.user_id IS NOT NULL THEN u.profile->>'avatar_url' ELSE remote.avatar_url END AS avatar_url
           FROM candidates c
           LEFT JOIN users u ON u.user_id = c.user_id
           LEFT JOIN LATERAL (
             SELECT display_name, avatar_url FROM user_directory_members m
              WHERE m.user_id = c.user_id ORDER BY display_name IS NULL, room_id LIMIT 1
           ) remote ON u.user_id IS NULL
          WHERE u.user_id IS NULL OR (NOT u.deactivated AND NOT u.is_guest)
       )
       SELECT p.user_id, p.display_name, p.avatar_url FROM p
        WHERE ${conditions.join(' AND ')}
        ORDER BY p.shares DESC, (p.display_name IS NULL), (p.avatar_url IS NULL), p.user_id
        LIMIT $2`,
      parameters,
    );
    return rows.map((row) => ({
      user_id: row.user_id,
      ...(row.display_name !== null ? { display_name: row.display_name } : {}),
      ...(row.avatar_url !== null ? { avatar_url: row.avatar_url } : {}),
    }));
  }
}
