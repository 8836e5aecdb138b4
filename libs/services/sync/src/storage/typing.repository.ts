import { typingTopic, type TypingUpdate } from '@axon/contracts-kafka';
import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { joinedMembersOf } from './memberships.repository';
import { advanceHead, BETWEEN } from './stream-positions.repository';

/** Typing notifications from `hs.edu.typing.v1`: per (room, user) until when they type (0: stopped), at its bus position. */
export class TypingRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Applies a typing change; returns the users to wake, or none when it changed nothing (a
   * timeout's stop for a typing that was refreshed or stopped since).
   */
  async apply(update: TypingUpdate, partition: number, offset: string): Promise<UserId[]> {
    return this.db.transaction(async (tx) => {
      let changed: unknown[];
      if (update.typing) {
        changed = await tx.query<unknown[]>(
          `INSERT INTO typing (room_id, user_id, expires_at, partition, "offset") VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (room_id, user_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
           WHERE typing.partition <> EXCLUDED.partition OR typing."offset" < EXCLUDED."offset"
           RETURNING user_id`,
          [update.room_id, update.user_id, update.expires_at, partition, offset],
        );
      } else {
        // A stop keeps the row (expires_at 0) so that the room's typing position moves. A
        // timeout's stop (expires_at > 0) only ends the typing it was armed for.
        changed = await tx.query<unknown[]>(
          `WITH stopped AS (
             UPDATE typing SET expires_at = 0, partition = $3, "offset" = $4
             WHERE room_id = $1 AND user_id = $2 AND expires_at <> 0 AND ($5::bigint = 0 OR expires_at = $5::bigint) AND "offset" < $4
             RETURNING user_id)
           SELECT user_id FROM stopped`,
          [update.room_id, update.user_id, partition, offset, update.expires_at],
        );
      }
      await advanceHead(tx, typingTopic.name, partition, offset);
      return changed.length === 0 ? [] : joinedMembersOf(tx, update.room_id);
    });
  }

  /**
   * Per room among `roomIds` whose typing changed in (`since`, `upTo`] (without `since`,
   * every room that ever had typing): who is typing at `now`.
   */
  async typing(roomIds: readonly RoomId[], since: StreamPositions | undefined, upTo: StreamPositions, now: number): Promise<Map<RoomId, UserId[]>> {
    if (roomIds.length === 0) return new Map();
    const rows = await this.db.query<Array<{ room_id: RoomId; user_id: UserId; expires_at: string; visible: boolean }>>(
      `SELECT room_id, user_id, expires_at::text AS expires_at, "offset" <= ($3::bigint[])[partition + 1] AS visible FROM typing
       WHERE room_id IN (SELECT room_id FROM typing WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)}) ORDER BY user_id`,
      [roomIds, since ?? upTo.map(() => -1), upTo],
    );
    const typing = new Map<RoomId, UserId[]>();
    for (const row of rows) {
      const users = typing.get(row.room_id) ?? [];
      if (row.visible && Number(row.expires_at) > now) users.push(row.user_id);
      typing.set(row.room_id, users);
    }
    return typing;
  }

  /** Typing rows still running (after a restart, their timeouts are armed again). */
  async active(): Promise<Array<{ room_id: string; user_id: string; expires_at: number }>> {
    const rows = await this.db.query<Array<{ room_id: string; user_id: string; expires_at: string }>>(`SELECT room_id, user_id, expires_at::text AS expires_at FROM typing WHERE expires_at > 0`);
    return rows.map((row) => ({ ...row, expires_at: Number(row.expires_at) }));
  }
}
