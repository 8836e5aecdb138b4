import { accountDataTopic, roomOutputTopic, type AccountDataUpdate, type RoomOutput } from '@axon/contracts-kafka';
import type { VisibilityEvent } from '@axon/matrix-events';
import type { DataSource } from '@axon/platform-database';
import { emptySyncToken, SYNC_STREAMS, type StreamName, type StreamPositions, type SyncToken } from '../sync-token';
import { advanceHead, BETWEEN } from './positions';

/** A room event in the sync read model. */
export interface SyncEvent {
  readonly room_id: string;
  readonly room_seq: number;
  readonly partition: number;
  readonly offset: string;
  readonly event_id: string;
  readonly room_version: string;
  readonly stream_ordering: string;
  readonly type: string;
  readonly state_key: string | null;
  readonly sender: string;
  readonly pdu_json: string;
  readonly redacted_by: string | null;
}

function columns(alias?: string): string {
  const p = alias === undefined ? '' : `${alias}.`;
  return `${p}room_id, ${p}room_seq, ${p}partition, ${p}"offset"::text AS "offset", ${p}event_id, ${p}room_version, ${p}stream_ordering::text AS stream_ordering, ${p}type, ${p}state_key, ${p}sender, ${p}pdu_json, ${p}redacted_by`;
}

const EVENT_COLUMNS = columns();

/**
 * The sync service's SQL (schema `sync`). `apply` is idempotent per (room, room sequence):
 * a redelivered output changes nothing.
 */
export class SyncStore {
  constructor(readonly db: DataSource) {}

  /** Applies one `hs.room.output.v1` message; returns the users whose syncs it concerns. */
  async apply(output: RoomOutput, partition: number, offset: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const inserted = (await tx.query(
        `INSERT INTO room_events (room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, state_key, sender, pdu_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING event_id`,
        [output.room_id, output.room_seq, partition, offset, output.event_id, output.room_version, output.stream_ordering, ...this.eventFields(output.pdu_json)],
      )) as unknown[];
      await advanceHead(tx, roomOutputTopic.name, partition, offset);
      if (inserted.length === 0) return [];
      const pdu = JSON.parse(output.pdu_json) as { content?: Record<string, unknown> };
      if (output.redacted_event_id !== undefined) {
        await tx.query(`UPDATE room_events SET redacted_by = $2 WHERE event_id = $1 AND room_id = $3 AND redacted_by IS NULL`, [output.redacted_event_id, output.event_id, output.room_id]);
      }
      for (const [type, stateKey] of output.state_removed) {
        await tx.query(`DELETE FROM room_state WHERE room_id = $1 AND type = $2 AND state_key = $3`, [output.room_id, type, stateKey]);
      }
      const affected = new Set<string>();
      for (const [type, stateKey, eventId] of output.state_added) {
        await tx.query(
          `INSERT INTO room_state (room_id, type, state_key, event_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id`,
          [output.room_id, type, stateKey, eventId],
        );
        if (type === 'm.room.member' && eventId === output.event_id) {
          const membership = typeof pdu.content?.['membership'] === 'string' ? pdu.content['membership'] : 'leave';
          await tx.query(
            `INSERT INTO memberships (user_id, room_id, membership) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, room_id) DO UPDATE SET membership = EXCLUDED.membership`,
            [stateKey, output.room_id, membership],
          );
          await tx.query(`INSERT INTO membership_changes (user_id, room_id, membership, event_id, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, [
            stateKey,
            output.room_id,
            membership,
            eventId,
            partition,
            offset,
          ]);
          affected.add(stateKey);
        }
      }
      const members = (await tx.query(`SELECT user_id FROM memberships WHERE room_id = $1 AND membership IN ('join', 'invite', 'knock')`, [output.room_id])) as Array<{ user_id: string }>;
      for (const member of members) affected.add(member.user_id);
      return [...affected];
    });
  }

  private eventFields(pduJson: string): [string, string | null, string, string] {
    const pdu = JSON.parse(pduJson) as { type: string; state_key?: string; sender: string };
    return [pdu.type, pdu.state_key ?? null, pdu.sender, pduJson];
  }

  /**
   * Applies one `hs.account-data.v1` message (the newest position wins, so a redelivered
   * older one changes nothing).
   */
  async applyAccountData(update: AccountDataUpdate, partition: number, offset: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO account_data (user_id, room_id, type, content, partition, "offset") VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset"
         WHERE account_data.partition <> EXCLUDED.partition OR account_data."offset" < EXCLUDED."offset"`,
        [update.user_id, update.room_id, update.type, JSON.stringify(update.content), partition, offset],
      );
      await advanceHead(tx, accountDataTopic.name, partition, offset);
    });
  }

  /** A user's account data changed after `since` up to `upTo` (all of it without `since`). */
  async accountData(userId: string, since: StreamPositions | undefined, upTo: StreamPositions): Promise<Array<{ room_id: string; type: string; content: string }>> {
    return (await this.db.query(`SELECT room_id, type, content FROM account_data WHERE user_id = $1 AND ${BETWEEN(2, 3)} ORDER BY account_data."offset"`, [
      userId,
      since ?? upTo.map(() => -1),
      upTo,
    ])) as Array<{ room_id: string; type: string; content: string }>;
  }

  /** One account data entry's content now (global when `roomId` is empty). */
  async accountDataOf(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
    const rows = (await this.db.query(`SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3`, [userId, roomId, type])) as Array<{ content: string }>;
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].content) as Record<string, unknown>);
  }

  /** How far every partition of every sync stream has been applied: the newest token. */
  async heads(): Promise<SyncToken> {
    const rows = (await this.db.query(`SELECT topic, partition, "offset"::text AS "offset" FROM stream_heads`)) as Array<{ topic: string; partition: number; offset: string }>;
    const token = emptySyncToken() as Record<StreamName, number[]>;
    const byTopic = new Map<string, number[]>(SYNC_STREAMS.map(([name, topic]) => [topic.name, token[name]]));
    for (const row of rows) {
      const positions = byTopic.get(row.topic);
      if (positions !== undefined && row.partition < positions.length) positions[row.partition] = Number(row.offset);
    }
    return token;
  }

  /** The user's memberships now: room → membership. */
  async memberships(userId: string): Promise<Map<string, string>> {
    const rows = (await this.db.query(`SELECT room_id, membership FROM memberships WHERE user_id = $1`, [userId])) as Array<{ room_id: string; membership: string }>;
    return new Map(rows.map((row) => [row.room_id, row.membership]));
  }

  /** The user's membership changes after `since` and up to `upTo`, oldest first. */
  async membershipChanges(userId: string, since: StreamPositions, upTo: StreamPositions): Promise<Array<{ room_id: string; membership: string; event_id: string; partition: number; offset: string }>> {
    return (await this.db.query(
      `SELECT room_id, membership, event_id, partition, "offset"::text AS "offset" FROM membership_changes
       WHERE user_id = $1 AND ${BETWEEN(2, 3)} ORDER BY partition, membership_changes."offset"`,
      [userId, since, upTo],
    )) as Array<{ room_id: string; membership: string; event_id: string; partition: number; offset: string }>;
  }

  /** A room's events in (`after`, `upTo`] of its partition, the newest `limit` (plus one, to tell `limited`). */
  async timeline(roomId: string, partition: number, after: number, upTo: number, limit: number, ignoredSenders: readonly string[] = [], beforeSeq = Number.MAX_SAFE_INTEGER): Promise<SyncEvent[]> {
    // Ignored users' events are left out, except state events (the room's state is everyone's).
    const rows = (await this.db.query(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND partition = $2 AND "offset" > $3 AND "offset" <= $4
         AND (state_key IS NOT NULL OR sender <> ALL($6::text[])) AND room_seq < $7::bigint
       ORDER BY room_events.room_seq DESC LIMIT $5`,
      [roomId, partition, after, upTo, limit + 1, ignoredSenders, beforeSeq],
    )) as SyncEvent[];
    return rows.reverse();
  }

  /** A room's state events in (`after`, `before`) by room sequence, newest per key. */
  async stateChanges(roomId: string, afterSeq: number, beforeSeq: number): Promise<SyncEvent[]> {
    return (await this.db.query(
      `SELECT DISTINCT ON (type, state_key) ${EVENT_COLUMNS} FROM room_events
       WHERE room_id = $1 AND room_seq > $2::bigint AND room_seq < $3::bigint AND state_key IS NOT NULL
       ORDER BY type, state_key, room_events.room_seq DESC`,
      [roomId, afterSeq, beforeSeq],
    )) as SyncEvent[];
  }

  /** The room's state just before `beforeSeq` (the current state with later changes undone), or only its `type` events of `stateKeys`. */
  async stateBefore(roomId: string, beforeSeq: number, type?: string, stateKeys?: readonly string[]): Promise<SyncEvent[]> {
    const only = type === undefined ? '' : ' AND type = $3 AND state_key = ANY($4)';
    return (await this.db.query(
      `SELECT DISTINCT ON (type, state_key) ${EVENT_COLUMNS} FROM room_events
       WHERE room_id = $1 AND room_seq < $2::bigint AND state_key IS NOT NULL${only}
       ORDER BY type, state_key, room_events.room_seq DESC`,
      type === undefined ? [roomId, beforeSeq] : [roomId, beforeSeq, type, stateKeys ?? []],
    )) as SyncEvent[];
  }

  /** The room's history visibility and `userId`'s membership just before `beforeSeq` (their PDUs; absent ones left out). */
  async visibilityStateBefore(roomId: string, beforeSeq: number, userId: string): Promise<VisibilityEvent[]> {
    const rows = (await this.db.query(
      `SELECT DISTINCT ON (type, state_key) pdu_json FROM room_events
       WHERE room_id = $1 AND room_seq < $2::bigint AND ((type = 'm.room.history_visibility' AND state_key = '') OR (type = 'm.room.member' AND state_key = $3))
       ORDER BY type, state_key, room_events.room_seq DESC`,
      [roomId, beforeSeq, userId],
    )) as Array<{ pdu_json: string }>;
    return rows.map((row) => JSON.parse(row.pdu_json) as VisibilityEvent);
  }

  /** The room sequence of `userId`'s latest join of the room, if they ever joined. */
  async lastJoinSeq(roomId: string, userId: string): Promise<bigint | undefined> {
    const rows = (await this.db.query(
      `SELECT max(room_seq)::text AS seq FROM room_events
       WHERE room_id = $1 AND type = 'm.room.member' AND state_key = $2 AND pdu_json::jsonb -> 'content' ->> 'membership' = 'join'`,
      [roomId, userId],
    )) as Array<{ seq: string | null }>;
    return rows[0]?.seq === null || rows[0] === undefined ? undefined : BigInt(rows[0].seq);
  }

  async currentState(roomId: string, types?: readonly string[]): Promise<SyncEvent[]> {
    const filter = types === undefined ? '' : ' AND s.type = ANY($2)';
    return (await this.db.query(
      `SELECT ${columns('e')}
       FROM room_state s JOIN room_events e ON e.event_id = s.event_id WHERE s.room_id = $1${filter}`,
      types === undefined ? [roomId] : [roomId, types],
    )) as SyncEvent[];
  }

  async eventsByIds(eventIds: readonly string[]): Promise<SyncEvent[]> {
    if (eventIds.length === 0) return [];
    return (await this.db.query(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1)`, [eventIds])) as SyncEvent[];
  }

  /** The partition each room's events are in (from its events), for the rooms that have any, in one query. */
  async partitionsOf(roomIds: readonly string[]): Promise<Map<string, number>> {
    if (roomIds.length === 0) return new Map();
    const rows = (await this.db.query(`SELECT DISTINCT ON (room_id) room_id, partition FROM room_events WHERE room_id = ANY($1)`, [roomIds])) as Array<{
      room_id: string;
      partition: number;
    }>;
    return new Map(rows.map((row) => [row.room_id, row.partition]));
  }

  async joinedCounts(roomId: string): Promise<{ joined: number; invited: number; heroes: string[] }> {
    const rows = (await this.db.query(`SELECT user_id, membership FROM memberships WHERE room_id = $1 AND membership IN ('join', 'invite') ORDER BY user_id`, [roomId])) as Array<{
      user_id: string;
      membership: string;
    }>;
    return { joined: rows.filter((r) => r.membership === 'join').length, invited: rows.filter((r) => r.membership === 'invite').length, heroes: rows.map((r) => r.user_id) };
  }
}
