import { accountDataTopic, roomOutputTopic } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { formatClientEvent } from '@axon/matrix-events';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { Wakeups } from '@axon/platform-cache';
import { syncChannel } from './room-output.consumer';
import type { SyncEvent, SyncStore } from './storage/sync-store';
import { formatSyncToken, parseSyncToken, type StreamPositions, type SyncToken } from './sync-token';

/** The longest a long-poll waits, whatever `timeout` asks. */
const MAX_TIMEOUT_MS = 120_000;
const DEFAULT_TIMELINE_LIMIT = 10;
/** State event types of a room's stripped state (for invites and knocks). */
const STRIPPED_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];

/** The parts of a sync filter this service applies. */
export interface SyncFilter {
  readonly timelineLimit: number;
  readonly includeLeave: boolean;
}

/** A `/sync` request, parsed. */
export interface SyncRequest {
  /** Ends a long-poll early (the client went away): the answer is computed at once. */
  readonly signal?: AbortSignal;
  readonly userId: string;
  readonly since?: string;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  readonly filter: SyncFilter;
}

type Json = Record<string, unknown>;

interface RoomSection {
  readonly kind: 'join' | 'invite' | 'leave' | 'knock';
  readonly body: Json;
}

/**
 * `GET /sync` over the sync read model: joined rooms with their timeline (the newest
 * events after `since`, `limited` with a `prev_batch` that `/messages` continues from
 * exactly the gap), state (all of it up to the timeline for a new or full sync, else
 * the changes in the gap), summary; invited and knocked rooms with stripped state; rooms
 * left since `since` (and on a full sync with `include_leave`). An incremental sync with
 * nothing new waits (long-poll) until an event for the user is applied or the timeout
 * passes. Tokens are vectors of applied bus offsets (`sync-token.ts`).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync
 */
export class SyncService {
  private readonly partitions = { rooms: roomOutputTopic.partitions, accountData: accountDataTopic.partitions };
  /** The wake-up of every long-poll waiting now, so shutdown can end them all. */
  private readonly waiting = new Set<() => void>();
  private releasing = false;

  constructor(
    private readonly store: SyncStore,
    private readonly wakeups: Wakeups,
  ) {}

  async sync(request: SyncRequest): Promise<Json> {
    const since = request.since === undefined ? undefined : parseSyncToken(request.since, this.partitions);
    let wake: () => void = () => undefined;
    const unsubscribe = since !== undefined && request.timeoutMs > 0 ? await this.wakeups.subscribe(syncChannel(request.userId), () => wake()) : undefined;
    try {
      const deadline = Date.now() + Math.min(request.timeoutMs, MAX_TIMEOUT_MS);
      for (;;) {
        const heads: SyncToken = { rooms: await this.store.heads(this.partitions.rooms), accountData: await this.store.accountDataHeads(this.partitions.accountData) };
        const accountData = await this.store.accountData(request.userId, since?.accountData, heads.accountData);
        const sections = await this.compute(request, since?.rooms, heads.rooms, accountData);
        const global = accountData.filter((entry) => entry.room_id === '');
        const done = this.releasing || request.signal?.aborted === true;
        if (sections.length > 0 || global.length > 0 || since === undefined || Date.now() >= deadline || unsubscribe === undefined || done) {
          return this.response(sections, global, heads);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
          function finish(): void {
            clearTimeout(timer);
            resolve();
          }
          wake = finish;
          this.waiting.add(finish);
          request.signal?.addEventListener('abort', finish, { once: true });
        });
        this.waiting.delete(wake);
      }
    } finally {
      await unsubscribe?.();
    }
  }

  /**
   * Ends every waiting long-poll now (each answers with what it has) and every later one at
   * once: called when the process shuts down, before the HTTP listener waits for its
   * requests to finish.
   */
  release(): void {
    this.releasing = true;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  private response(sections: readonly { roomId: string; section: RoomSection }[], accountData: readonly { type: string; content: string }[], heads: SyncToken): Json {
    const rooms: Record<string, Record<string, Json>> = {};
    for (const { roomId, section } of sections) (rooms[section.kind] ??= {})[roomId] = section.body;
    return {
      next_batch: formatSyncToken(heads),
      ...(Object.keys(rooms).length > 0 ? { rooms } : {}),
      ...(accountData.length > 0 ? { account_data: { events: accountData.map((entry) => ({ type: entry.type, content: JSON.parse(entry.content) as Json })) } } : {}),
    };
  }

  private async compute(
    request: SyncRequest,
    since: StreamPositions | undefined,
    heads: StreamPositions,
    accountData: readonly { room_id: string; type: string; content: string }[],
  ): Promise<Array<{ roomId: string; section: RoomSection }>> {
    const memberships = await this.store.memberships(request.userId);
    const changes = since === undefined ? [] : await this.store.membershipChanges(request.userId, since, heads);
    const changedRooms = new Map<string, (typeof changes)[number]>();
    for (const change of changes) changedRooms.set(change.room_id, change);
    const sections: Array<{ roomId: string; section: RoomSection }> = [];
    const partitions = await this.store.partitionsOf([...memberships.keys()]);
    for (const [roomId, membership] of memberships) {
      const partition = partitions.get(roomId);
      if (partition === undefined) continue;
      const change = changedRooms.get(roomId);
      const full = since === undefined || request.fullState;
      if (membership === 'join') {
        const joinedNow = change !== undefined && changes.some((c) => c.room_id === roomId && c.membership === 'join') && !(await this.wasJoinedAt(request.userId, roomId, since));
        const roomAccountData = accountData.filter((entry) => entry.room_id === roomId).map((entry) => ({ type: entry.type, content: JSON.parse(entry.content) as Json }));
        let section = await this.joinedRoom(request, roomId, partition, since, heads, full || joinedNow);
        if (section === undefined && roomAccountData.length > 0) {
          section = { kind: 'join', body: { timeline: { events: [], limited: false }, state: { events: [] }, ephemeral: { events: [] }, account_data: { events: [] } } };
        }
        if (section !== undefined) {
          section.body['account_data'] = { events: roomAccountData };
          sections.push({ roomId, section });
        }
      } else if (membership === 'invite' || membership === 'knock') {
        if (full || change !== undefined) sections.push({ roomId, section: await this.strippedRoom(request.userId, roomId, membership) });
      } else if (membership === 'leave' || membership === 'ban') {
        if ((change !== undefined && since !== undefined) || (full && request.filter.includeLeave)) {
          const left = await this.leftRoom(request, roomId, partition, since, change?.offset, full);
          if (left !== undefined) sections.push({ roomId, section: left });
        }
      }
    }
    return sections;
  }

  /** Whether the user was joined at `since` (their membership as of that token). */
  private async wasJoinedAt(userId: string, roomId: string, since: StreamPositions | undefined): Promise<boolean> {
    if (since === undefined) return false;
    const before = await this.store.membershipChanges(userId, Array.from({ length: this.partitions.rooms }, () => -1), since);
    const last = before.filter((change) => change.room_id === roomId).pop();
    return last?.membership === 'join';
  }

  private async joinedRoom(request: SyncRequest, roomId: string, partition: number, since: StreamPositions | undefined, heads: StreamPositions, full: boolean): Promise<RoomSection | undefined> {
    const after = since === undefined || (full && request.fullState && since === undefined) ? -1 : (since[partition] ?? -1);
    const rows = await this.store.timeline(roomId, partition, full && since === undefined ? -1 : after, heads[partition] ?? -1, request.filter.timelineLimit);
    const limited = rows.length > request.filter.timelineLimit;
    const timeline = limited ? rows.slice(1) : rows;
    if (!full && timeline.length === 0) return undefined;
    const firstSeq = timeline[0]?.room_seq ?? Number.MAX_SAFE_INTEGER;
    let state: SyncEvent[];
    if (full) state = await this.store.stateBefore(roomId, firstSeq);
    else if (limited) state = await this.store.stateChanges(roomId, await this.seqAt(roomId, partition, after), firstSeq);
    else state = [];
    const body: Json = {
      timeline: { events: await this.format(timeline), limited, ...(timeline[0] !== undefined ? { prev_batch: `t${timeline[0].stream_ordering}` } : {}) },
      state: { events: await this.format(state) },
      ephemeral: { events: [] },
      account_data: { events: [] },
    };
    if (full || timeline.some((event) => event.type === 'm.room.member')) body['summary'] = await this.summary(request.userId, roomId);
    return { kind: 'join', body };
  }

  private async leftRoom(request: SyncRequest, roomId: string, partition: number, since: StreamPositions | undefined, leaveOffset: string | undefined, full: boolean): Promise<RoomSection | undefined> {
    const after = since === undefined ? -1 : (since[partition] ?? -1);
    const upTo = leaveOffset !== undefined ? Number(leaveOffset) : Number.MAX_SAFE_INTEGER;
    const rows = await this.store.timeline(roomId, partition, full ? -1 : after, upTo, request.filter.timelineLimit);
    const limited = rows.length > request.filter.timelineLimit;
    const timeline = limited ? rows.slice(1) : rows;
    const firstSeq = timeline[0]?.room_seq ?? Number.MAX_SAFE_INTEGER;
    const state = full ? await this.store.stateBefore(roomId, firstSeq) : limited ? await this.store.stateChanges(roomId, await this.seqAt(roomId, partition, after), firstSeq) : [];
    return {
      kind: 'leave',
      body: {
        timeline: { events: await this.format(timeline), limited, ...(timeline[0] !== undefined ? { prev_batch: `t${timeline[0].stream_ordering}` } : {}) },
        state: { events: await this.format(state) },
        account_data: { events: [] },
      },
    };
  }

  private async strippedRoom(userId: string, roomId: string, membership: string): Promise<RoomSection> {
    const state = await this.store.currentState(roomId, [...STRIPPED_TYPES, 'm.room.member']);
    const events = state
      .filter((event) => event.type !== 'm.room.member' || event.state_key === userId)
      .map((event) => {
        const pdu = JSON.parse(event.pdu_json) as JsonObject;
        return { type: event.type, state_key: event.state_key ?? '', sender: event.sender, content: pdu['content'] ?? {} };
      });
    return membership === 'invite' ? { kind: 'invite', body: { invite_state: { events } } } : { kind: 'knock', body: { knock_state: { events } } };
  }

  /** The room sequence of the room's last event at or before `offset` of its partition (0 for none). */
  private async seqAt(roomId: string, partition: number, offset: number): Promise<number> {
    const rows = await this.store.timeline(roomId, partition, -1, offset, 0);
    return rows[rows.length - 1]?.room_seq ?? 0;
  }

  private async summary(userId: string, roomId: string): Promise<Json> {
    const counts = await this.store.joinedCounts(roomId);
    const named = await this.store.currentState(roomId, ['m.room.name', 'm.room.canonical_alias']);
    const hasName = named.some((event) => {
      const content = (JSON.parse(event.pdu_json) as { content?: Json }).content ?? {};
      return (typeof content['name'] === 'string' && content['name'] !== '') || (typeof content['alias'] === 'string' && content['alias'] !== '');
    });
    return {
      'm.joined_member_count': counts.joined,
      'm.invited_member_count': counts.invited,
      ...(hasName ? {} : { 'm.heroes': counts.heroes.filter((user) => user !== userId).slice(0, 5) }),
    };
  }

  /** Formats events for a sync response (no `room_id`), redacted ones with their redaction. */
  private async format(events: readonly SyncEvent[]): Promise<JsonObject[]> {
    const redactionIds = events.flatMap((event) => (event.redacted_by === null ? [] : [event.redacted_by]));
    const redactions = new Map((await this.store.eventsByIds(redactionIds)).map((event) => [event.event_id, event]));
    const now = Date.now();
    return events.map((event) => {
      const rules = getRoomVersionRules(event.room_version);
      if (!rules.ok) throw new MatrixError('M_UNKNOWN', `room ${event.room_id} has an unknown version`, 500);
      const redaction = event.redacted_by === null ? undefined : redactions.get(event.redacted_by);
      const formatted = formatClientEvent(JSON.parse(event.pdu_json) as JsonObject, {
        eventId: event.event_id,
        roomId: event.room_id,
        now,
        ...(event.redacted_by === null
          ? {}
          : {
              redacted: {
                rules: rules.value.redaction,
                ...(redaction === undefined ? {} : { because: formatClientEvent(JSON.parse(redaction.pdu_json) as JsonObject, { eventId: redaction.event_id, roomId: redaction.room_id, now }) }),
              },
            }),
      });
      delete formatted['room_id'];
      return formatted;
    });
  }
}

/** The parts of a filter definition (`room.timeline.limit`, `room.include_leave`) this service applies. */
export function syncFilterOf(definition: unknown): SyncFilter {
  const room = typeof definition === 'object' && definition !== null ? (definition as Json)['room'] : undefined;
  const roomObject = typeof room === 'object' && room !== null ? (room as Json) : {};
  const timeline = roomObject['timeline'];
  const limit = typeof timeline === 'object' && timeline !== null ? (timeline as Json)['limit'] : undefined;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) throw new MatrixError('M_INVALID_PARAM', 'room.timeline.limit must be a positive integer', 400);
  return { timelineLimit: Math.min(limit ?? DEFAULT_TIMELINE_LIMIT, 1000), includeLeave: roomObject['include_leave'] === true };
}
