import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { formatClientEvent, redactEvent, VisibilityWalker, visibilityStateOf, type VisibilityEvent } from '@axon/matrix-events';
import { applyEventFields, eventFilterAllows, roomAllowed, roomEventFilterAllows, type EventFilter, type Filter, type RoomEventFilter } from '@axon/matrix-filters';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { Wakeups } from '@axon/platform-cache';
import { syncChannel } from './room-output.consumer';
import type { SyncEvent, SyncStore } from './storage/sync-store';
import type { EduStore, PresenceRow, ToDeviceRow } from './storage/edu-store';
import { emptySyncToken, formatSyncToken, parseSyncToken, type StreamName, type StreamPositions, type SyncToken } from './sync-token';
import type { SyncMetrics } from './sync.metrics';

/** The longest a long-poll waits, whatever `timeout` asks. */
const MAX_TIMEOUT_MS = 120_000;
const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 1000;
/** State event types of a room's stripped state (for invites and knocks). */
const STRIPPED_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];

/** A `/sync` request, parsed. */
export interface SyncRequest {
  /** Ends a long-poll early (the client went away): the answer is computed at once. */
  readonly signal?: AbortSignal;
  readonly userId: string;
  readonly deviceId: string;
  readonly since?: string;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  readonly filter: Filter;
}

/** At most this many to-device messages per response; the rest come with the next. */
const TO_DEVICE_LIMIT = 100;

type Json = Record<string, unknown>;

interface RoomSection {
  readonly kind: 'join' | 'invite' | 'leave' | 'knock';
  readonly body: Json;
}

/** Everything one `/sync` answer holds, before it is written out. */
interface SyncResult {
  readonly sections: Array<{ roomId: string; section: RoomSection }>;
  readonly accountData: Json[];
  readonly presence: Json[];
  readonly toDevice: Json[];
  readonly deviceLists: { changed: string[]; left: string[] };
  readonly next: SyncToken;
}

/** What a request's `since` and the read model's heads say about one sync. */
interface SyncWindow {
  readonly userId: string;
  readonly since: SyncToken | undefined;
  readonly heads: SyncToken;
  readonly ignored: ReadonlySet<string>;
  /** The user's memberships now: room → membership. */
  readonly memberships: ReadonlyMap<string, string>;
  /** The user's own membership changes in the window, oldest first. */
  readonly changes: ReadonlyArray<{ room_id: string; membership: string; event_id: string; partition: number; offset: string }>;
}

/** Bounded per-process memories (forgetting an entry only costs a query). */
const MEMORY_LIMIT = 100_000;

/**
 * `GET /sync` over the sync read model: joined rooms with their timeline (the newest
 * events after `since`, `limited` with a `prev_batch` that `/messages` continues from
 * exactly the gap), state (all of it up to the timeline for a new or full sync, else
 * the changes in the gap), ephemeral events (typing, receipts), account data, summary;
 * invited and knocked rooms with stripped state; rooms left since `since` (and on a full
 * sync with `include_leave`); global account data, presence, to-device messages and
 * device-list changes. An incremental sync with nothing new waits (long-poll) until a
 * change for the user is applied or the timeout passes. Tokens are vectors of applied
 * bus offsets (`sync-token.ts`). Events of users in `m.ignored_user_list` are left out
 * of timelines, and their invites are not shown.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync
 */
export class SyncService {
  /** The wake-up of every long-poll waiting now, so shutdown can end them all. */
  private readonly waiting = new Set<() => void>();
  private releasing = false;
  /** Per device inbox, the to-device positions up to which its messages were deleted. */
  private readonly acked = new Map<string, string>();
  /** Per user, the ignored users as of the account data positions they were read at. */
  private readonly ignoredCache = new Map<string, { at: string; users: ReadonlySet<string> }>();

  constructor(
    private readonly store: SyncStore,
    private readonly edus: EduStore,
    private readonly wakeups: Wakeups,
    private readonly presenceEnabled: boolean,
    private readonly metrics?: SyncMetrics,
  ) {}

  async sync(request: SyncRequest): Promise<Json> {
    const since = request.since === undefined ? undefined : parseSyncToken(request.since);
    // A wake-up that arrives while a sync is being computed is remembered (`woken`), so
    // the change it announces is not left waiting for the timeout.
    let woken = false;
    let wake: () => void = () => undefined;
    // Counted open from the first wait until the answer (recomputing after a wake-up included).
    let polling = false;
    const unsubscribe =
      since !== undefined && request.timeoutMs > 0
        ? await this.wakeups.subscribe(syncChannel(request.userId), () => {
            woken = true;
            wake();
          })
        : undefined;
    try {
      const deadline = Date.now() + Math.min(request.timeoutMs, MAX_TIMEOUT_MS);
      for (;;) {
        woken = false;
        const result = await this.compute(request, since);
        const done = this.releasing || request.signal?.aborted === true;
        const empty =
          result.sections.length === 0 &&
          result.accountData.length === 0 &&
          result.presence.length === 0 &&
          result.toDevice.length === 0 &&
          result.deviceLists.changed.length === 0 &&
          result.deviceLists.left.length === 0;
        if (!empty || since === undefined || Date.now() >= deadline || unsubscribe === undefined || done) return this.response(result);
        if (woken) continue;
        if (!polling) {
          polling = true;
          this.metrics?.longPollsOpen.inc();
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
      if (polling) this.metrics?.longPollsOpen.dec();
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

  private response(result: SyncResult): Json {
    const rooms: Record<string, Record<string, Json>> = {};
    for (const { roomId, section } of result.sections) (rooms[section.kind] ??= {})[roomId] = section.body;
    const { changed, left } = result.deviceLists;
    return {
      next_batch: formatSyncToken(result.next),
      ...(Object.keys(rooms).length > 0 ? { rooms } : {}),
      ...(result.accountData.length > 0 ? { account_data: { events: result.accountData } } : {}),
      ...(result.presence.length > 0 ? { presence: { events: result.presence } } : {}),
      ...(result.toDevice.length > 0 ? { to_device: { events: result.toDevice } } : {}),
      ...(changed.length > 0 || left.length > 0 ? { device_lists: { ...(changed.length > 0 ? { changed } : {}), ...(left.length > 0 ? { left } : {}) } } : {}),
    };
  }

  private async compute(request: SyncRequest, since: SyncToken | undefined): Promise<SyncResult> {
    const heads = await this.store.heads();
    const accountData = unchanged(since, heads, 'accountData') ? [] : await this.store.accountData(request.userId, since?.accountData, heads.accountData);
    const ignored = await this.ignored(request.userId, heads);
    const memberships = await this.store.memberships(request.userId);
    const changes = since === undefined || unchanged(since, heads, 'rooms') ? [] : await this.store.membershipChanges(request.userId, since.rooms, heads.rooms);
    const window: SyncWindow = { userId: request.userId, since, heads, ignored, memberships, changes };
    const sections = await this.rooms(request, window, accountData);
    const toDevice = await this.toDevice(request, since, heads);
    const sharing = await this.sharing(window);
    let next = heads;
    const lastToDevice = toDevice[toDevice.length - 1];
    if (toDevice.length === TO_DEVICE_LIMIT && lastToDevice !== undefined) {
      // More are waiting: the token moves only past the ones delivered.
      const positions = [...heads.toDevice];
      positions[lastToDevice.partition] = Number(lastToDevice.offset);
      next = { ...heads, toDevice: positions };
    }
    return {
      sections,
      accountData: filtered(
        request.filter.accountData,
        accountData.filter((entry) => entry.room_id === '').map((entry) => ({ type: entry.type, content: JSON.parse(entry.content) as Json })),
        () => request.userId,
      ),
      presence: await this.presence(request, window, sharing.started),
      toDevice: toDevice.map((row) => ({ sender: row.sender, type: row.type, content: JSON.parse(row.content) as Json })),
      deviceLists: await this.deviceLists(window, sharing),
      next,
    };
  }

  /** The users `userId` ignores (`m.ignored_user_list`), read again only when account data moved. */
  private async ignored(userId: string, heads: SyncToken): Promise<ReadonlySet<string>> {
    const at = heads.accountData.join('.');
    const cached = this.ignoredCache.get(userId);
    if (cached?.at === at) return cached.users;
    const users = ignoredUsers(await this.store.accountDataOf(userId, '', 'm.ignored_user_list'));
    if (this.ignoredCache.size >= MEMORY_LIMIT) this.ignoredCache.clear();
    this.ignoredCache.set(userId, { at, users });
    return users;
  }

  /**
   * The device's to-device messages after `since` (at most `TO_DEVICE_LIMIT`); the ones at
   * or before `since` were delivered and are now acknowledged, so they are deleted (once
   * per position).
   */
  private async toDevice(request: SyncRequest, since: SyncToken | undefined, heads: SyncToken): Promise<ToDeviceRow[]> {
    const inbox = `${request.userId}\u0000${request.deviceId}`;
    if (since !== undefined) {
      const position = since.toDevice.join('.');
      if (this.acked.get(inbox) !== position) {
        await this.edus.ackToDevice(request.userId, request.deviceId, since.toDevice);
        if (this.acked.size >= MEMORY_LIMIT) this.acked.clear();
        this.acked.set(inbox, position);
      }
    }
    if (unchanged(since, heads, 'toDevice')) return [];
    return this.edus.toDeviceInbox(request.userId, request.deviceId, since?.toDevice, heads.toDevice, TO_DEVICE_LIMIT);
  }

  private async rooms(request: SyncRequest, window: SyncWindow, accountData: readonly { room_id: string; type: string; content: string }[]): Promise<Array<{ roomId: string; section: RoomSection }>> {
    const { since, heads, memberships, changes } = window;
    const changedRooms = new Map<string, (typeof changes)[number]>();
    for (const change of changes) changedRooms.set(change.room_id, change);
    const sections: Array<{ roomId: string; section: RoomSection }> = [];
    const partitions = await this.store.partitionsOf([...memberships.keys()]);
    const joinedRooms = [...memberships].flatMap(([roomId, membership]) => (membership === 'join' ? [roomId] : []));
    const ephemeral = await this.ephemeral(request.userId, joinedRooms, since, heads);
    for (const [roomId, membership] of memberships) {
      if (!roomAllowed(request.filter.room, roomId)) continue;
      const partition = partitions.get(roomId);
      if (partition === undefined) continue;
      const change = changedRooms.get(roomId);
      const full = since === undefined || request.fullState;
      if (membership === 'join') {
        const joinedNow = change !== undefined && changes.some((c) => c.room_id === roomId && c.membership === 'join') && !(await this.wasJoinedAt(request.userId, roomId, since?.rooms));
        const roomAccountData = filtered(
          request.filter.room.accountData,
          accountData.filter((entry) => entry.room_id === roomId).map((entry) => ({ type: entry.type, content: JSON.parse(entry.content) as Json })),
          () => request.userId,
        );
        // Ephemeral events have no sender; a `senders` list in their filter leaves them all out.
        const roomEphemeral = filtered(request.filter.room.ephemeral, ephemeral.get(roomId) ?? [], () => '');
        let section = await this.joinedRoom(request, window, roomId, partition, full || joinedNow, joinedNow);
        if (section === undefined && (roomAccountData.length > 0 || roomEphemeral.length > 0)) {
          section = { kind: 'join', body: { timeline: { events: [], limited: false }, state: { events: [] }, ephemeral: { events: [] }, account_data: { events: [] } } };
        }
        if (section !== undefined) {
          section.body['account_data'] = { events: roomAccountData };
          section.body['ephemeral'] = { events: roomEphemeral };
          sections.push({ roomId, section });
        }
      } else if (membership === 'invite' || membership === 'knock') {
        if (full || change !== undefined) {
          const stripped = await this.strippedRoom(request.userId, roomId, membership, window.ignored);
          if (stripped !== undefined) sections.push({ roomId, section: stripped });
        }
      } else if (membership === 'leave' || membership === 'ban') {
        if ((change !== undefined && since !== undefined) || (full && request.filter.room.includeLeave)) {
          const left = await this.leftRoom(request, window, roomId, partition, change?.offset, full);
          if (left !== undefined) sections.push({ roomId, section: left });
        }
      }
    }
    return sections;
  }

  /**
   * The ephemeral events of the joined rooms: `m.typing` where typing changed (or, on an
   * initial sync, where someone types) and `m.receipt` with the receipts that moved
   * (everyone's public ones; private ones only the user's own).
   */
  private async ephemeral(userId: string, roomIds: readonly string[], since: SyncToken | undefined, heads: SyncToken): Promise<Map<string, Json[]>> {
    const events = new Map<string, Json[]>();
    const add = (roomId: string, event: Json): void => void (events.get(roomId) ?? events.set(roomId, []).get(roomId)!).push(event);
    const typing = unchanged(since, heads, 'typing') ? new Map<string, string[]>() : await this.edus.typing(roomIds, since?.typing, heads.typing, Date.now());
    for (const [roomId, users] of typing) {
      if (since !== undefined || users.length > 0) add(roomId, { type: 'm.typing', content: { user_ids: users } });
    }
    const receipts = new Map<string, Json>();
    for (const row of unchanged(since, heads, 'receipts') ? [] : await this.edus.receipts(roomIds, since?.receipts, heads.receipts)) {
      if (row.receipt_type === 'm.read.private' && row.user_id !== userId) continue;
      const content = receipts.get(row.room_id) ?? receipts.set(row.room_id, {}).get(row.room_id)!;
      const byType = ((content[row.event_id] ??= {}) as Json)[row.receipt_type] ??= {};
      (byType as Json)[row.user_id] = { ts: Number(row.ts), ...(row.thread_id === '' ? {} : { thread_id: row.thread_id }) };
    }
    for (const [roomId, content] of receipts) add(roomId, { type: 'm.receipt', content });
    return events;
  }

  /**
   * Who started or stopped sharing a room with the user since `since`: the members of
   * rooms they joined and users who joined their rooms (`started`); the members of rooms
   * they left and users who left their rooms, if no room is shared any more (`stopped`).
   */
  private async sharing(window: SyncWindow): Promise<{ started: ReadonlySet<string>; stopped: readonly string[] }> {
    const { userId, since, heads, memberships, changes: mine } = window;
    if (since === undefined || unchanged(since, heads, 'rooms')) return { started: new Set(), stopped: [] };
    const started = new Set<string>();
    const candidates = new Set<string>();
    const joinedByMe = new Set(mine.filter((change) => change.membership === 'join').map((change) => change.room_id));
    const leftByMe = new Set(mine.filter((change) => change.membership === 'leave' || change.membership === 'ban').map((change) => change.room_id));
    for (const change of await this.edus.roomMembershipChanges([...memberships.keys()], since.rooms, heads.rooms)) {
      if (change.user_id === userId) continue;
      if (change.membership === 'join' && memberships.get(change.room_id) === 'join') started.add(change.user_id);
      if (change.membership === 'leave' || change.membership === 'ban') candidates.add(change.user_id);
    }
    for (const member of await this.edus.joinedMembers([...joinedByMe].filter((roomId) => memberships.get(roomId) === 'join'))) if (member.user_id !== userId) started.add(member.user_id);
    for (const member of await this.edus.joinedMembers([...leftByMe].filter((roomId) => memberships.get(roomId) !== 'join'))) candidates.add(member.user_id);
    candidates.delete(userId);
    const still = await this.edus.stillSharing(userId, [...candidates]);
    const stopped = [...candidates].filter((user) => !still.has(user));
    for (const user of stopped) started.delete(user);
    return { started, stopped };
  }

  /**
   * Device-list changes since `since`: users sharing a room whose devices changed, and
   * users who started sharing a room with the user (`changed`); users who no longer share
   * any room with them (`left`).
   */
  private async deviceLists(window: SyncWindow, sharing: { started: ReadonlySet<string>; stopped: readonly string[] }): Promise<{ changed: string[]; left: string[] }> {
    const { userId, since, heads } = window;
    if (since === undefined) return { changed: [], left: [] };
    const changed = new Set(unchanged(since, heads, 'deviceLists') ? [] : await this.edus.deviceListChanges(userId, since.deviceLists, heads.deviceLists));
    for (const user of sharing.started) changed.add(user);
    const left = [...sharing.stopped];
    return { changed: [...changed].filter((user) => !left.includes(user)).sort(), left: left.sort() };
  }

  /**
   * Presence events: the changes since `since` of the user and everyone sharing a room with
   * them (all of them on an initial sync), and the presence of users who only now share a
   * room with the user, whatever its age.
   */
  private async presence(request: SyncRequest, window: SyncWindow, started: ReadonlySet<string>): Promise<Json[]> {
    const { since, heads } = window;
    if (!this.presenceEnabled) return [];
    const rows = unchanged(since, heads, 'presence') ? [] : await this.edus.presenceFor(request.userId, since?.presence, heads.presence);
    const seen = new Set(rows.map((row) => row.user_id));
    const newcomers = [...started].filter((user) => !seen.has(user));
    const all = [...rows, ...(await this.edus.presenceOfUsers(newcomers, heads.presence))];
    return filtered(request.filter.presence, all.map((row) => presenceEvent(row)), (event) => event['sender'] as string);
  }

  /** Whether the user was joined at `since` (their membership as of that token). */
  private async wasJoinedAt(userId: string, roomId: string, since: StreamPositions | undefined): Promise<boolean> {
    if (since === undefined) return false;
    const before = await this.store.membershipChanges(userId, emptySyncToken().rooms, since);
    const last = before.filter((change) => change.room_id === roomId).pop();
    return last?.membership === 'join';
  }

  /**
   * A joined room's section. A room the user joined since `since` comes as on an initial
   * sync: its newest events whatever their age (those the history visibility shows), all
   * its state, `limited` when there is more history.
   */
  private async joinedRoom(request: SyncRequest, window: SyncWindow, roomId: string, partition: number, full: boolean, newlyJoined: boolean): Promise<RoomSection | undefined> {
    const since = window.since?.rooms;
    const after = since === undefined || newlyJoined ? -1 : (since[partition] ?? -1);
    const upTo = window.heads.rooms[partition] ?? -1;
    // Nothing new in the room's partition: nothing new in the room.
    if (!full && after === upTo) return undefined;
    const room = await this.roomEvents(request, window, roomId, partition, after, upTo, full, 'now');
    if (!full && room.timeline.length === 0) return undefined;
    const body: Json = { ...room.body, ephemeral: { events: [] }, account_data: { events: [] } };
    if (full || room.timeline.some((event) => event.type === 'm.room.member')) body['summary'] = await this.summary(request.userId, roomId);
    return { kind: 'join', body };
  }

  private async leftRoom(request: SyncRequest, window: SyncWindow, roomId: string, partition: number, leaveOffset: string | undefined, full: boolean): Promise<RoomSection | undefined> {
    const since = window.since?.rooms;
    const after = full || since === undefined ? -1 : (since[partition] ?? -1);
    const upTo = leaveOffset !== undefined ? Number(leaveOffset) : Number.MAX_SAFE_INTEGER;
    const room = await this.roomEvents(request, window, roomId, partition, after, upTo, full, await this.store.lastJoinSeq(roomId, request.userId));
    return { kind: 'leave', body: { ...room.body, account_data: { events: [] } } };
  }

  /**
   * A room's timeline and state for one sync: the newest events in (`after`, `upTo`] of
   * its partition that the timeline filter lets through (`limited` when more were there),
   * and the state: all of it before the timeline on a full sync, the changes in the gap on
   * a limited incremental one, none otherwise; through the state filter, and with
   * `lazy_load_members` only the membership of the timeline's senders. The timeline holds
   * only events the room's history visibility lets the user see (`lastJoin`: their latest
   * join, `now` while joined).
   */
  private async roomEvents(
    request: SyncRequest,
    window: SyncWindow,
    roomId: string,
    partition: number,
    after: number,
    upTo: number,
    full: boolean,
    lastJoin: bigint | 'now' | undefined,
  ): Promise<{ timeline: SyncEvent[]; body: Json }> {
    const filter = request.filter.room.timeline;
    const limit = Math.min(filter.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
    const matching: SyncEvent[] = [];
    const selective = filter.types !== undefined || filter.notTypes.length > 0 || filter.senders !== undefined || filter.notSenders.length > 0 || filter.containsUrl !== undefined;
    const page = selective ? Math.max(limit + 1, 100) : limit + 1;
    let beforeSeq = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows = await this.store.timeline(roomId, partition, after, upTo, page - 1, [...window.ignored], beforeSeq);
      // History visibility is decided walking forward from the state before the page.
      const visible = new Set<string>();
      if (rows[0] !== undefined) {
        const walker = new VisibilityWalker(visibilityStateOf(await this.store.visibilityStateBefore(roomId, rows[0].room_seq, window.userId), window.userId), window.userId, lastJoin);
        for (const row of rows) if (walker.next(JSON.parse(row.pdu_json) as VisibilityEvent, BigInt(row.room_seq))) visible.add(row.event_id);
      }
      // `rows` is oldest first; `matching` collects newest first.
      for (let index = rows.length - 1; index >= 0 && matching.length <= limit; index--) {
        const row = rows[index]!;
        if (visible.has(row.event_id) && allows(filter, row)) matching.push(row);
      }
      if (matching.length > limit || rows.length < page) break;
      beforeSeq = rows[0]!.room_seq;
    }
    const limited = matching.length > limit;
    const timeline = matching.slice(0, limit).reverse();
    const firstSeq = timeline[0]?.room_seq ?? Number.MAX_SAFE_INTEGER;
    const lazy = request.filter.room.state.lazyLoadMembers;
    let state: SyncEvent[];
    if (full) state = await this.store.stateBefore(roomId, firstSeq);
    else if (limited) state = await this.store.stateChanges(roomId, await this.seqAt(roomId, partition, after), firstSeq);
    else state = [];
    const senders = new Set(timeline.map((event) => event.sender));
    if (lazy && !full && timeline.length > 0) {
      // The senders' memberships (state before the timeline) may be new to a lazy-loading client.
      const known = new Set(state.filter((event) => event.type === 'm.room.member').map((event) => event.state_key));
      const needed = (await this.store.stateBefore(roomId, firstSeq, 'm.room.member', [...senders])).filter((event) => !known.has(event.state_key));
      state = [...state, ...needed];
    }
    state = state.filter((event) => allows(request.filter.room.state, event) && (!lazy || event.type !== 'm.room.member' || senders.has(event.state_key ?? '')));
    return {
      timeline,
      body: {
        timeline: { events: await this.format(request, timeline), limited, ...(timeline[0] !== undefined ? { prev_batch: `t${timeline[0].stream_ordering}` } : {}) },
        state: { events: await this.format(request, state) },
      },
    };
  }

  /** An invited or knocked room's stripped state; none for an invite from an ignored user. */
  private async strippedRoom(userId: string, roomId: string, membership: string, ignored: ReadonlySet<string>): Promise<RoomSection | undefined> {
    const state = await this.store.currentState(roomId, [...STRIPPED_TYPES, 'm.room.member']);
    const own = state.find((event) => event.type === 'm.room.member' && event.state_key === userId);
    if (membership === 'invite' && own !== undefined && ignored.has(own.sender)) return undefined;
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
  private async format(request: SyncRequest, events: readonly SyncEvent[]): Promise<JsonObject[]> {
    const redactionIds = events.flatMap((event) => (event.redacted_by === null ? [] : [event.redacted_by]));
    const redactions = new Map((await this.store.eventsByIds(redactionIds)).map((event) => [event.event_id, event]));
    const now = Date.now();
    const { eventFields, eventFormat } = request.filter;
    return events.map((event) => {
      const rules = getRoomVersionRules(event.room_version);
      if (!rules.ok) throw new MatrixError('M_UNKNOWN', `room ${event.room_id} has an unknown version`, 500);
      const pdu = JSON.parse(event.pdu_json) as JsonObject;
      let formatted: JsonObject;
      if (eventFormat === 'federation') {
        // The event as servers exchange it (redacted when it is).
        formatted = event.redacted_by === null ? pdu : redactEvent(pdu, rules.value.redaction);
      } else {
        const redaction = event.redacted_by === null ? undefined : redactions.get(event.redacted_by);
        formatted = formatClientEvent(pdu, {
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
      }
      return applyEventFields(formatted, eventFields) as JsonObject;
    });
  }
}

/** Whether a room event filter lets a read-model event through. */
function allows(filter: RoomEventFilter, event: SyncEvent): boolean {
  if (filter.containsUrl === undefined) return roomEventFilterAllows(filter, event);
  const pdu = JSON.parse(event.pdu_json) as { content?: unknown };
  return roomEventFilterAllows(filter, { ...event, content: pdu.content });
}

/** The ephemeral, account data or presence events an event filter lets through, at most its `limit`. */
function filtered(filter: EventFilter, events: readonly Json[], sender: (event: Json) => string): Json[] {
  const kept = events.filter((event) => eventFilterAllows(filter, { type: event['type'] as string, sender: sender(event) }));
  return filter.limit === undefined ? kept : kept.slice(0, filter.limit);
}

/** Whether no partition of a stream moved between `since` and the heads (none may be left to read). */
function unchanged(since: SyncToken | undefined, heads: SyncToken, stream: StreamName): boolean {
  if (since === undefined) return false;
  const before = since[stream];
  return heads[stream].every((offset, partition) => offset === before[partition]);
}

/** The users in an `m.ignored_user_list` content (its `ignored_users` keys). */
export function ignoredUsers(content: Json | undefined): ReadonlySet<string> {
  const users = content?.['ignored_users'];
  return new Set(typeof users === 'object' && users !== null && !Array.isArray(users) ? Object.keys(users) : []);
}

/** An `m.presence` event of the read model's row. */
export function presenceEvent(row: PresenceRow, now = Date.now()): Json {
  return {
    type: 'm.presence',
    sender: row.user_id,
    content: {
      presence: row.presence,
      last_active_ago: Math.max(0, now - Number(row.last_active_ts)),
      currently_active: row.currently_active,
      ...(row.status_msg === null ? {} : { status_msg: row.status_msg }),
    },
  };
}
