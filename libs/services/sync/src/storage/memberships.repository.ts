import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { DataSource, EntityManager } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { BETWEEN } from './stream-positions.repository';

/** One membership change of a user, at its bus position. */
export interface MembershipChange {
  readonly room_id: RoomId;
  readonly membership: string;
  readonly event_id: EventId;
  readonly partition: number;
  readonly offset: string;
}

/**
 * SQL: the joined members of rooms user `$1` is joined to, the user included. The read
 * model holds only IDs the room server accepted, so its rows are branded as they are read.
 */
export const SHARING_USERS = `SELECT DISTINCT other.user_id FROM memberships mine JOIN memberships other ON other.room_id = mine.room_id
  WHERE mine.user_id = $1 AND mine.membership = 'join' AND other.membership = 'join'`;

/** The users sharing a joined room with `userId` (themselves included), in `tx`. */
export async function sharingUsers(tx: EntityManager | DataSource, userId: string): Promise<UserId[]> {
  const rows = await tx.query<Array<{ user_id: UserId }>>(SHARING_USERS, [userId]);
  return rows.map((row) => row.user_id);
}

/** The joined members of a room, in `tx`. */
export async function joinedMembersOf(tx: EntityManager | DataSource, roomId: string): Promise<UserId[]> {
  const rows = await tx.query<Array<{ user_id: UserId }>>(`SELECT user_id FROM memberships WHERE room_id = $1 AND membership = 'join'`, [roomId]);
  return rows.map((row) => row.user_id);
}

/**
 * Memberships in the sync read model: each user's membership per room now (`memberships`)
 * and every change at its bus position (`membership_changes`). Written by
 * `RoomEventsRepository.apply` with the event that changed them.
 */
export class MembershipsRepository {
  constructor(private readonly db: DataSource) {}

  /** The user's memberships now: room → membership. */
  async ofUser(userId: UserId): Promise<Map<RoomId, string>> {
    const rows = await this.db.query<Array<{ room_id: RoomId; membership: string }>>(`SELECT room_id, membership FROM memberships WHERE user_id = $1`, [userId]);
    return new Map(rows.map((row) => [row.room_id, row.membership]));
  }

  /**
   * The user's membership changes after `since` and up to `upTo`, each room's in the room's
   * order (its events' sequence: a room's changes may be in two partitions once the
   * partition count was raised, and offsets only order one partition).
   */
  async changesOfUser(userId: UserId, since: StreamPositions, upTo: StreamPositions): Promise<MembershipChange[]> {
    return this.db.query<MembershipChange[]>(
      `SELECT m.room_id, m.membership, m.event_id, m.partition, m."offset"::text AS "offset"
       FROM membership_changes m JOIN room_events e ON e.event_id = m.event_id
       WHERE m.user_id = $1 AND ${BETWEEN(2, 3, 'm')} ORDER BY m.room_id, e.room_seq`,
      [userId, since, upTo],
    );
  }

  /** Membership changes of any user in the rooms, in (`since`, `upTo`]. */
  async changesInRooms(roomIds: readonly RoomId[], since: StreamPositions, upTo: StreamPositions): Promise<Array<{ room_id: RoomId; user_id: UserId; membership: string }>> {
    if (roomIds.length === 0) return [];
    return this.db.query(`SELECT room_id, user_id, membership FROM membership_changes WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)}`, [roomIds, since, upTo]);
  }

  /** The joined members of the rooms. */
  async joinedMembers(roomIds: readonly RoomId[]): Promise<Array<{ room_id: RoomId; user_id: UserId }>> {
    if (roomIds.length === 0) return [];
    return this.db.query(`SELECT room_id, user_id FROM memberships WHERE room_id = ANY($1) AND membership = 'join'`, [roomIds]);
  }

  /** Of `userIds`, those sharing a joined room with `userId` now. */
  async stillSharing(userId: UserId, userIds: readonly UserId[]): Promise<Set<UserId>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db.query<Array<{ user_id: UserId }>>(`SELECT user_id FROM (${SHARING_USERS}) sharing WHERE user_id = ANY($2)`, [userId, userIds]);
    return new Set(rows.map((row) => row.user_id));
  }

  /** Whether two users share a room both are joined to. */
  async shareRoom(userId: UserId, otherId: UserId): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `SELECT 1 FROM memberships a JOIN memberships b ON b.room_id = a.room_id
       WHERE a.user_id = $1 AND b.user_id = $2 AND a.membership = 'join' AND b.membership = 'join' LIMIT 1`,
      [userId, otherId],
    );
    return rows.length > 0;
  }

  /**
   * Per room of `roomIds` that has any, its joined and invited counts and its first joined
   * or invited users by ID (the heroes' candidates, `heroes` of them), in one query.
   */
  async countsOf(roomIds: readonly RoomId[], heroes: number): Promise<Map<RoomId, MemberCounts>> {
    if (roomIds.length === 0) return new Map();
    const rows = await this.db.query<Array<{ room_id: RoomId; joined: number; invited: number; heroes: UserId[] }>>(
      `SELECT r.room_id, c.joined, c.invited, h.heroes FROM unnest($1::text[]) AS r(room_id)
       CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE m.membership = 'join')::int AS joined, count(*) FILTER (WHERE m.membership = 'invite')::int AS invited
         FROM memberships m WHERE m.room_id = r.room_id AND m.membership IN ('join', 'invite')) c
       CROSS JOIN LATERAL (
         SELECT coalesce(array_agg(x.user_id ORDER BY x.user_id), '{}') AS heroes FROM (
           SELECT m.user_id FROM memberships m WHERE m.room_id = r.room_id AND m.membership IN ('join', 'invite') ORDER BY m.user_id LIMIT $2) x) h
       WHERE c.joined + c.invited > 0`,
      [roomIds, heroes],
    );
    return new Map(rows.map((row) => [row.room_id, { joined: row.joined, invited: row.invited, heroes: row.heroes }]));
  }
}

/** A room's member counts for its summary, and its first members by ID. */
export interface MemberCounts {
  readonly joined: number;
  readonly invited: number;
  readonly heroes: readonly UserId[];
}
