import type { UserId } from '@axon/matrix-identifiers';
import type { PresenceRepository, PresenceRow } from '../storage/presence.repository';
import type { PublicOf } from '../storage/sync-repositories';
import { filtered, unchanged, type Json, type SyncRequest, type SyncWindow } from './sync-window';

/**
 * Presence events for a sync: the changes since `since` of the user and everyone sharing a
 * room with them (all of them on an initial sync), and the presence of users who only now
 * share a room with the user (`started`), whatever its age. None when presence is off.
 */
export class PresenceBuilder {
  constructor(
    private readonly presence: PublicOf<PresenceRepository>,
    private readonly enabled: boolean,
  ) {}

  async build(request: SyncRequest, window: SyncWindow, started: ReadonlySet<UserId>): Promise<Json[]> {
    const { since, heads } = window;
    if (!this.enabled) return [];
    const rows = unchanged(since, heads, 'presence') ? [] : await this.presence.changedFor(request.userId, since?.presence, heads.presence);
    const seen = new Set(rows.map((row) => row.user_id));
    const newcomers = [...started].filter((user) => !seen.has(user));
    const all = [...rows, ...(await this.presence.ofUsers(newcomers, heads.presence))];
    return filtered(
      request.filter.presence,
      all.map((row) => presenceEvent(row)),
      (event) => event['sender'] as string,
    );
  }
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
