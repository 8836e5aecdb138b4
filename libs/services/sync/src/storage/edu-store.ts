import {
  deviceListTopic,
  presenceTopic,
  receiptTopic,
  toDeviceTopic,
  typingTopic,
  type DeviceListChange,
  type PresenceUpdate,
  type ReceiptUpdate,
  type ToDeviceMessages,
  type TypingUpdate,
} from '@axon/contracts-kafka';
import type { DataSource } from '@axon/platform-database';
import type { StreamPositions } from '../sync-token';
import { advanceHead, BETWEEN } from './positions';

export interface ReceiptRow {
  readonly room_id: string;
  readonly receipt_type: string;
  readonly user_id: string;
  readonly thread_id: string;
  readonly event_id: string;
  readonly ts: string;
}

export interface PresenceRow {
  readonly user_id: string;
  readonly presence: string;
  readonly status_msg: string | null;
  readonly last_active_ts: string;
  readonly currently_active: boolean;
}

export interface ToDeviceRow {
  readonly partition: number;
  readonly sender: string;
  readonly type: string;
  readonly content: string;
  readonly offset: string;
}

/** The joined members of rooms the user is joined to, the user included. */
const SHARING_USERS = `SELECT DISTINCT other.user_id FROM memberships mine JOIN memberships other ON other.room_id = mine.room_id
  WHERE mine.user_id = $1 AND mine.membership = 'join' AND other.membership = 'join'`;

/**
 * The sync read model of the EDU streams (receipts, typing, presence, to-device, device
 * lists). Every `apply*` runs in one transaction with the stream's applied position and is
 * idempotent: a redelivered message changes nothing.
 */
export class EduStore {
  constructor(readonly db: DataSource) {}

  /** Applies a receipt; returns the users to wake (the room's joined members). */
  async applyReceipt(update: ReceiptUpdate, partition: number, offset: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE
         SET event_id = EXCLUDED.event_id, ts = EXCLUDED.ts, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE receipts.partition <> EXCLUDED.partition OR receipts."offset" < EXCLUDED."offset"`,
        [update.room_id, update.receipt_type, update.user_id, update.thread_id ?? '', update.event_id, update.ts, partition, offset],
      );
      await advanceHead(tx, receiptTopic.name, partition, offset);
      if (update.receipt_type === 'm.read.private') return [update.user_id];
      return this.roomMembers(tx, update.room_id);
    });
  }

  /**
   * Applies a typing change; returns the users to wake, or none when it changed nothing (a
   * timeout's stop for a typing that was refreshed or stopped since).
   */
  async applyTyping(update: TypingUpdate, partition: number, offset: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      let changed: unknown[];
      if (update.typing) {
        changed = (await tx.query(
          `INSERT INTO typing (room_id, user_id, expires_at, partition, "offset") VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (room_id, user_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
           WHERE typing.partition <> EXCLUDED.partition OR typing."offset" < EXCLUDED."offset"
           RETURNING user_id`,
          [update.room_id, update.user_id, update.expires_at, partition, offset],
        )) as unknown[];
      } else {
        // A stop keeps the row (expires_at 0) so that the room's typing position moves. A
        // timeout's stop (expires_at > 0) only ends the typing it was armed for.
        changed = (await tx.query(
          `WITH stopped AS (
             UPDATE typing SET expires_at = 0, partition = $3, "offset" = $4
             WHERE room_id = $1 AND user_id = $2 AND expires_at <> 0 AND ($5::bigint = 0 OR expires_at = $5::bigint) AND "offset" < $4
             RETURNING user_id)
           SELECT user_id FROM stopped`,
          [update.room_id, update.user_id, partition, offset, update.expires_at],
        )) as unknown[];
      }
      await advanceHead(tx, typingTopic.name, partition, offset);
      return changed.length === 0 ? [] : this.roomMembers(tx, update.room_id);
    });
  }

  /**
   * Applies a presence change; returns the users to wake (everyone sharing a room with the
   * user), or none when only `last_active_ts` moved: a syncing client's activity refresh is
   * there for the next sync to read, not worth waking anyone for.
   */
  async applyPresence(update: PresenceUpdate, partition: number, offset: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const before = ((await tx.query(`SELECT presence, status_msg, currently_active FROM presence WHERE user_id = $1`, [update.user_id])) as Array<{
        presence: string;
        status_msg: string | null;
        currently_active: boolean;
      }>)[0];
      await tx.query(
        `INSERT INTO presence (user_id, presence, status_msg, last_active_ts, currently_active, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id) DO UPDATE SET presence = EXCLUDED.presence,
           status_msg = CASE WHEN $8 THEN EXCLUDED.status_msg ELSE presence.status_msg END,
           last_active_ts = EXCLUDED.last_active_ts, currently_active = EXCLUDED.currently_active, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE presence.partition <> EXCLUDED.partition OR presence."offset" < EXCLUDED."offset"`,
        [update.user_id, update.presence, update.status_msg ?? null, update.last_active_ts, update.currently_active, partition, offset, update.status_msg !== undefined],
      );
      await advanceHead(tx, presenceTopic.name, partition, offset);
      const refreshOnly =
        before !== undefined &&
        before.presence === update.presence &&
        before.currently_active === update.currently_active &&
        (update.status_msg === undefined || update.status_msg === before.status_msg);
      if (refreshOnly) return [];
      const rows = (await tx.query(SHARING_USERS, [update.user_id])) as Array<{ user_id: string }>;
      return [...new Set([update.user_id, ...rows.map((row) => row.user_id)])];
    });
  }

  /** Puts a to-device message into each addressed device's inbox (once per message ID). */
  async applyToDevice(message: ToDeviceMessages, partition: number, offset: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const [deviceId, content] of Object.entries(message.messages)) {
        await tx.query(
          `INSERT INTO to_device (user_id, device_id, message_id, sender, type, content, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING`,
          [message.recipient, deviceId, message.message_id, message.sender, message.type, JSON.stringify(content), partition, offset],
        );
      }
      await advanceHead(tx, toDeviceTopic.name, partition, offset);
    });
  }

  /**
   * Records a device-list change (a removed device's inbox goes with it); returns the users
   * to wake (the owner and everyone sharing a room with them).
   */
  async applyDeviceListChange(change: DeviceListChange, partition: number, offset: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO device_list_changes (user_id, partition, "offset") VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE device_list_changes.partition <> EXCLUDED.partition OR device_list_changes."offset" < EXCLUDED."offset"`,
        [change.user_id, partition, offset],
      );
      if (change.change === 'removed') await tx.query(`DELETE FROM to_device WHERE user_id = $1 AND device_id = $2`, [change.user_id, change.device_id]);
      await advanceHead(tx, deviceListTopic.name, partition, offset);
      const rows = (await tx.query(SHARING_USERS, [change.user_id])) as Array<{ user_id: string }>;
      return [...new Set([change.user_id, ...rows.map((row) => row.user_id)])];
    });
  }

  private async roomMembers(tx: { query(sql: string, params?: unknown[]): Promise<unknown> }, roomId: string): Promise<string[]> {
    const rows = (await tx.query(`SELECT user_id FROM memberships WHERE room_id = $1 AND membership = 'join'`, [roomId])) as Array<{ user_id: string }>;
    return rows.map((row) => row.user_id);
  }

  /** Receipts of the rooms changed in (`since`, `upTo`] (all of them without `since`). */
  async receipts(roomIds: readonly string[], since: StreamPositions | undefined, upTo: StreamPositions): Promise<ReceiptRow[]> {
    if (roomIds.length === 0) return [];
    return (await this.db.query(
      `SELECT room_id, receipt_type, user_id, thread_id, event_id, ts::text AS ts FROM receipts WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)} ORDER BY receipts."offset"`,
      [roomIds, since ?? upTo.map(() => -1), upTo],
    )) as ReceiptRow[];
  }

  /**
   * Per room among `roomIds` whose typing changed in (`since`, `upTo`] (without `since`,
   * every room that ever had typing): who is typing at `now`.
   */
  async typing(roomIds: readonly string[], since: StreamPositions | undefined, upTo: StreamPositions, now: number): Promise<Map<string, string[]>> {
    if (roomIds.length === 0) return new Map();
    // Rooms whose typing changed in the window; without `since`, every room with a row.
    const rows = (await this.db.query(
      `SELECT room_id, user_id, expires_at::text AS expires_at, "offset" <= ($3::bigint[])[partition + 1] AS visible FROM typing
       WHERE room_id IN (SELECT room_id FROM typing WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)}) ORDER BY user_id`,
      [roomIds, since ?? upTo.map(() => -1), upTo],
    )) as Array<{ room_id: string; user_id: string; expires_at: string; visible: boolean }>;
    const typing = new Map<string, string[]>();
    for (const row of rows) {
      const users = typing.get(row.room_id) ?? [];
      if (row.visible && Number(row.expires_at) > now) users.push(row.user_id);
      typing.set(row.room_id, users);
    }
    return typing;
  }

  /** Typing rows still running (after a restart, their timeouts are armed again). */
  async activeTyping(): Promise<Array<{ room_id: string; user_id: string; expires_at: number }>> {
    const rows = (await this.db.query(`SELECT room_id, user_id, expires_at::text AS expires_at FROM typing WHERE expires_at > 0`)) as Array<{ room_id: string; user_id: string; expires_at: string }>;
    return rows.map((row) => ({ ...row, expires_at: Number(row.expires_at) }));
  }

  /** Presence of the user and everyone sharing a room with them, changed in (`since`, `upTo`] (all without `since`). */
  async presenceFor(userId: string, since: StreamPositions | undefined, upTo: StreamPositions): Promise<PresenceRow[]> {
    return (await this.db.query(
      `SELECT user_id, presence, status_msg, last_active_ts::text AS last_active_ts, currently_active FROM presence
       WHERE user_id IN (SELECT $1 UNION ${SHARING_USERS}) AND ${BETWEEN(2, 3)} ORDER BY user_id`,
      [userId, since ?? upTo.map(() => -1), upTo],
    )) as PresenceRow[];
  }

  /** The presence of the users, as of `upTo`. */
  async presenceOfUsers(userIds: readonly string[], upTo: StreamPositions): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    return (await this.db.query(
      `SELECT user_id, presence, status_msg, last_active_ts::text AS last_active_ts, currently_active FROM presence WHERE user_id = ANY($1) AND ${BETWEEN(2, 3)} ORDER BY user_id`,
      [userIds, upTo.map(() => -1), upTo],
    )) as PresenceRow[];
  }

  async presenceOf(userId: string): Promise<PresenceRow | undefined> {
    const rows = (await this.db.query(`SELECT user_id, presence, status_msg, last_active_ts::text AS last_active_ts, currently_active FROM presence WHERE user_id = $1`, [userId])) as PresenceRow[];
    return rows[0];
  }

  /** Users who are online or unavailable (after a restart, their offline timers are armed again). */
  async presentUsers(): Promise<PresenceRow[]> {
    return (await this.db.query(
      `SELECT user_id, presence, status_msg, last_active_ts::text AS last_active_ts, currently_active FROM presence WHERE presence <> 'offline'`,
    )) as PresenceRow[];
  }

  /** Whether two users share a room both are joined to. */
  async shareRoom(userId: string, otherId: string): Promise<boolean> {
    const rows = (await this.db.query(
      `SELECT 1 FROM memberships a JOIN memberships b ON b.room_id = a.room_id
       WHERE a.user_id = $1 AND b.user_id = $2 AND a.membership = 'join' AND b.membership = 'join' LIMIT 1`,
      [userId, otherId],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Deletes the device's messages at or before `acked` (the client synced past them). */
  async ackToDevice(userId: string, deviceId: string, acked: StreamPositions): Promise<void> {
    await this.db.query(`WITH gone AS (DELETE FROM to_device WHERE user_id = $1 AND device_id = $2 AND "offset" <= ($3::bigint[])[partition + 1] RETURNING 1) SELECT count(*) FROM gone`, [
      userId,
      deviceId,
      acked,
    ]);
  }

  /** The device's messages in (`after`, `upTo`], at most `limit`, oldest first. */
  async toDeviceInbox(userId: string, deviceId: string, after: StreamPositions | undefined, upTo: StreamPositions, limit: number): Promise<ToDeviceRow[]> {
    return (await this.db.query(
      `SELECT partition, sender, type, content, "offset"::text AS "offset" FROM to_device WHERE user_id = $1 AND device_id = $2 AND ${BETWEEN(3, 4)} ORDER BY to_device."offset", message_id LIMIT $5`,
      [userId, deviceId, after ?? upTo.map(() => -1), upTo, limit],
    )) as ToDeviceRow[];
  }

  /** Membership changes of any user in the rooms, in (`since`, `upTo`]. */
  async roomMembershipChanges(roomIds: readonly string[], since: StreamPositions, upTo: StreamPositions): Promise<Array<{ room_id: string; user_id: string; membership: string }>> {
    if (roomIds.length === 0) return [];
    return (await this.db.query(`SELECT room_id, user_id, membership FROM membership_changes WHERE room_id = ANY($1) AND ${BETWEEN(2, 3)}`, [roomIds, since, upTo])) as Array<{
      room_id: string;
      user_id: string;
      membership: string;
    }>;
  }

  /** The joined members of the rooms. */
  async joinedMembers(roomIds: readonly string[]): Promise<Array<{ room_id: string; user_id: string }>> {
    if (roomIds.length === 0) return [];
    return (await this.db.query(`SELECT room_id, user_id FROM memberships WHERE room_id = ANY($1) AND membership = 'join'`, [roomIds])) as Array<{ room_id: string; user_id: string }>;
  }

  /** Of `userIds`, those sharing a joined room with `userId` now. */
  async stillSharing(userId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = (await this.db.query(`SELECT user_id FROM (${SHARING_USERS}) sharing WHERE user_id = ANY($2)`, [userId, userIds])) as Array<{ user_id: string }>;
    return new Set(rows.map((row) => row.user_id));
  }

  /** Users sharing a room with `userId` whose device list changed in (`since`, `upTo`]. */
  async deviceListChanges(userId: string, since: StreamPositions, upTo: StreamPositions): Promise<string[]> {
    const rows = (await this.db.query(`SELECT user_id FROM device_list_changes WHERE user_id IN (SELECT $1 UNION ${SHARING_USERS}) AND ${BETWEEN(2, 3)}`, [userId, since, upTo])) as Array<{
      user_id: string;
    }>;
    return rows.map((row) => row.user_id);
  }
}
