import type { JsonObject } from '@axon/matrix-canonical-json';
import { roomAllowed } from '@axon/matrix-filters';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { AccountDataRow } from '../storage/account-data.repository';
import type { MembershipChange } from '../storage/memberships.repository';
import type { SyncRepositories } from '../storage/sync-repositories';
import { emptySyncToken, type StreamPositions } from '../sync-token';
import type { AccountDataBuilder } from './account-data.builder';
import type { EphemeralBuilder } from './ephemeral.builder';
import type { RoomTimelineBuilder } from './room-timeline.builder';
import { filtered, type Json, type SyncRequest, type SyncWindow } from './sync-window';

/** How many members a summary names as the room's heroes (the spec: up to 5). */
const HEROES = 5;

/** State event types of a room's stripped state (for invites and knocks). */
const STRIPPED_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];

export interface RoomSection {
  readonly kind: 'join' | 'invite' | 'leave' | 'knock';
  readonly body: Json;
}

/**
 * The `rooms` of a sync: joined rooms with their timeline, state, ephemeral events,
 * account data and summary; invited and knocked rooms with stripped state; rooms left
 * since `since` (and on a full sync with `include_leave`).
 */
export class RoomsBuilder {
  constructor(
    private readonly repositories: Pick<SyncRepositories, 'roomEvents' | 'memberships'>,
    private readonly timelines: RoomTimelineBuilder,
    private readonly ephemeral: EphemeralBuilder,
    private readonly accountData: AccountDataBuilder,
  ) {}

  async build(request: SyncRequest, window: SyncWindow, accountData: readonly AccountDataRow[]): Promise<Array<{ roomId: RoomId; section: RoomSection }>> {
    const { since, heads, memberships, changes } = window;
    const changedRooms = new Map<RoomId, MembershipChange>();
    for (const change of changes) changedRooms.set(change.room_id, change);
    const sections: Array<{ roomId: RoomId; section: RoomSection }> = [];
    // Joined rooms whose section carries a summary: all of them on a full sync, so they are
    // summarised together at the end (two queries, not two per room).
    const summarised: Array<{ roomId: RoomId; body: Json }> = [];
    const partitions = await this.repositories.roomEvents.partitionsOf([...memberships.keys()]);
    const joinedRooms = [...memberships].flatMap(([roomId, membership]) => (membership === 'join' ? [roomId] : []));
    const ephemeral = await this.ephemeral.build(request.userId, joinedRooms, since, heads);
    for (const [roomId, membership] of memberships) {
      if (!roomAllowed(request.filter.room, roomId)) continue;
      const roomPartitions = partitions.get(roomId);
      if (roomPartitions === undefined) continue;
      const change = changedRooms.get(roomId);
      const full = since === undefined || request.fullState;
      if (membership === 'join') {
        const joinedNow = change !== undefined && changes.some((c) => c.room_id === roomId && c.membership === 'join') && !(await this.wasJoinedAt(request.userId, roomId, since?.rooms));
        const roomAccountData = this.accountData.events(request.filter.room.accountData, accountData, roomId, request.userId);
        // Ephemeral events have no sender; a `senders` list in their filter leaves them all out.
        const roomEphemeral = filtered(request.filter.room.ephemeral, ephemeral.get(roomId) ?? [], () => '');
        const joined = await this.joinedRoom(request, window, roomId, roomPartitions, full || joinedNow, joinedNow);
        let section = joined?.section;
        if (section === undefined && (roomAccountData.length > 0 || roomEphemeral.length > 0)) {
          section = { kind: 'join', body: { timeline: { events: [], limited: false }, state: { events: [] }, ephemeral: { events: [] }, account_data: { events: [] } } };
        }
        if (section !== undefined) {
          section.body['account_data'] = { events: roomAccountData };
          section.body['ephemeral'] = { events: roomEphemeral };
          sections.push({ roomId, section });
          if (joined?.summarise === true) summarised.push({ roomId, body: section.body });
        }
      } else if (membership === 'invite' || membership === 'knock') {
        if (full || change !== undefined) {
          const stripped = await this.strippedRoom(request.userId, roomId, membership, window.ignored);
          if (stripped !== undefined) sections.push({ roomId, section: stripped });
        }
      } else if (membership === 'leave' || membership === 'ban') {
        if ((change !== undefined && since !== undefined) || (full && request.filter.room.includeLeave)) {
          sections.push({ roomId, section: await this.leftRoom(request, window, roomId, roomPartitions, change?.event_id, full) });
        }
      }
    }
    const summaries = await this.summaries(request.userId, summarised.map(({ roomId }) => roomId));
    for (const { roomId, body } of summarised) body['summary'] = summaries.get(roomId) ?? null;
    return sections;
  }

  /** Whether the user was joined at `since` (their membership as of that token). */
  private async wasJoinedAt(userId: UserId, roomId: RoomId, since: StreamPositions | undefined): Promise<boolean> {
    if (since === undefined) return false;
    const before = await this.repositories.memberships.changesOfUser(userId, emptySyncToken().rooms, since);
    const last = before.filter((change) => change.room_id === roomId).pop();
    return last?.membership === 'join';
  }

  /**
   * A joined room's section. A room the user joined since `since` comes as on an initial
   * sync: its newest events whatever their age (those the history visibility shows), all
   * its state, `limited` when there is more history.
   */
  private async joinedRoom(
    request: SyncRequest,
    window: SyncWindow,
    roomId: RoomId,
    partitions: readonly number[],
    full: boolean,
    newlyJoined: boolean,
  ): Promise<{ section: RoomSection; summarise: boolean } | undefined> {
    const since = window.since?.rooms;
    const windows = partitions.map((partition) => ({
      partition,
      after: since === undefined || newlyJoined ? -1 : (since[partition] ?? -1),
      upTo: window.heads.rooms[partition] ?? -1,
    }));
    // Nothing new in the room's partitions: nothing new in the room.
    if (!full && windows.every((w) => w.after === w.upTo)) return undefined;
    const room = await this.timelines.build(request, window, { roomId, windows, full, lastJoin: 'now' });
    if (!full && room.timeline.length === 0) return undefined;
    const body: Json = { ...room.body, ephemeral: { events: [] }, account_data: { events: [] } };
    return { section: { kind: 'join', body }, summarise: full || room.timeline.some((event) => event.type === 'm.room.member') };
  }

  /** A left room's section: its events up to the leave (`leaveEventId`, the user's change in this sync), or all of them when there is none. */
  private async leftRoom(request: SyncRequest, window: SyncWindow, roomId: RoomId, partitions: readonly number[], leaveEventId: EventId | undefined, full: boolean): Promise<RoomSection> {
    const since = window.since?.rooms;
    const windows = partitions.map((partition) => ({ partition, after: full || since === undefined ? -1 : (since[partition] ?? -1), upTo: Number.MAX_SAFE_INTEGER }));
    const leaveSeq = leaveEventId === undefined ? undefined : await this.repositories.roomEvents.seqOf(leaveEventId);
    const lastJoin = await this.repositories.roomEvents.lastJoinSeq(roomId, request.userId);
    const room = await this.timelines.build(request, window, { roomId, windows, ...(leaveSeq !== undefined ? { beforeSeq: leaveSeq + 1 } : {}), full, lastJoin });
    return { kind: 'leave', body: { ...room.body, account_data: { events: [] } } };
  }

  /** An invited or knocked room's stripped state; none for an invite from an ignored user. */
  private async strippedRoom(userId: UserId, roomId: RoomId, membership: string, ignored: ReadonlySet<UserId>): Promise<RoomSection | undefined> {
    const state = await this.repositories.roomEvents.currentState(roomId, [...STRIPPED_TYPES, 'm.room.member']);
    const own = state.find((event) => event.type === 'm.room.member' && event.state_key === userId);
    if (membership === 'invite' && own !== undefined && ignored.has(own.sender)) return undefined;
    const stripped = (event: (typeof state)[number]): JsonObject => {
      const pdu = JSON.parse(event.pdu_json) as JsonObject;
      return { type: event.type, state_key: event.state_key ?? '', sender: event.sender, content: pdu['content'] ?? {} };
    };
    // An invite from (or a knock through) another server to a room this server is not in
    // carries the room's stripped state as that server gave it (`unsigned`): all there is.
    const unsigned = own === undefined ? undefined : ((JSON.parse(own.pdu_json) as JsonObject)['unsigned'] as JsonObject | undefined);
    const given = unsigned?.[membership === 'invite' ? 'invite_room_state' : 'knock_room_state'];
    const events = Array.isArray(given)
      ? [...given.filter((e): e is JsonObject => typeof e === 'object' && e !== null && !Array.isArray(e) && (e as JsonObject)['type'] !== 'm.room.member'), stripped(own!)]
      : state.filter((event) => event.type !== 'm.room.member' || event.state_key === userId).map(stripped);
    return membership === 'invite' ? { kind: 'invite', body: { invite_state: { events } } } : { kind: 'knock', body: { knock_state: { events } } };
  }

  /** The `summary` of each room of `roomIds`, in two queries. */
  private async summaries(userId: UserId, roomIds: readonly RoomId[]): Promise<Map<RoomId, Json>> {
    if (roomIds.length === 0) return new Map();
    // One more candidate than shown: the user is left out of their own heroes.
    const counts = await this.repositories.memberships.countsOf(roomIds, HEROES + 1);
    const named = new Set<RoomId>();
    for (const event of await this.repositories.roomEvents.currentStateOf(roomIds, ['m.room.name', 'm.room.canonical_alias'])) {
      const content = (JSON.parse(event.pdu_json) as { content?: Json }).content ?? {};
      if ((typeof content['name'] === 'string' && content['name'] !== '') || (typeof content['alias'] === 'string' && content['alias'] !== '')) named.add(event.room_id);
    }
    return new Map(
      roomIds.map((roomId) => {
        const room = counts.get(roomId) ?? { joined: 0, invited: 0, heroes: [] };
        const summary: Json = {
          'm.joined_member_count': room.joined,
          'm.invited_member_count': room.invited,
          ...(named.has(roomId) ? {} : { 'm.heroes': room.heroes.filter((user) => user !== userId).slice(0, HEROES) }),
        };
        return [roomId, summary];
      }),
    );
  }
}
