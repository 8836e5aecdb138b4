import type { SentTransaction } from '@axon/contracts-kafka';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import { EVENT_COLUMNS, type EventStatus, type Queryable, type StoredEvent } from './rows';

/** What an event is, as the events table keeps it beside its PDU. */
export interface EventFields {
  readonly eventId: EventId;
  readonly type: string;
  readonly stateKey: string | undefined;
  readonly sender: UserId;
  readonly depth: number;
  readonly originServerTs: number;
  readonly pduJson: string;
  /**
   * The sending device's transaction (`SentTransaction`): absent for an event sent without
   * one (state, memberships, the events of a new room, server notices).
   */
  readonly transaction?: SentTransaction;
}

/** One event row to insert. */
export interface EventRow extends EventFields {
  readonly roomId: RoomId;
  /** Null for an event outside the timeline (`status`). */
  readonly roomSeq: number | null;
  readonly status?: EventStatus;
  /** Why a rejected event was rejected. */
  readonly rejection?: string;
  readonly stateGroupBefore: string | null;
  /** Known at insert for every event but a state event (whose group is written after it). */
  readonly stateGroupAfter: string | null;
  /** Its auth events, recorded as edges in the same statement. */
  readonly authEventIds: readonly EventId[];
}

/** Columns per row of the multi-row insert (Postgres allows 65,535 parameters a statement). */
const EVENT_PARAMS = 15;
/** Rows per statement: under Postgres's 65,535 parameters with room for the auth edges' two arrays. */
const INSERT_CHUNK = 2000;

/** `events` and `event_auth`: every event once, its PDU exactly as signed, and its auth edges. */
export class EventsRepository {
  /**
   * Inserts events in one statement per chunk, with their auth edges and each room's
   * `rooms.latest_nid`; returns each event's stream position (`nid`) by event ID.
   */
  async insert(tx: Queryable, events: readonly EventRow[]): Promise<Map<EventId, string>> {
    const nids = new Map<EventId, string>();
    for (let start = 0; start < events.length; start += INSERT_CHUNK) {
      const chunk = events.slice(start, start + INSERT_CHUNK);
      const edges = chunk.flatMap((e) => e.authEventIds.map((auth) => [e.eventId, auth] as const));
      const params: unknown[] = [edges.map(([event]) => event), edges.map(([, auth]) => auth)];
      const tuples = chunk.map((e) => {
        const i = params.length;
        params.push(e.eventId, e.roomId, e.roomSeq, e.type, e.stateKey ?? null, e.sender, e.depth, e.originServerTs, e.pduJson, e.stateGroupBefore, e.stateGroupAfter, e.transaction?.device_id ?? null, e.transaction?.txn_id ?? null, e.status ?? null, e.rejection ?? null);
        return `(${Array.from({ length: EVENT_PARAMS }, (_, k) => `$${i + k + 1}`).join(', ')})`;
      });
      const rows = (await tx.query(
        `WITH inserted AS (
           INSERT INTO events (event_id, room_id, room_seq, type, state_key, sender, depth, origin_server_ts, pdu_json, state_group_before, state_group_after, txn_device_id, txn_id, status, rejection)
           VALUES ${tuples.join(', ')} RETURNING event_id, room_id, nid, room_seq),
         -- An auth event inserted by this same statement is not in the snapshot of events:
         -- looked up in both (two index lookups; a UNION of the two made it a scan of events).
         edges AS (
           INSERT INTO event_auth (event_nid, auth_nid)
           SELECT i.nid, COALESCE(a.nid, b.nid) FROM unnest($1::text[], $2::text[]) AS t(event_id, auth_id)
           JOIN inserted i ON i.event_id = t.event_id
           LEFT JOIN events a ON a.event_id = t.auth_id
           LEFT JOIN inserted b ON b.event_id = t.auth_id
           WHERE COALESCE(a.nid, b.nid) IS NOT NULL
           ON CONFLICT DO NOTHING),
         latest AS (
           UPDATE rooms SET latest_nid = GREATEST(rooms.latest_nid, m.nid)
           FROM (SELECT room_id, max(nid) AS nid FROM inserted WHERE room_seq IS NOT NULL GROUP BY room_id) m WHERE rooms.room_id = m.room_id)
         SELECT event_id, nid::text AS nid FROM inserted`,
        params,
      )) as Array<{ event_id: EventId; nid: string }>;
      for (const row of rows) nids.set(row.event_id, row.nid);
    }
    return nids;
  }

  async setStateGroupAfter(tx: Queryable, nid: string, stateGroup: string | null): Promise<void> {
    await tx.query(`UPDATE events SET state_group_after = $2 WHERE nid = $1`, [nid, stateGroup]);
  }

  /** Marks `eventId` (of `roomId`) redacted by `redactionId`, unless an earlier redaction already applies. */
  async markRedacted(tx: Queryable, roomId: RoomId, eventId: EventId, redactionId: EventId): Promise<void> {
    await tx.query(`UPDATE events SET redacted_by = $2 WHERE event_id = $1 AND room_id = $3 AND redacted_by IS NULL`, [eventId, redactionId, roomId]);
  }

  async byIds(q: Queryable, eventIds: readonly EventId[]): Promise<StoredEvent[]> {
    if (eventIds.length === 0) return [];
    return (await q.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY($1)`, [eventIds])) as StoredEvent[];
  }

  /** The stream positions of these events, by event ID (those stored). */
  async nidsOf(q: Queryable, eventIds: readonly EventId[]): Promise<Map<EventId, string>> {
    if (eventIds.length === 0) return new Map();
    const rows = (await q.query(`SELECT event_id, nid::text AS nid FROM events WHERE event_id = ANY($1)`, [eventIds])) as Array<{ event_id: EventId; nid: string }>;
    return new Map(rows.map((row) => [row.event_id, row.nid]));
  }

  /** Those of these events that are outside the timeline (never an output), with their PDUs. */
  async outsideTimeline(q: Queryable, eventIds: readonly EventId[]): Promise<Array<{ event_id: EventId; pdu_json: string }>> {
    if (eventIds.length === 0) return [];
    return (await q.query(`SELECT event_id, pdu_json FROM events WHERE event_id = ANY($1) AND room_seq IS NULL`, [eventIds])) as Array<{ event_id: EventId; pdu_json: string }>;
  }

  /** The event IDs at these stream positions. */
  async idsOfNids(q: Queryable, nids: readonly string[]): Promise<Array<{ nid: string; event_id: EventId }>> {
    if (nids.length === 0) return [];
    return (await q.query(`SELECT nid::text AS nid, event_id FROM events WHERE nid = ANY($1::bigint[])`, [nids])) as Array<{ nid: string; event_id: EventId }>;
  }

  /** The state group after each of these events (NULL for an outlier), by event ID. */
  async stateGroupsAfter(q: Queryable, eventIds: readonly EventId[]): Promise<Map<EventId, string | null>> {
    if (eventIds.length === 0) return new Map();
    const rows = (await q.query(`SELECT event_id, state_group_after::text AS after FROM events WHERE event_id = ANY($1)`, [eventIds])) as Array<{ event_id: EventId; after: string | null }>;
    return new Map(rows.map((row) => [row.event_id, row.after]));
  }

  async stateGroupsOf(q: Queryable, eventId: EventId): Promise<{ before: string | null; after: string | null } | undefined> {
    const rows = (await q.query(`SELECT state_group_before::text AS before, state_group_after::text AS after FROM events WHERE event_id = $1`, [eventId])) as Array<{
      before: string | null;
      after: string | null;
    }>;
    return rows[0];
  }

  /** The auth chain of events: every event reachable through auth events, the events themselves excluded. */
  async authChain(q: Queryable, eventIds: readonly EventId[]): Promise<StoredEvent[]> {
    if (eventIds.length === 0) return [];
    return (await q.query(
      `WITH RECURSIVE chain(nid) AS (
         SELECT a.auth_nid FROM event_auth a JOIN events e ON e.nid = a.event_nid WHERE e.event_id = ANY($1)
         UNION
         SELECT a.auth_nid FROM event_auth a JOIN chain ON a.event_nid = chain.nid
       )
       SELECT ${EVENT_COLUMNS} FROM events WHERE events.nid IN (SELECT nid FROM chain) ORDER BY events.nid`,
      [eventIds],
    )) as StoredEvent[];
  }
}
