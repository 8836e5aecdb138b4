import { presenceTopic, type PresenceUpdate } from '@axon/contracts-kafka';
import type { UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { SHARING_USERS, sharingUsers } from './memberships.repository';
import { advanceHead, BETWEEN } from './stream-positions.repository';

export interface PresenceRow {
  readonly user_id: UserId;
  readonly presence: string;
  readonly status_msg: string | null;
  readonly last_active_ts: string;
  readonly currently_active: boolean;
}

const PRESENCE_COLUMNS = `user_id, presence, status_msg, last_active_ts::text AS last_active_ts, currently_active`;

/** Presence from `hs.edu.presence.v1`: the latest per user, at its bus position. */
export class PresenceRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Applies a presence update; returns the users to wake (the user and everyone sharing a
   * room with the user). An update that only moves `last_active_ts` (a syncing client's
   * once-a-minute activity refresh of a user who stays as they were) wakes no one and
   * keeps the row's bus position: it is no change for an incremental sync, which would
   * otherwise answer at once with it. Every idle client's long-poll did, twice per
   * timeout (the poll that refreshed, read-your-writes, and each other poll of the user
   * whose token was older), and so did every poll of a user's first sync after a
   * restart; Synapse does not notify such bumps either (`should_notify`). The time is
   * kept: `GET /presence`, initial syncs and users who only now share a room read it.
   */
  async apply(update: PresenceUpdate, partition: number, offset: string): Promise<UserId[]> {
    return this.db.transaction(async (tx) => {
      const before = (
        await tx.query<Array<{ presence: string; status_msg: string | null; currently_active: boolean; partition: number }>>(
          `SELECT presence, status_msg, currently_active, partition FROM presence WHERE user_id = $1`,
          [update.user_id],
        )
      )[0];
      const refreshOnly =
        before !== undefined &&
        before.partition === partition &&
        before.presence === update.presence &&
        before.currently_active === update.currently_active &&
        (update.status_msg === undefined || update.status_msg === before.status_msg);
      if (refreshOnly) {
        // Never back in time: a redelivered older refresh leaves a newer one in place.
        await tx.query(`UPDATE presence SET last_active_ts = GREATEST(last_active_ts, $2) WHERE user_id = $1`, [update.user_id, update.last_active_ts]);
      } else {
        await tx.query(
          `INSERT INTO presence (user_id, presence, status_msg, last_active_ts, currently_active, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (user_id) DO UPDATE SET presence = EXCLUDED.presence,
             status_msg = CASE WHEN $8 THEN EXCLUDED.status_msg ELSE presence.status_msg END,
             last_active_ts = EXCLUDED.last_active_ts, currently_active = EXCLUDED.currently_active, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
           WHERE presence.partition <> EXCLUDED.partition OR presence."offset" < EXCLUDED."offset"`,
          [update.user_id, update.presence, update.status_msg ?? null, update.last_active_ts, update.currently_active, partition, offset, update.status_msg !== undefined],
        );
      }
      await advanceHead(tx, presenceTopic.name, partition, offset);
      if (refreshOnly) return [];
      return [...new Set([update.user_id as UserId, ...(await sharingUsers(tx, update.user_id))])];
    });
  }

  /** Presence of the user and everyone sharing a room with them, changed in (`since`, `upTo`] (all without `since`). */
  async changedFor(userId: UserId, since: StreamPositions | undefined, upTo: StreamPositions): Promise<PresenceRow[]> {
    return this.db.query<PresenceRow[]>(`SELECT ${PRESENCE_COLUMNS} FROM presence WHERE user_id IN (SELECT $1 UNION ${SHARING_USERS}) AND ${BETWEEN(2, 3)} ORDER BY user_id`, [
      userId,
      since ?? upTo.map(() => -1),
      upTo,
    ]);
  }

  /** The presence of the users, as of `upTo`. */
  async ofUsers(userIds: readonly UserId[], upTo: StreamPositions): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    return this.db.query<PresenceRow[]>(`SELECT ${PRESENCE_COLUMNS} FROM presence WHERE user_id = ANY($1) AND ${BETWEEN(2, 3)} ORDER BY user_id`, [userIds, upTo.map(() => -1), upTo]);
  }

  async of(userId: UserId): Promise<PresenceRow | undefined> {
    const rows = await this.db.query<PresenceRow[]>(`SELECT ${PRESENCE_COLUMNS} FROM presence WHERE user_id = $1`, [userId]);
    return rows[0];
  }

  /** Users who are online or unavailable (after a restart, their offline timers are armed again). */
  async present(): Promise<PresenceRow[]> {
    return this.db.query<PresenceRow[]>(`SELECT ${PRESENCE_COLUMNS} FROM presence WHERE presence <> 'offline'`);
  }
}
