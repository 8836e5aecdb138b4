import type { VisibilityEvent } from '@axon/matrix-events';
import type { DeviceId, EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { AccountDataRow } from '../storage/account-data.repository';
import type { MembershipChange } from '../storage/memberships.repository';
import type { PresenceRow } from '../storage/presence.repository';
import type { PartitionWindow, SyncEvent } from '../storage/room-events.repository';
import type { SyncRepositories } from '../storage/sync-repositories';
import type { ToDeviceRow } from '../storage/to-device.repository';
import { emptySyncToken, type StreamName, type StreamPositions, type SyncToken } from '../sync-token';

type Positioned = { readonly partition: number; readonly offset: string };

/** Whether a row's position is in (`since`, `upTo`] (everything up to `upTo` without `since`). */
function between(row: Positioned, since: StreamPositions | undefined, upTo: StreamPositions): boolean {
  const offset = Number(row.offset);
  return offset > (since?.[row.partition] ?? -1) && offset <= (upTo[row.partition] ?? -1);
}

/**
 * The sync read model in memory, for unit tests of `SyncService`: what the consumers
 * would have applied, written with the helpers below (every stream on partition 0, each
 * write one offset further), read through the repositories' public surface with the same
 * meaning as their SQL.
 */
export class InMemorySyncStore {
  private readonly heads = emptySyncToken() as Record<StreamName, number[]> & { roomOrderings: number[] };
  private readonly events: SyncEvent[] = [];
  private readonly state = new Map<RoomId, Map<string, EventId>>();
  private readonly memberships = new Map<UserId, Map<RoomId, string>>();
  private readonly membershipChanges: Array<MembershipChange & { user_id: UserId }> = [];
  private readonly accountData: Array<AccountDataRow & Positioned & { user_id: UserId }> = [];
  private readonly toDevice: Array<ToDeviceRow & { user_id: UserId; device_id: DeviceId }> = [];
  private readonly presence: Array<PresenceRow & Positioned> = [];
  private readonly deviceLists: Array<Positioned & { user_id: UserId }> = [];

  /** The next position of a stream (partition 0), now applied. */
  private advance(stream: StreamName): Positioned {
    this.heads[stream][0] = (this.heads[stream][0] ?? -1) + 1;
    return { partition: 0, offset: String(this.heads[stream][0]) };
  }

  /** A room event as the room output consumer applies it; returns its ID. */
  send(
    roomId: RoomId,
    event: { type: string; sender: UserId; state_key?: string; content: Record<string, unknown> },
    transaction?: { readonly device_id: string; readonly txn_id: string },
  ): EventId {
    const position = this.advance('rooms');
    // The stream ordering is the offset here: one partition, one writer.
    this.heads.roomOrderings[0] = Number(position.offset);
    const roomSeq = this.events.filter((e) => e.room_id === roomId).length + 1;
    const eventId = `$${roomSeq}-${roomId}` as EventId;
    const pdu = { ...event, room_id: roomId, origin_server_ts: 1_700_000_000_000 + Number(position.offset) };
    this.events.push({
      room_id: roomId,
      room_seq: roomSeq,
      ...position,
      event_id: eventId,
      room_version: '10',
      stream_ordering: position.offset,
      type: event.type,
      state_key: event.state_key ?? null,
      sender: event.sender,
      pdu_json: JSON.stringify(pdu),
      redacted_by: null,
      txn_device_id: transaction?.device_id ?? null,
      txn_id: transaction?.txn_id ?? null,
    });
    if (event.state_key !== undefined) {
      (this.state.get(roomId) ?? this.state.set(roomId, new Map()).get(roomId)!).set(`${event.type}\u0000${event.state_key}`, eventId);
      if (event.type === 'm.room.member') {
        const userId = event.state_key as UserId;
        const membership = typeof event.content['membership'] === 'string' ? event.content['membership'] : 'leave';
        (this.memberships.get(userId) ?? this.memberships.set(userId, new Map()).get(userId)!).set(roomId, membership);
        this.membershipChanges.push({ user_id: userId, room_id: roomId, membership, event_id: eventId, ...position });
      }
    }
    return eventId;
  }

  putAccountData(userId: UserId, roomId: RoomId | '', type: string, content: Record<string, unknown>): void {
    const position = this.advance('accountData');
    const index = this.accountData.findIndex((row) => row.user_id === userId && row.room_id === roomId && row.type === type);
    if (index >= 0) this.accountData.splice(index, 1);
    this.accountData.push({ user_id: userId, room_id: roomId, type, content: JSON.stringify(content), ...position });
  }

  sendToDevice(userId: UserId, deviceId: DeviceId, sender: UserId, type: string, content: Record<string, unknown>): void {
    this.toDevice.push({ user_id: userId, device_id: deviceId, sender, type, content: JSON.stringify(content), ...this.advance('toDevice') });
  }

  /** What is still in a device's inbox (acknowledged messages are deleted). */
  inboxSize(userId: UserId, deviceId: DeviceId): number {
    return this.toDevice.filter((row) => row.user_id === userId && row.device_id === deviceId).length;
  }

  setPresence(userId: UserId, presence: string, lastActiveTs: number): void {
    const index = this.presence.findIndex((row) => row.user_id === userId);
    if (index >= 0) this.presence.splice(index, 1);
    this.presence.push({ user_id: userId, presence, status_msg: null, last_active_ts: String(lastActiveTs), currently_active: presence === 'online', ...this.advance('presence') });
  }

  changeDevices(userId: UserId): void {
    const index = this.deviceLists.findIndex((row) => row.user_id === userId);
    if (index >= 0) this.deviceLists.splice(index, 1);
    this.deviceLists.push({ user_id: userId, ...this.advance('deviceLists') });
  }

  private membershipOf(userId: UserId, roomId: RoomId): string | undefined {
    return this.memberships.get(userId)?.get(roomId);
  }

  private sharing(userId: UserId): Set<UserId> {
    const users = new Set<UserId>();
    for (const [other, rooms] of this.memberships) {
      for (const [roomId, membership] of rooms) if (membership === 'join' && this.membershipOf(userId, roomId) === 'join') users.add(other);
    }
    return users;
  }

  private stateBefore(roomId: RoomId, beforeSeq: number, keep: (event: SyncEvent) => boolean): SyncEvent[] {
    const latest = new Map<string, SyncEvent>();
    for (const event of this.events) {
      if (event.room_id === roomId && event.room_seq < beforeSeq && event.state_key !== null && keep(event)) latest.set(`${event.type}\u0000${event.state_key}`, event);
    }
    return [...latest.values()];
  }

  repositories(): SyncRepositories {
    const unused = (what: string) => async (): Promise<never> => {
      throw new Error(`${what} writes the read model: the in-memory store is written with its own helpers`);
    };
    return {
      positions: { heads: async (): Promise<SyncToken> => structuredClone(this.heads), passDeadLettered: unused('positions.passDeadLettered'), pass: unused('positions.pass') },
      roomEvents: {
        apply: unused('roomEvents.apply'),
        applyMessages: unused('roomEvents.applyMessages'),
        timeline: async (roomId, windows, limit, ignored = [], beforeSeq = Number.MAX_SAFE_INTEGER) =>
          this.events
            .filter((e) => e.room_id === roomId && inWindows(e, windows) && e.room_seq < beforeSeq)
            .filter((e) => e.state_key !== null || !ignored.includes(e.sender))
            .slice(-(limit + 1)),
        stateChanges: async (roomId, afterSeq, beforeSeq) => this.stateBefore(roomId, beforeSeq, (e) => e.room_seq > afterSeq),
        stateBefore: async (roomId, beforeSeq, type, stateKeys) => this.stateBefore(roomId, beforeSeq, (e) => type === undefined || (e.type === type && (stateKeys ?? []).includes(e.state_key ?? ''))),
        visibilityStateBefore: async (roomId, beforeSeq, userId) =>
          this.stateBefore(roomId, beforeSeq, (e) => (e.type === 'm.room.history_visibility' && e.state_key === '') || (e.type === 'm.room.member' && e.state_key === userId)).map(
            (e) => JSON.parse(e.pdu_json) as VisibilityEvent,
          ),
        lastJoinSeq: async (roomId, userId) => {
          const joins = this.events.filter((e) => e.room_id === roomId && e.type === 'm.room.member' && e.state_key === userId && JSON.parse(e.pdu_json).content.membership === 'join');
          const last = joins[joins.length - 1];
          return last === undefined ? undefined : BigInt(last.room_seq);
        },
        currentState: async (roomId, types) =>
          [...(this.state.get(roomId)?.values() ?? [])].map((id) => this.events.find((e) => e.event_id === id)!).filter((e) => types === undefined || types.includes(e.type)),
        currentStateOf: async (roomIds, types) =>
          roomIds.flatMap((roomId) =>
            [...(this.state.get(roomId)?.values() ?? [])].map((id) => this.events.find((e) => e.event_id === id)!).filter((e) => types === undefined || types.includes(e.type)),
          ),
        eventsByIds: async (ids) => this.events.filter((e) => ids.includes(e.event_id)),
        seqAt: async (roomId, windows) =>
          Math.max(0, ...this.events.filter((e) => e.room_id === roomId && inWindows(e, windows.map((w) => ({ partition: w.partition, after: -1, upTo: w.after })))).map((e) => e.room_seq)),
        seqOf: async (eventId) => this.events.find((e) => e.event_id === eventId)?.room_seq,
        partitionsOf: async (roomIds) =>
          new Map(roomIds.flatMap((roomId) => {
            const partitions = [...new Set(this.events.filter((e) => e.room_id === roomId).map((e) => e.partition))].sort((a, b) => a - b);
            return partitions.length > 0 ? [[roomId, partitions] as const] : [];
          })),
      },
      memberships: {
        ofUser: async (userId) => new Map(this.memberships.get(userId) ?? []),
        changesOfUser: async (userId, since, upTo) => this.membershipChanges.filter((c) => c.user_id === userId && between(c, since, upTo)),
        changesInRooms: async (roomIds, since, upTo) => this.membershipChanges.filter((c) => roomIds.includes(c.room_id) && between(c, since, upTo)),
        joinedMembers: async (roomIds) =>
          [...this.memberships].flatMap(([userId, rooms]) => roomIds.filter((roomId) => rooms.get(roomId) === 'join').map((roomId) => ({ room_id: roomId, user_id: userId }))),
        stillSharing: async (userId, userIds) => new Set(userIds.filter((user) => this.sharing(userId).has(user))),
        shareRoom: async (userId, otherId) => this.sharing(userId).has(otherId),
        countsOf: async (roomIds, heroes) =>
          new Map(
            roomIds.flatMap((roomId) => {
              const members = [...this.memberships].flatMap(([userId, rooms]) => (['join', 'invite'].includes(rooms.get(roomId) ?? '') ? [{ userId, membership: rooms.get(roomId) }] : []));
              if (members.length === 0) return [];
              const counts = {
                joined: members.filter((m) => m.membership === 'join').length,
                invited: members.filter((m) => m.membership === 'invite').length,
                heroes: members.map((m) => m.userId).sort().slice(0, heroes),
              };
              return [[roomId, counts] as const];
            }),
          ),
      },
      accountData: {
        apply: unused('accountData.apply'),
        changed: async (userId, since, upTo) => this.accountData.filter((row) => row.user_id === userId && between(row, since, upTo)),
        get: async (userId, roomId, type) => {
          const row = this.accountData.find((r) => r.user_id === userId && r.room_id === roomId && r.type === type);
          return row === undefined ? undefined : (JSON.parse(row.content) as Record<string, unknown>);
        },
      },
      receipts: { apply: unused('receipts.apply'), changed: async () => [] },
      typing: { apply: unused('typing.apply'), typing: async () => new Map(), active: async () => [] },
      presence: {
        apply: unused('presence.apply'),
        changedFor: async (userId, since, upTo) => this.presence.filter((row) => (row.user_id === userId || this.sharing(userId).has(row.user_id)) && between(row, since, upTo)),
        ofUsers: async (userIds, upTo) => this.presence.filter((row) => userIds.includes(row.user_id) && between(row, undefined, upTo)),
        of: async (userId) => this.presence.find((row) => row.user_id === userId),
        present: async () => this.presence.filter((row) => row.presence !== 'offline'),
      },
      toDevice: {
        apply: unused('toDevice.apply'),
        ack: async (userId, deviceId, acked) => {
          for (let i = this.toDevice.length - 1; i >= 0; i--) {
            const row = this.toDevice[i]!;
            if (row.user_id === userId && row.device_id === deviceId && Number(row.offset) <= (acked[row.partition] ?? -1)) this.toDevice.splice(i, 1);
          }
        },
        inbox: async (userId, deviceId, after, upTo, limit) => this.toDevice.filter((row) => row.user_id === userId && row.device_id === deviceId && between(row, after, upTo)).slice(0, limit),
      },
      deviceLists: {
        apply: unused('deviceLists.apply'),
        changedFor: async (userId, since, upTo) =>
          this.deviceLists.filter((row) => (row.user_id === userId || this.sharing(userId).has(row.user_id)) && between(row, since, upTo)).map((row) => row.user_id),
      },
    };
  }
}

function inWindows(event: { partition: number; offset: string }, windows: readonly PartitionWindow[]): boolean {
  return windows.some((w) => event.partition === w.partition && Number(event.offset) > w.after && Number(event.offset) <= w.upTo);
}
