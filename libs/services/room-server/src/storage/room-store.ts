import type { DataSource, EntityManager } from '@axon/platform-database';
import { outboxShard } from '../output/outbox-shard';

/** A room's row: its version, sequence (fencing), current state group and latest event. */
export interface RoomRow {
  readonly room_id: string;
  readonly room_version: string;
  readonly head_seq: number;
  readonly state_group: string | null;
  readonly latest_nid: string;
}

/** An event as stored. `nid` is its stream position (decimal). */
export interface StoredEvent {
  readonly nid: string;
  readonly event_id: string;
  readonly room_id: string;
  readonly room_seq: number;
  readonly type: string;
  readonly state_key: string | null;
  readonly depth: number;
  readonly pdu_json: string;
  readonly redacted_by: string | null;
}

/** The outcome recorded for an input request. */
export interface InputResultRow {
  readonly request_id: string;
  readonly room_id: string | null;
  readonly event_id: string | null;
  readonly errcode: string | null;
  readonly error: string | null;
}

/** One event to append, with everything the transaction writes for it. */
export interface AppendEvent {
  readonly eventId: string;
  readonly type: string;
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly depth: number;
  readonly originServerTs: number;
  readonly pduJson: string;
  readonly prevEventIds: readonly string[];
  readonly authEventIds: readonly string[];
  /** For an `m.room.member` event: the membership it sets. */
  readonly membership: string | undefined;
  /** For an accepted `m.room.redaction` that applies: the event it redacts. */
  readonly redacts: string | undefined;
}

/** What an append changed, for the output message. */
export interface AppendResult {
  readonly nid: string;
  readonly roomSeq: number;
  readonly stateAdded: Array<[string, string, string]>;
  readonly stateRemoved: Array<[string, string, string]>;
}

/** Thrown when a room's head moved under a writer: it must re-read and rebuild. */
export class StaleRoomHeadError extends Error {
  constructor(roomId: string) {
    super(`the head of ${roomId} moved: another writer appended first`);
    this.name = 'StaleRoomHeadError';
  }
}

/** A full snapshot starts a new chain after this many delta levels. */
export const STATE_GROUP_MAX_DEPTH = 64;

/** The columns of a `StoredEvent`, from `events` (optionally aliased). */
function eventColumns(alias?: string): string {
  const p = alias === undefined ? '' : `${alias}.`;
  return [
    `${p}nid::text AS nid`,
    `${p}event_id AS event_id`,
    `${p}room_id AS room_id`,
    `${p}room_seq AS room_seq`,
    `${p}type AS type`,
    `${p}state_key AS state_key`,
    `${p}depth::float8 AS depth`,
    `${p}pdu_json AS pdu_json`,
    `${p}redacted_by AS redacted_by`,
  ].join(', ');
}

const EVENT_COLUMNS = eventColumns();

/** `outbox.trace_context` back into headers; a row the relay cannot read publishes without a parent rather than not at all. */
function parseTraceContext(stored: string | null): Record<string, string> {
  if (stored === null) return {};
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    // Only insertOutbox writes the column; were it unreadable, losing a trace link beats wedging the relay.
    return {};
  }
}

/**
 * The room server's SQL (schema `room_server`), the same on PGlite and Postgres. Reads
 * go through the DataSource; `append` and `createRoom` run inside the caller's
 * transaction (`transaction`).
 */
export class RoomStore {
  constructor(readonly db: DataSource) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  async getRoom(roomId: string, tx: EntityManager | DataSource = this.db): Promise<RoomRow | undefined> {
    const rows = (await tx.query(
      `SELECT room_id, room_version, head_seq, state_group::text AS state_group, latest_nid::text AS latest_nid FROM rooms WHERE room_id = $1`,
      [roomId],
    )) as RoomRow[];
    return rows[0];
  }

  async getInputResult(requestId: string): Promise<InputResultRow | undefined> {
    const rows = (await this.db.query(`SELECT request_id, room_id, event_id, errcode, error FROM input_results WHERE request_id = $1`, [requestId])) as InputResultRow[];
    return rows[0];
  }

  /** Records a refusal; a result already recorded for the request wins. */
  async recordRefusal(requestId: string, roomId: string | undefined, errcode: string, error: string): Promise<void> {
    await this.db.query(
      `INSERT INTO input_results (request_id, room_id, errcode, error, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING`,
      [requestId, roomId ?? null, errcode, error, Date.now()],
    );
  }

  async getEventsByIds(eventIds: readonly string[], tx: EntityManager | DataSource = this.db): Promise<StoredEvent[]> {
    if (eventIds.length === 0) return [];
    return (await tx.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY($1)`, [eventIds])) as StoredEvent[];
  }

  async getForwardExtremities(roomId: string, tx: EntityManager | DataSource = this.db): Promise<StoredEvent[]> {
    return (await tx.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY((SELECT forward_extremities FROM rooms WHERE room_id = $1)::text[])`,
      [roomId],
    )) as StoredEvent[];
  }

  /** Current state events of a room: all, or those of the given (type, state_key) pairs or types. */
  async getCurrentState(
    roomId: string,
    filter: { readonly keys?: ReadonlyArray<readonly [string, string]>; readonly types?: readonly string[] } = {},
    tx: EntityManager | DataSource = this.db,
  ): Promise<StoredEvent[]> {
    const columns = eventColumns('e');
    if (filter.keys !== undefined) {
      if (filter.keys.length === 0) return [];
      return (await tx.query(
        `SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid
         WHERE c.room_id = $1 AND (c.type, c.state_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
        [roomId, filter.keys.map(([type]) => type), filter.keys.map(([, stateKey]) => stateKey)],
      )) as StoredEvent[];
    }
    if (filter.types !== undefined && filter.types.length > 0) {
      return (await tx.query(`SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1 AND c.type = ANY($2)`, [
        roomId,
        filter.types,
      ])) as StoredEvent[];
    }
    return (await tx.query(`SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1`, [roomId])) as StoredEvent[];
  }

  /** The state of a state group: its chain of deltas, newest entry per key winning. */
  async getStateGroup(groupId: string, tx: EntityManager | DataSource = this.db): Promise<StoredEvent[]> {
    return (await tx.query(
      `WITH RECURSIVE chain(id, parent_id, level) AS (
         SELECT id, parent_id, 0 FROM state_groups WHERE id = $1
         UNION ALL
         SELECT g.id, g.parent_id, chain.level + 1 FROM state_groups g JOIN chain ON g.id = chain.parent_id
       ),
       entries AS (
         SELECT DISTINCT ON (s.type, s.state_key) s.type, s.state_key, s.event_nid
         FROM state_group_entries s JOIN chain ON chain.id = s.group_id
         ORDER BY s.type, s.state_key, chain.level
       )
       SELECT ${eventColumns('e')}
       FROM entries JOIN events e ON e.nid = entries.event_nid`,
      [groupId],
    )) as StoredEvent[];
  }

  async getStateGroupsOfEvent(eventId: string): Promise<{ before: string | null; after: string | null } | undefined> {
    const rows = (await this.db.query(`SELECT state_group_before::text AS before, state_group_after::text AS after FROM events WHERE event_id = $1`, [eventId])) as Array<{
      before: string | null;
      after: string | null;
    }>;
    return rows[0];
  }

  async getMembership(roomId: string, userId: string): Promise<{ membership: string; event_id: string } | undefined> {
    const rows = (await this.db.query(
      `SELECT m.membership, e.event_id FROM memberships m JOIN events e ON e.nid = m.event_nid WHERE m.room_id = $1 AND m.user_id = $2`,
      [roomId, userId],
    )) as Array<{ membership: string; event_id: string }>;
    return rows[0];
  }

  async getRoomsOfUser(userId: string, membership: string): Promise<string[]> {
    const rows = (await this.db.query(`SELECT room_id FROM memberships WHERE user_id = $1 AND membership = $2 ORDER BY room_id`, [userId, membership])) as Array<{ room_id: string }>;
    return rows.map((row) => row.room_id);
  }

  /** Room events by stream position: backwards (newest first) or forwards, exclusive of `from`. */
  async paginate(roomId: string, options: { from?: string; to?: string; direction: 'b' | 'f'; limit: number }): Promise<StoredEvent[]> {
    const params: unknown[] = [roomId, options.limit];
    const conditions = ['room_id = $1'];
    if (options.from !== undefined) {
      params.push(options.from);
      conditions.push(options.direction === 'b' ? `nid < $${params.length}::bigint` : `nid > $${params.length}::bigint`);
    }
    if (options.to !== undefined) {
      params.push(options.to);
      conditions.push(options.direction === 'b' ? `nid >= $${params.length}::bigint` : `nid <= $${params.length}::bigint`);
    }
    return (await this.db.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY events.nid ${options.direction === 'b' ? 'DESC' : 'ASC'} LIMIT $2`,
      params,
    )) as StoredEvent[];
  }

  /** The auth chain of events: every event reachable through auth events, the events themselves excluded. */
  async getAuthChain(eventIds: readonly string[]): Promise<StoredEvent[]> {
    if (eventIds.length === 0) return [];
    return (await this.db.query(
      `WITH RECURSIVE chain(nid) AS (
         SELECT a.auth_nid FROM event_auth a JOIN events e ON e.nid = a.event_nid WHERE e.event_id = ANY($1)
         UNION
         SELECT a.auth_nid FROM event_auth a JOIN chain ON a.event_nid = chain.nid
       )
       SELECT ${EVENT_COLUMNS} FROM events WHERE events.nid IN (SELECT nid FROM chain) ORDER BY events.nid`,
      [eventIds],
    )) as StoredEvent[];
  }

  /** Creates the room row (sequence 0, no state yet) inside the creating transaction. */
  async insertRoom(tx: EntityManager, roomId: string, roomVersion: string): Promise<void> {
    await tx.query(`INSERT INTO rooms (room_id, room_version, head_seq, state_group, latest_nid) VALUES ($1, $2, 0, NULL, 0)`, [roomId, roomVersion]);
  }

  /**
   * Appends one event at `expectedSeq + 1`: the event, its auth edges, a state group
   * delta (state events), current state, membership, forward extremities and the
   * redaction mark, then advances the room's head with compare-and-set. Throws
   * `StaleRoomHeadError` (and the transaction must roll back) when the head moved.
   */
  async append(tx: EntityManager, room: RoomRow, event: AppendEvent): Promise<AppendResult> {
    const roomSeq = room.head_seq + 1;
    const inserted = (await tx.query(
      `INSERT INTO events (event_id, room_id, room_seq, type, state_key, sender, depth, origin_server_ts, pdu_json, state_group_before)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING nid::text AS nid`,
      [event.eventId, room.room_id, roomSeq, event.type, event.stateKey ?? null, event.sender, event.depth, event.originServerTs, event.pduJson, room.state_group],
    )) as Array<{ nid: string }>;
    const nid = inserted[0]!.nid;
    if (event.authEventIds.length > 0) {
      await tx.query(`INSERT INTO event_auth (event_nid, auth_nid) SELECT $1::bigint, nid FROM events WHERE event_id = ANY($2) ON CONFLICT DO NOTHING`, [
        nid,
        event.authEventIds,
      ]);
    }
    const stateAdded: Array<[string, string, string]> = [];
    const stateRemoved: Array<[string, string, string]> = [];
    let stateGroup = room.state_group;
    if (event.stateKey !== undefined) {
      const replaced = (await tx.query(
        `SELECT e.event_id FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1 AND c.type = $2 AND c.state_key = $3`,
        [room.room_id, event.type, event.stateKey],
      )) as Array<{ event_id: string }>;
      if (replaced[0] !== undefined) stateRemoved.push([event.type, event.stateKey, replaced[0].event_id]);
      stateAdded.push([event.type, event.stateKey, event.eventId]);
      stateGroup = await this.writeStateGroup(tx, room, event.type, event.stateKey, nid);
      await tx.query(
        `INSERT INTO current_state (room_id, type, state_key, event_nid) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_nid = EXCLUDED.event_nid`,
        [room.room_id, event.type, event.stateKey, nid],
      );
      if (event.membership !== undefined) {
        await tx.query(
          `INSERT INTO memberships (room_id, user_id, membership, event_nid) VALUES ($1, $2, $3, $4)
           ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid`,
          [room.room_id, event.stateKey, event.membership, nid],
        );
      }
    }
    await tx.query(`UPDATE events SET state_group_after = $2 WHERE nid = $1`, [nid, stateGroup]);
    if (event.redacts !== undefined) {
      await tx.query(`UPDATE events SET redacted_by = $2 WHERE event_id = $1 AND room_id = $3 AND redacted_by IS NULL`, [event.redacts, event.eventId, room.room_id]);
    }
    const advanced = (await tx.query(
      // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE. The event
      // replaces its prev events among the forward extremities.
      `WITH advanced AS (
         UPDATE rooms SET head_seq = $3, state_group = $4, latest_nid = $5,
           forward_extremities = array_append(ARRAY(SELECT x FROM unnest(forward_extremities) AS x WHERE x <> ALL($6::text[]) ORDER BY x), $7)
         WHERE room_id = $1 AND head_seq = $2 RETURNING room_id
       ) SELECT room_id FROM advanced`,
      [room.room_id, room.head_seq, roomSeq, stateGroup, nid, event.prevEventIds, event.eventId],
    )) as unknown[];
    if (advanced.length !== 1) throw new StaleRoomHeadError(room.room_id);
    return { nid, roomSeq, stateAdded, stateRemoved };
  }

  /** A new state group: a delta on the room's current group, or a full snapshot when the chain is deep. */
  private async writeStateGroup(tx: EntityManager, room: RoomRow, type: string, stateKey: string, nid: string): Promise<string> {
    const parent = room.state_group === null ? undefined : ((await tx.query(`SELECT depth FROM state_groups WHERE id = $1`, [room.state_group])) as Array<{ depth: number }>)[0];
    const snapshot = parent === undefined || parent.depth + 1 >= STATE_GROUP_MAX_DEPTH;
    const created = (await tx.query(`INSERT INTO state_groups (room_id, parent_id, depth) VALUES ($1, $2, $3) RETURNING id::text AS id`, [
      room.room_id,
      snapshot ? null : room.state_group,
      snapshot ? 0 : parent.depth + 1,
    ])) as Array<{ id: string }>;
    const groupId = created[0]!.id;
    if (snapshot) {
      await tx.query(
        `INSERT INTO state_group_entries (group_id, type, state_key, event_nid)
         SELECT $1::bigint, type, state_key, event_nid FROM current_state WHERE room_id = $2 AND NOT (type = $3 AND state_key = $4)`,
        [groupId, room.room_id, type, stateKey],
      );
    }
    await tx.query(`INSERT INTO state_group_entries (group_id, type, state_key, event_nid) VALUES ($1, $2, $3, $4)`, [groupId, type, stateKey, nid]);
    return groupId;
  }

  /** `traceContext`: the headers `currentTraceHeaders()` gave (empty without a trace). */
  async insertOutbox(tx: EntityManager, roomId: string, payload: string, traceContext: Readonly<Record<string, string>> = {}): Promise<void> {
    const trace = Object.keys(traceContext).length === 0 ? null : JSON.stringify(traceContext);
    await tx.query(`INSERT INTO outbox (room_id, shard, payload, trace_context) VALUES ($1, $2, $3, $4)`, [roomId, outboxShard(roomId), payload, trace]);
  }

  async recordAccepted(tx: EntityManager, requestId: string, roomId: string, eventId: string): Promise<void> {
    await tx.query(`INSERT INTO input_results (request_id, room_id, event_id, created_at) VALUES ($1, $2, $3, $4)`, [requestId, roomId, eventId, Date.now()]);
  }

  /**
   * The oldest unpublished output messages (of `shards` only, when given), each with the
   * trace context it was written in (`{}` if none). Ordered by `outbox.id`, the bigint:
   * the `id` column of the answer is text, which would sort "10" before "9".
   */
  async peekOutbox(limit: number, shards?: readonly number[]): Promise<Array<{ id: string; payload: string; traceContext: Record<string, string> }>> {
    const rows = (await (shards === undefined
      ? this.db.query(`SELECT id::text AS id, payload, trace_context FROM outbox ORDER BY outbox.id LIMIT $1`, [limit])
      : this.db.query(`SELECT id::text AS id, payload, trace_context FROM outbox WHERE shard = ANY($2::int[]) ORDER BY outbox.id LIMIT $1`, [limit, shards]))) as Array<{
      id: string;
      payload: string;
      trace_context: string | null;
    }>;
    return rows.map((row) => ({ id: row.id, payload: row.payload, traceContext: parseTraceContext(row.trace_context) }));
  }

  /** The shards that have unpublished rows, ascending. */
  async pendingOutboxShards(): Promise<number[]> {
    const rows = (await this.db.query(`SELECT DISTINCT shard FROM outbox ORDER BY shard`)) as Array<{ shard: number }>;
    return rows.map((row) => Number(row.shard));
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.db.query(`DELETE FROM outbox WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /**
   * Removes the outbox's dead rows and index entries (see the relay's `VACUUM_AFTER_ROWS`).
   * Skipped at once, not waited for, while another replica vacuums it.
   */
  async vacuumOutbox(): Promise<void> {
    await this.db.query(`VACUUM (SKIP_LOCKED) outbox`);
  }

  /** Gives every relay lease of `holder` up (at the end of each drain), so the next relay need not wait for them to expire. */
  async releaseRelayLease(holder: string): Promise<void> {
    await this.db.query(`UPDATE relay_lease SET expires_at = 0 WHERE holder = $1`, [holder]);
  }

  /**
   * Takes or renews, for `holder` until `now + ttlMs`, the lease of each of `shards` that
   * is free, expired or already its own; returns the shards it now holds. Rows are locked
   * in ascending shard order, so two relays taking overlapping sets cannot deadlock.
   */
  async acquireRelayLeases(holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]> {
    if (shards.length === 0) return [];
    const sorted = [...new Set(shards)].sort((a, b) => a - b);
    const rows = (await this.db.query(
      `INSERT INTO relay_lease (id, holder, expires_at)
       SELECT shard, $1, $2 FROM unnest($4::int[]) WITH ORDINALITY AS s(shard, n) ORDER BY n
       ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE relay_lease.holder = EXCLUDED.holder OR relay_lease.expires_at < $3
       RETURNING id`,
      [holder, now + ttlMs, now, sorted],
    )) as Array<{ id: number }>;
    return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
  }
}
