import type { UserId } from '@axon/matrix-identifiers';
import type { DeviceListsRepository } from '../storage/device-lists.repository';
import type { MembershipsRepository } from '../storage/memberships.repository';
import type { PublicOf } from '../storage/sync-repositories';
import { unchanged, type SyncWindow } from './sync-window';

/** Who started and who stopped sharing a joined room with the user in a sync's window. */
export interface Sharing {
  readonly started: ReadonlySet<UserId>;
  readonly stopped: readonly UserId[];
}

/** The `device_lists` section, and the changes in who shares a room with the user it is built from. */
export class DeviceListsBuilder {
  constructor(
    private readonly memberships: PublicOf<MembershipsRepository>,
    private readonly deviceLists: PublicOf<DeviceListsRepository>,
  ) {}

  /**
   * Who started or stopped sharing a room with the user since `since`: the members of
   * rooms they joined and users who joined their rooms (`started`); the members of rooms
   * they left and users who left their rooms, if no room is shared any more (`stopped`).
   */
  async sharing(window: SyncWindow): Promise<Sharing> {
    const { userId, since, heads, memberships, changes: mine } = window;
    if (since === undefined || unchanged(since, heads, 'rooms')) return { started: new Set(), stopped: [] };
    const started = new Set<UserId>();
    const candidates = new Set<UserId>();
    const joinedByMe = new Set(mine.filter((change) => change.membership === 'join').map((change) => change.room_id));
    const leftByMe = new Set(mine.filter((change) => change.membership === 'leave' || change.membership === 'ban').map((change) => change.room_id));
    for (const change of await this.memberships.changesInRooms([...memberships.keys()], since.rooms, heads.rooms)) {
      if (change.user_id === userId) continue;
      if (change.membership === 'join' && memberships.get(change.room_id) === 'join') started.add(change.user_id);
      if (change.membership === 'leave' || change.membership === 'ban') candidates.add(change.user_id);
    }
    for (const member of await this.memberships.joinedMembers([...joinedByMe].filter((roomId) => memberships.get(roomId) === 'join'))) if (member.user_id !== userId) started.add(member.user_id);
    for (const member of await this.memberships.joinedMembers([...leftByMe].filter((roomId) => memberships.get(roomId) !== 'join'))) candidates.add(member.user_id);
    candidates.delete(userId);
    const still = await this.memberships.stillSharing(userId, [...candidates]);
    const stopped = [...candidates].filter((user) => !still.has(user));
    for (const user of stopped) started.delete(user);
    return { started, stopped };
  }

  /**
   * Device-list changes since `since`: users sharing a room whose devices changed, and
   * users who started sharing a room with the user (`changed`); users who no longer share
   * any room with them (`left`).
   */
  async build(window: SyncWindow, sharing: Sharing): Promise<{ changed: UserId[]; left: UserId[] }> {
    const { userId, since, heads } = window;
    if (since === undefined) return { changed: [], left: [] };
    const changed = new Set(unchanged(since, heads, 'deviceLists') ? [] : await this.deviceLists.changedFor(userId, since.deviceLists, heads.deviceLists));
    for (const user of sharing.started) changed.add(user);
    const left = [...sharing.stopped];
    return { changed: [...changed].filter((user) => !left.includes(user)).sort(), left: left.sort() };
  }
}
