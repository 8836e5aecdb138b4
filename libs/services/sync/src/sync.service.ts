import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { Wakeups } from '@axon/platform-cache';
import type { CatchUp } from './catch-up';
import { LongPolls } from './long-poll';
import { AccountDataBuilder } from './sections/account-data.builder';
import { DeviceListsBuilder } from './sections/device-lists.builder';
import { EphemeralBuilder } from './sections/ephemeral.builder';
import { EventFormatter } from './sections/event-formatter';
import { PresenceBuilder } from './sections/presence.builder';
import { RoomTimelineBuilder } from './sections/room-timeline.builder';
import { RoomsBuilder, type RoomSection } from './sections/rooms.builder';
import type { Json, SyncRequest, SyncWindow } from './sections/sync-window';
import { unchanged } from './sections/sync-window';
import { ToDeviceBuilder } from './sections/to-device.builder';
import type { SyncRepositories } from './storage/sync-repositories';
import { formatSyncToken, parseSyncToken, SYNC_STREAMS, type SyncToken } from './sync-token';
import type { SyncMetrics } from './sync.metrics';

export type { SyncRequest } from './sections/sync-window';

/** Everything one `/sync` answer holds, before it is written out. */
interface SyncResult {
  readonly sections: Array<{ roomId: RoomId; section: RoomSection }>;
  readonly accountData: Json[];
  readonly presence: Json[];
  readonly toDevice: Json[];
  readonly deviceLists: { changed: UserId[]; left: UserId[] };
  readonly next: SyncToken;
}

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
 * of timelines, and their invites are not shown. A sync first waits (bounded) until the
 * read model holds everything on the bus when it arrived (`CatchUp`), so a client sees
 * the writes any client was answered for before its sync. Each section has its builder
 * (`sections/`); this class reads the window they share and puts the answer together.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync
 */
export class SyncService {
  private readonly longPolls: LongPolls<SyncResult>;
  private readonly accountData: AccountDataBuilder;
  private readonly rooms: RoomsBuilder;
  private readonly toDevice: ToDeviceBuilder;
  private readonly presence: PresenceBuilder;
  private readonly deviceLists: DeviceListsBuilder;

  constructor(
    private readonly repositories: SyncRepositories,
    wakeups: Wakeups,
    presenceEnabled: boolean,
    metrics?: SyncMetrics,
    private readonly catchUp?: CatchUp,
  ) {
    this.longPolls = new LongPolls<SyncResult>(wakeups, metrics);
    this.accountData = new AccountDataBuilder(repositories.accountData);
    const timelines = new RoomTimelineBuilder(repositories.roomEvents, new EventFormatter(repositories.roomEvents));
    this.rooms = new RoomsBuilder(repositories, timelines, new EphemeralBuilder(repositories.typing, repositories.receipts), this.accountData);
    this.toDevice = new ToDeviceBuilder(repositories.toDevice);
    this.presence = new PresenceBuilder(repositories.presence, presenceEnabled);
    this.deviceLists = new DeviceListsBuilder(repositories.memberships, repositories.deviceLists);
  }

  sync(request: SyncRequest): Promise<Json> {
    let since: SyncToken | undefined;
    try {
      since = request.since === undefined ? undefined : parseSyncToken(request.since);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Read-your-writes: every sync (initial, incremental, a long-poll's first look) starts
    // once the read model holds what the bus held when it arrived (`CatchUp`).
    const caughtUp = this.catchUp?.wait() ?? Promise.resolve();
    if (since === undefined || request.timeoutMs <= 0) return caughtUp.then(() => this.compute(request, since)).then(response);
    return this.longPoll(request, request.since!, caughtUp);
  }

  /**
   * Not an async function, and apart from `sync`: a waiting poll holds no frame or extra
   * promise of it, and its closure holds the token as text, parsed again per computation,
   * rather than parsed (a vector per stream, about 1 KB a poll, which a closure in `sync`
   * kept alive, as closures share their scope's variables). The poll starts now, so a
   * client leaving or a release during the catch-up is heard; it computes once caught up.
   */
  private longPoll(request: SyncRequest, since: string, caughtUp: Promise<void>): Promise<Json> {
    return this.longPolls
      .poll({
        userId: request.userId,
        timeoutMs: request.timeoutMs,
        ...(request.client === undefined ? {} : { client: request.client }),
        ready: caughtUp,
        compute: () => this.compute(request, parseSyncToken(since)),
        isEmpty,
      })
      .then(response);
  }

  /**
   * Ends every waiting long-poll now (each answers with what it has) and every later one at
   * once: called when the process shuts down, before the HTTP listener waits for its
   * requests to finish.
   */
  release(): void {
    this.longPolls.release();
  }

  private async compute(request: SyncRequest, since: SyncToken | undefined): Promise<SyncResult> {
    const { userId } = request;
    const heads = await this.repositories.positions.heads();
    if (since !== undefined && !request.fullState && SYNC_STREAMS.every(([stream]) => unchanged(since, heads, stream))) {
      // Nothing was applied since the token (an idle long-poll's usual answer): every section
      // is empty, so none is read. Delivered to-device messages are still acknowledged.
      const toDevice = await this.toDevice.build(request, since, heads);
      return { sections: [], accountData: [], presence: [], toDevice: toDevice.events, deviceLists: { changed: [], left: [] }, next: { ...heads, toDevice: toDevice.next } };
    }
    const accountData = await this.accountData.changed(userId, since, heads);
    const ignored = await this.accountData.ignored(userId, heads);
    const memberships = await this.repositories.memberships.ofUser(userId);
    const changes = since === undefined || unchanged(since, heads, 'rooms') ? [] : await this.repositories.memberships.changesOfUser(userId, since.rooms, heads.rooms);
    const window: SyncWindow = { userId, since, heads, ignored, memberships, changes };
    const sections = await this.rooms.build(request, window, accountData);
    const toDevice = await this.toDevice.build(request, since, heads);
    const sharing = await this.deviceLists.sharing(window);
    return {
      sections,
      accountData: this.accountData.events(request.filter.accountData, accountData, '', userId),
      presence: await this.presence.build(request, window, sharing.started),
      toDevice: toDevice.events,
      deviceLists: await this.deviceLists.build(window, sharing),
      next: { ...heads, toDevice: toDevice.next },
    };
  }
}

function isEmpty(result: SyncResult): boolean {
  return (
    result.sections.length === 0 &&
    result.accountData.length === 0 &&
    result.presence.length === 0 &&
    result.toDevice.length === 0 &&
    result.deviceLists.changed.length === 0 &&
    result.deviceLists.left.length === 0
  );
}

function response(result: SyncResult): Json {
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
