import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { eventColumns, type Queryable, type StoredEvent } from './rows';

/** A full snapshot starts a new chain after this many delta levels. */
export const STATE_GROUP_MAX_DEPTH = 64;

/**
 * The entries of state group `$1` (`entries`: type, state_key, event_nid): its chain of
 * deltas, the newest entry per key winning (a NULL nid, a removed key, joins no event).
 */
const GROUP_ENTRIES = `WITH RECURSIVE chain(id, parent_id, level) AS (
         SELECT id, parent_id, 0 FROM state_groups WHERE id = $1
         UNION ALL
         SELECT g.id, g.parent_id, chain.level + 1 FROM state_groups g JOIN chain ON g.id = chain.parent_id
       ),
       entries AS (
         SELECT DISTINCT ON (s.type, s.state_key) s.type, s.state_key, s.event_nid
         FROM state_group_entries s JOIN chain ON chain.id = s.group_id
         ORDER BY s.type, s.state_key, chain.level
       )`;

/** One entry of a room state: the event at (`type`, `state_key`). */
export interface StateEntry {
  readonly type: string;
  readonly state_key: string;
  readonly event_id: EventId;
  readonly nid: string;
}

/** Which current state to read: all, the given (type, state_key) pairs, or the given types. */
export interface StateFilter {
  readonly keys?: ReadonlyArray<readonly [string, string]>;
  readonly types?: readonly string[];
}

/**
 * Room state: `current_state` (the latest state of each room, materialised for cheap
 * reads) and the state groups (`state_groups`, `state_group_entries`: each a delta on its
 * parent, a full snapshot every `STATE_GROUP_MAX_DEPTH` levels) recording the state
 * before and after every event.
 */
export class StateRepository {
  async current(q: Queryable, roomId: RoomId, filter: StateFilter = {}): Promise<StoredEvent[]> {
    const columns = eventColumns('e');
    if (filter.keys !== undefined) {
      if (filter.keys.length === 0) return [];
      return (await q.query(
        `SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid
         WHERE c.room_id = $1 AND (c.type, c.state_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
        [roomId, filter.keys.map(([type]) => type), filter.keys.map(([, stateKey]) => stateKey)],
      )) as StoredEvent[];
    }
    if (filter.types !== undefined && filter.types.length > 0) {
      return (await q.query(`SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1 AND c.type = ANY($2)`, [
        roomId,
        filter.types,
      ])) as StoredEvent[];
    }
    return (await q.query(`SELECT ${columns} FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1`, [roomId])) as StoredEvent[];
  }

  /** The event ID currently at (type, state_key), if any. */
  async currentEventId(q: Queryable, roomId: RoomId, type: string, stateKey: string): Promise<EventId | undefined> {
    const rows = (await q.query(`SELECT e.event_id FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1 AND c.type = $2 AND c.state_key = $3`, [
      roomId,
      type,
      stateKey,
    ])) as Array<{ event_id: EventId }>;
    return rows[0]?.event_id;
  }

  async setCurrent(tx: Queryable, roomId: RoomId, type: string, stateKey: string, nid: string): Promise<void> {
    await tx.query(
      `INSERT INTO current_state (room_id, type, state_key, event_nid) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_nid = EXCLUDED.event_nid`,
      [roomId, type, stateKey, nid],
    );
  }

  /** The state of a state group: its chain of deltas, newest entry per key winning. */
  async group(q: Queryable, groupId: string): Promise<StoredEvent[]> {
    return (await q.query(
      `${GROUP_ENTRIES}
       SELECT ${eventColumns('e')}
       FROM entries JOIN events e ON e.nid = entries.event_nid`,
      [groupId],
    )) as StoredEvent[];
  }

  /**
   * A new state group for one state event at `nid`: a delta on the room's current group
   * `parent`, or a full snapshot (current state with the event applied) when the chain is
   * deep or the room has none. Run before `setCurrent` of the same event.
   */
  async writeGroup(tx: Queryable, roomId: RoomId, parent: string | null, type: string, stateKey: string, nid: string): Promise<string> {
    const parentDepth = parent === null ? undefined : ((await tx.query(`SELECT depth FROM state_groups WHERE id = $1`, [parent])) as Array<{ depth: number }>)[0]?.depth;
    const snapshot = parentDepth === undefined || parentDepth + 1 >= STATE_GROUP_MAX_DEPTH;
    const created = (await tx.query(`INSERT INTO state_groups (room_id, parent_id, depth) VALUES ($1, $2, $3) RETURNING id::text AS id`, [
      roomId,
      snapshot ? null : parent,
      snapshot ? 0 : parentDepth + 1,
    ])) as Array<{ id: string }>;
    const groupId = created[0]!.id;
    if (snapshot) {
      await tx.query(
        `INSERT INTO state_group_entries (group_id, type, state_key, event_nid)
         SELECT $1::bigint, type, state_key, event_nid FROM current_state WHERE room_id = $2 AND NOT (type = $3 AND state_key = $4)`,
        [groupId, roomId, type, stateKey],
      );
    }
    await tx.query(`INSERT INTO state_group_entries (group_id, type, state_key, event_nid) VALUES ($1, $2, $3, $4)`, [groupId, type, stateKey, nid]);
    return groupId;
  }

  /** The entries of a state group (event IDs and nids, no PDUs). */
  async groupEntries(q: Queryable, groupId: string): Promise<StateEntry[]> {
    return (await q.query(
      `${GROUP_ENTRIES}
       SELECT entries.type, entries.state_key, e.event_id, e.nid::text AS nid
       FROM entries JOIN events e ON e.nid = entries.event_nid`,
      [groupId],
    )) as StateEntry[];
  }

  /** The current state's entries (event IDs and nids, no PDUs). */
  async currentEntries(q: Queryable, roomId: RoomId): Promise<StateEntry[]> {
    return (await q.query(
      `SELECT c.type, c.state_key, e.event_id, e.nid::text AS nid FROM current_state c JOIN events e ON e.nid = c.event_nid WHERE c.room_id = $1`,
      [roomId],
    )) as StateEntry[];
  }

  /**
   * A new state group holding `state`: a delta on `parent` (whose state differs from it
   * by `changes`, a NULL nid removing a key) while its chain is shallow, else a full
   * snapshot. `parent` null: always a snapshot.
   */
  async writeGroupOf(
    tx: Queryable,
    roomId: RoomId,
    parent: string | null,
    state: ReadonlyArray<{ readonly type: string; readonly state_key: string; readonly nid: string }>,
    changes: ReadonlyArray<{ readonly type: string; readonly state_key: string; readonly nid: string | null }>,
  ): Promise<string> {
    const parentDepth = parent === null ? undefined : ((await tx.query(`SELECT depth FROM state_groups WHERE id = $1`, [parent])) as Array<{ depth: number }>)[0]?.depth;
    const snapshot = parentDepth === undefined || parentDepth + 1 >= STATE_GROUP_MAX_DEPTH;
    const created = (await tx.query(`INSERT INTO state_groups (room_id, parent_id, depth) VALUES ($1, $2, $3) RETURNING id::text AS id`, [
      roomId,
      snapshot ? null : parent,
      snapshot ? 0 : parentDepth + 1,
    ])) as Array<{ id: string }>;
    const groupId = created[0]!.id;
    const entries = snapshot ? state : changes;
    if (entries.length > 0) {
      await tx.query(
        `INSERT INTO state_group_entries (group_id, type, state_key, event_nid) SELECT $1::bigint, * FROM unnest($2::text[], $3::text[], $4::bigint[])`,
        [groupId, entries.map((e) => e.type), entries.map((e) => e.state_key), entries.map((e) => e.nid)],
      );
    }
    return groupId;
  }

  /** Replaces entries of the current state; a NULL nid removes the key. */
  async applyCurrent(tx: Queryable, roomId: RoomId, changes: ReadonlyArray<{ readonly type: string; readonly state_key: string; readonly nid: string | null }>): Promise<void> {
    for (const change of changes) {
      if (change.nid === null) await tx.query(`DELETE FROM current_state WHERE room_id = $1 AND type = $2 AND state_key = $3`, [roomId, change.type, change.state_key]);
      else await this.setCurrent(tx, roomId, change.type, change.state_key, change.nid);
    }
  }
}
