import { roomOutputTopic, type RoomOutput } from '@axon/contracts-kafka';
import type { VisibilityEvent } from '@axon/matrix-events';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import { advanceRoomHeadSql } from './stream-positions.repository';

/** Consecutive plain messages of one partition, in offset order (`RoomEventsRepository.applyMessages`). */
export interface MessageRun {
  readonly partition: number;
  readonly outputs: ReadonlyArray<{ readonly output: RoomOutput; readonly offset: string }>;
}

/** A room event in the sync read model. */
export interface SyncEvent {
  readonly room_id: RoomId;
  readonly room_seq: number;
  readonly partition: number;
  readonly offset: string;
  readonly event_id: EventId;
  readonly room_version: string;
  readonly stream_ordering: string;
  readonly type: string;
  readonly state_key: string | null;
  readonly sender: UserId;
  readonly pdu_json: string;
  readonly redacted_by: EventId | null;
  /** The sending device's transaction (`RoomOutput.transaction`), both NULL without one. */
  readonly txn_device_id: string | null;
  readonly txn_id: string | null;
}

function columns(alias?: string): string {
  const p = alias === undefined ? '' : `${alias}.`;
  return `${p}room_id, ${p}room_seq, ${p}partition, ${p}"offset"::text AS "offset", ${p}event_id, ${p}room_version, ${p}stream_ordering::text AS stream_ordering, ${p}type, ${p}state_key, ${p}sender, ${p}pdu_json, ${p}redacted_by, ${p}txn_device_id, ${p}txn_id`;
}

const EVENT_COLUMNS = columns();

/**
 * The room events and the state events kept without a place in the timeline
 * (`state_events`, room sequence 0: before every timeline event, which replace them per
 * key), with the same columns: where state is read.
 */
const ALL_EVENTS = `SELECT room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, state_key, sender, pdu_json, redacted_by, txn_device_id, txn_id FROM room_events
  UNION ALL SELECT room_id, 0, -1, 0, event_id, room_version, 0, type, state_key, sender, pdu_json, NULL, NULL, NULL FROM state_events`;

/**
 * The rooms of the sync read model (schema `sync`): their events at their bus positions
 * (`room_events`), current state (`room_state`) and, written with the membership events,
 * `memberships` and `membership_changes` (read by `MembershipsRepository`). `apply` is
 * idempotent per (room, room sequence): a redelivered output changes nothing.
 */
export class RoomEventsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Applies one `hs.room.output.v1` message; returns the users whose syncs it concerns (the
   * room's joined, invited and knocking members, and the target of a membership change).
   *
   * One statement, so one round trip and its own transaction: the event row, the stream's
   * applied position, the redaction, the state and membership changes commit together or not
   * at all. Every change but the position is conditioned on the event row being new
   * (`inserted`), which is what makes a redelivered output change nothing. All parts of a
   * statement see the snapshot it started from, so the members read at the end are those
   * before this event: they differ from the members after it only in the event's own target,
   * who is added explicitly. A key the event both removes and sets is only set (the DELETE
   * and the upsert must not touch one row twice).
   */
  async apply(output: RoomOutput, partition: number, offset: string): Promise<UserId[]> {
    const pdu = JSON.parse(output.pdu_json) as { type: string; state_key?: string; sender: string; content?: Record<string, unknown> };
    const added = new Map<string, readonly [string, string, string]>();
    for (const entry of output.state_added) added.set(`${entry[0]}\u0000${entry[1]}`, entry);
    const removed = output.state_removed.filter(([type, stateKey]) => !added.has(`${type}\u0000${stateKey}`));
    const own = [...added.values()].find(([type, , eventId]) => type === 'm.room.member' && eventId === output.event_id);
    const membership = own === undefined ? null : typeof pdu.content?.['membership'] === 'string' ? pdu.content['membership'] : 'leave';
    if (output.state_events !== undefined && output.state_events.length > 0) await this.keepStateEvents(output);
    const others = await this.otherMemberships(output, [...added.values()].filter(([type, , eventId]) => type === 'm.room.member' && eventId !== output.event_id));
    const rows = await this.db.query<Array<{ user_id: UserId }>>(
      `WITH inserted AS (
         INSERT INTO room_events (room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, state_key, sender, pdu_json, txn_device_id, txn_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $21, $22) ON CONFLICT DO NOTHING RETURNING event_id),
       head AS (${advanceRoomHeadSql('$12', '$3', '$4', '$7::bigint')}),
       redacted AS (
         UPDATE room_events SET redacted_by = $5 WHERE event_id = $13::text AND room_id = $1 AND redacted_by IS NULL AND EXISTS (SELECT 1 FROM inserted)),
       removed AS (
         DELETE FROM room_state s USING unnest($14::text[], $15::text[]) AS r(type, state_key)
         WHERE s.room_id = $1 AND s.type = r.type AND s.state_key = r.state_key AND EXISTS (SELECT 1 FROM inserted)),
       added AS (
         INSERT INTO room_state (room_id, type, state_key, event_id)
         SELECT $1, a.type, a.state_key, a.event_id FROM unnest($16::text[], $17::text[], $18::text[]) AS a(type, state_key, event_id) WHERE EXISTS (SELECT 1 FROM inserted)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id),
       member AS (
         INSERT INTO memberships (user_id, room_id, membership) SELECT $19::text, $1, $20::text WHERE $19::text IS NOT NULL AND EXISTS (SELECT 1 FROM inserted)
         ON CONFLICT (user_id, room_id) DO UPDATE SET membership = EXCLUDED.membership),
       others AS (
         INSERT INTO memberships (user_id, room_id, membership) SELECT o.user_id, $1, o.membership FROM unnest($23::text[], $24::text[]) AS o(user_id, membership)
         WHERE EXISTS (SELECT 1 FROM inserted)
         ON CONFLICT (user_id, room_id) DO UPDATE SET membership = EXCLUDED.membership),
       change AS (
         INSERT INTO membership_changes (user_id, room_id, membership, event_id, partition, "offset")
         SELECT $19::text, $1, $20::text, $5, $3, $4 WHERE $19::text IS NOT NULL AND EXISTS (SELECT 1 FROM inserted) ON CONFLICT DO NOTHING)
       SELECT user_id FROM memberships WHERE room_id = $1 AND membership IN ('join', 'invite', 'knock') AND EXISTS (SELECT 1 FROM inserted)
       UNION SELECT $19::text WHERE $19::text IS NOT NULL AND EXISTS (SELECT 1 FROM inserted)`,
      [
        output.room_id,
        output.room_seq,
        partition,
        offset,
        output.event_id,
        output.room_version,
        output.stream_ordering,
        pdu.type,
        pdu.state_key ?? null,
        pdu.sender,
        output.pdu_json,
        roomOutputTopic.name,
        output.redacted_event_id ?? null,
        removed.map(([type]) => type),
        removed.map(([, stateKey]) => stateKey),
        [...added.values()].map(([type]) => type),
        [...added.values()].map(([, stateKey]) => stateKey),
        [...added.values()].map(([, , eventId]) => eventId),
        own?.[1] ?? null,
        membership,
        output.transaction?.device_id ?? null,
        output.transaction?.txn_id ?? null,
        others.map(([userId]) => userId),
        others.map(([, value]) => value),
      ],
    );
    return rows.map((row) => row.user_id);
  }

  /** Keeps the PDUs of state the output brought without their own outputs (`state_events`). */
  private async keepStateEvents(output: RoomOutput): Promise<void> {
    const events = (output.state_events ?? []).map((e) => ({ id: e.event_id, pdu: JSON.parse(e.pdu_json) as { type?: unknown; state_key?: unknown; sender?: unknown }, json: e.pdu_json }));
    const kept = events.filter((e) => typeof e.pdu.type === 'string' && typeof e.pdu.state_key === 'string' && typeof e.pdu.sender === 'string');
    if (kept.length === 0) return;
    await this.db.query(
      `INSERT INTO state_events (event_id, room_id, room_version, type, state_key, sender, pdu_json)
       SELECT e.event_id, $1, $2, e.type, e.state_key, e.sender, e.pdu_json FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS e(event_id, type, state_key, sender, pdu_json)
       ON CONFLICT DO NOTHING`,
      [output.room_id, output.room_version, kept.map((e) => e.id), kept.map((e) => e.pdu.type), kept.map((e) => e.pdu.state_key), kept.map((e) => e.pdu.sender), kept.map((e) => e.json)],
    );
  }

  /**
   * The memberships set by member events the output adds to the state other than its own
   * event (a join through another server brings every member; a resolved fork may change
   * members): read from the PDUs it carries, or those kept before.
   */
  private async otherMemberships(output: RoomOutput, entries: ReadonlyArray<readonly [string, string, string]>): Promise<Array<[string, string]>> {
    if (entries.length === 0) return [];
    const pdus = new Map((output.state_events ?? []).map((e) => [e.event_id, e.pdu_json]));
    const missing = entries.map(([, , id]) => id).filter((id) => !pdus.has(id));
    if (missing.length > 0) {
      const rows = await this.db.query<Array<{ event_id: string; pdu_json: string }>>(
        `SELECT event_id, pdu_json FROM room_events WHERE event_id = ANY($1) UNION ALL SELECT event_id, pdu_json FROM state_events WHERE event_id = ANY($1)`,
        [missing],
      );
      for (const row of rows) pdus.set(row.event_id, row.pdu_json);
    }
    return entries.flatMap(([, stateKey, id]) => {
      const json = pdus.get(id);
      if (json === undefined) return [];
      const value = (JSON.parse(json) as { content?: { membership?: unknown } }).content?.membership;
      return [[stateKey, typeof value === 'string' ? value : 'leave'] as [string, string]];
    });
  }

  /**
   * Whether `applyMessages` can take an output: an event that changes no state and
   * redacts nothing (a message), so it touches only `room_events` and the position.
   */
  static isPlainMessage(output: RoomOutput): boolean {
    return output.state_added.length === 0 && output.state_removed.length === 0 && output.redacted_event_id === undefined;
  }

  /**
   * Applies runs of consecutive plain messages (`isPlainMessage`), each run from one
   * partition in its order, in one statement (its own transaction): the rows and each
   * partition's applied position (its run's last offset) commit together. Returns, per
   * room that got a new event, the members to wake (joined, invited, knocking); a
   * redelivered message changes nothing.
   */
  async applyMessages(runs: readonly MessageRun[]): Promise<Map<RoomId, UserId[]>> {
    const rows = runs.flatMap((run) => run.outputs.map((item) => ({ ...item, partition: run.partition })));
    if (rows.length === 0) return new Map();
    const pdus = rows.map(({ output }) => JSON.parse(output.pdu_json) as { type: string; sender: string });
    const result = await this.db.query<Array<{ room_id: RoomId; user_id: UserId }>>(
      `WITH inserted AS (
         INSERT INTO room_events (room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, state_key, sender, pdu_json, txn_device_id, txn_id)
         SELECT room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, NULL, sender, pdu_json, txn_device_id, txn_id
         FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $12::text[], $13::text[])
           AS t(room_id, room_seq, partition, "offset", event_id, room_version, stream_ordering, type, sender, pdu_json, txn_device_id, txn_id)
         ON CONFLICT DO NOTHING RETURNING room_id),
       head AS (
         INSERT INTO stream_heads (topic, partition, "offset", stream_ordering)
         SELECT $11, p, max(o), max(s) FROM unnest($3::int[], $4::bigint[], $7::bigint[]) AS h(p, o, s) GROUP BY p ORDER BY p
         ON CONFLICT (topic, partition) DO UPDATE SET "offset" = GREATEST(stream_heads."offset", EXCLUDED."offset"),
           stream_ordering = GREATEST(stream_heads.stream_ordering, EXCLUDED.stream_ordering))
       SELECT DISTINCT m.room_id, m.user_id FROM memberships m
       WHERE m.room_id IN (SELECT room_id FROM inserted) AND m.membership IN ('join', 'invite', 'knock')`,
      [
        rows.map(({ output }) => output.room_id),
        rows.map(({ output }) => output.room_seq),
        rows.map(({ partition }) => partition),
        rows.map(({ offset }) => offset),
        rows.map(({ output }) => output.event_id),
        rows.map(({ output }) => output.room_version),
        rows.map(({ output }) => output.stream_ordering),
        pdus.map((pdu) => pdu.type),
        pdus.map((pdu) => pdu.sender),
        rows.map(({ output }) => output.pdu_json),
        roomOutputTopic.name,
        rows.map(({ output }) => output.transaction?.device_id ?? null),
        rows.map(({ output }) => output.transaction?.txn_id ?? null),
      ],
    );
    const woken = new Map<RoomId, UserId[]>();
    for (const row of result) woken.set(row.room_id, [...(woken.get(row.room_id) ?? []), row.user_id]);
    return woken;
  }

  /**
   * A room's events in its windows (`after`, `upTo`] of each of its partitions, before room
   * sequence `beforeSeq`, the newest `limit` (plus one, to tell `limited`), oldest first.
   */
  async timeline(roomId: RoomId, windows: readonly PartitionWindow[], limit: number, ignoredSenders: readonly UserId[] = [], beforeSeq = Number.MAX_SAFE_INTEGER): Promise<SyncEvent[]> {
    // Ignored users' events are left out, except state events (the room's state is everyone's).
    const rows = await this.db.query<SyncEvent[]>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND ${IN_WINDOWS}
         AND (state_key IS NOT NULL OR sender <> ALL($5::text[])) AND room_seq < $6::bigint
       ORDER BY room_events.room_seq DESC LIMIT $7`,
      [roomId, ...windowParams(windows), ignoredSenders, beforeSeq, limit + 1],
    );
    return rows.reverse();
  }

  /** The room sequence of the room's last event at or before each window's `after` (0 for none): where a token stands in the room. */
  async seqAt(roomId: RoomId, windows: readonly PartitionWindow[]): Promise<number> {
    const starts = windows.map((w) => ({ partition: w.partition, after: -1, upTo: w.after }));
    const rows = await this.db.query<Array<{ seq: string | null }>>(`SELECT max(room_seq)::text AS seq FROM room_events WHERE room_id = $1 AND ${IN_WINDOWS}`, [
      roomId,
      ...windowParams(starts),
    ]);
    return Number(rows[0]?.seq ?? 0);
  }

  /** A room's state events in (`after`, `before`) by room sequence, newest per key. */
  async stateChanges(roomId: RoomId, afterSeq: number, beforeSeq: number): Promise<SyncEvent[]> {
    return this.db.query<SyncEvent[]>(
      `SELECT DISTINCT ON (type, state_key) ${EVENT_COLUMNS} FROM (${ALL_EVENTS}) room_events
       WHERE room_id = $1 AND room_seq > $2::bigint AND room_seq < $3::bigint AND state_key IS NOT NULL
       ORDER BY type, state_key, room_events.room_seq DESC`,
      [roomId, afterSeq, beforeSeq],
    );
  }

  /** The room's state just before `beforeSeq` (the current state with later changes undone), or only its `type` events of `stateKeys`. */
  async stateBefore(roomId: RoomId, beforeSeq: number, type?: string, stateKeys?: readonly string[]): Promise<SyncEvent[]> {
    const only = type === undefined ? '' : ' AND type = $3 AND state_key = ANY($4)';
    return this.db.query<SyncEvent[]>(
      `SELECT DISTINCT ON (type, state_key) ${EVENT_COLUMNS} FROM (${ALL_EVENTS}) room_events
       WHERE room_id = $1 AND room_seq < $2::bigint AND state_key IS NOT NULL${only}
       ORDER BY type, state_key, room_events.room_seq DESC`,
      type === undefined ? [roomId, beforeSeq] : [roomId, beforeSeq, type, stateKeys ?? []],
    );
  }

  /** The room's history visibility and `userId`'s membership just before `beforeSeq` (their PDUs; absent ones left out). */
  async visibilityStateBefore(roomId: RoomId, beforeSeq: number, userId: UserId): Promise<VisibilityEvent[]> {
    const rows = await this.db.query<Array<{ pdu_json: string }>>(
      `SELECT DISTINCT ON (type, state_key) pdu_json FROM (${ALL_EVENTS}) room_events
       WHERE room_id = $1 AND room_seq < $2::bigint AND ((type = 'm.room.history_visibility' AND state_key = '') OR (type = 'm.room.member' AND state_key = $3))
       ORDER BY type, state_key, room_events.room_seq DESC`,
      [roomId, beforeSeq, userId],
    );
    return rows.map((row) => JSON.parse(row.pdu_json) as VisibilityEvent);
  }

  /**
   * The room sequence of `userId`'s latest join of the room, if they ever joined. Read
   * from `membership_changes`, never from inside `pdu_json`: event content may hold
   * U+0000, which Postgres's JSON operators refuse to read.
   */
  /** An event's room sequence, if the read model has it. */
  async seqOf(eventId: EventId): Promise<number | undefined> {
    const rows = await this.db.query<Array<{ room_seq: number }>>(`SELECT room_seq FROM room_events WHERE event_id = $1`, [eventId]);
    return rows[0]?.room_seq;
  }

  async lastJoinSeq(roomId: RoomId, userId: UserId): Promise<bigint | undefined> {
    const rows = await this.db.query<Array<{ seq: string | null }>>(
      `SELECT max(e.room_seq)::text AS seq FROM membership_changes m JOIN room_events e ON e.event_id = m.event_id
       WHERE m.user_id = $2 AND m.room_id = $1 AND m.membership = 'join'`,
      [roomId, userId],
    );
    return rows[0]?.seq === null || rows[0] === undefined ? undefined : BigInt(rows[0].seq);
  }

  /** The room's current state events, or only those of `types`. */
  async currentState(roomId: RoomId, types?: readonly string[]): Promise<SyncEvent[]> {
    return this.currentStateOf([roomId], types);
  }

  /** The current state events of every room of `roomIds`, or only those of `types`, in one query. */
  async currentStateOf(roomIds: readonly RoomId[], types?: readonly string[]): Promise<SyncEvent[]> {
    if (roomIds.length === 0) return [];
    const filter = types === undefined ? '' : ' AND s.type = ANY($2)';
    return this.db.query<SyncEvent[]>(
      `SELECT ${columns('e')}
       FROM room_state s JOIN (${ALL_EVENTS}) e ON e.event_id = s.event_id WHERE s.room_id = ANY($1)${filter}`,
      types === undefined ? [roomIds] : [roomIds, types],
    );
  }

  async eventsByIds(eventIds: readonly EventId[]): Promise<SyncEvent[]> {
    if (eventIds.length === 0) return [];
    return this.db.query<SyncEvent[]>(`SELECT ${EVENT_COLUMNS} FROM (${ALL_EVENTS}) e WHERE event_id = ANY($1)`, [eventIds]);
  }

  /**
   * The partitions each room's events are in, for the rooms that have any, in one query:
   * one until the partition count of `hs.room.output.v1` is raised, two (or more, after
   * several raises) for a room whose events went on in another partition.
   */
  async partitionsOf(roomIds: readonly RoomId[]): Promise<Map<RoomId, number[]>> {
    if (roomIds.length === 0) return new Map();
    const rows = await this.db.query<Array<{ room_id: RoomId; partition: number }>>(`SELECT DISTINCT room_id, partition FROM room_events WHERE room_id = ANY($1) ORDER BY room_id, partition`, [roomIds]);
    const partitions = new Map<RoomId, number[]>();
    for (const row of rows) partitions.set(row.room_id, [...(partitions.get(row.room_id) ?? []), row.partition]);
    return partitions;
  }
}

/** A room's events of one partition in (`after`, `upTo`] by offset. */
export interface PartitionWindow {
  readonly partition: number;
  readonly after: number;
  readonly upTo: number;
}

/** Rows whose (partition, offset) is in one of the windows `$2` (partitions), `$3` (afters), `$4` (up-tos). */
const IN_WINDOWS = `EXISTS (SELECT 1 FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS w(p, after, up_to)
  WHERE room_events.partition = w.p AND room_events."offset" > w.after AND room_events."offset" <= w.up_to)`;

function windowParams(windows: readonly PartitionWindow[]): [number[], number[], number[]] {
  return [windows.map((w) => w.partition), windows.map((w) => w.after), windows.map((w) => w.upTo)];
}
