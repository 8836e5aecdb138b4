import { presenceTopic, type PresenceState } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import type { UserId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import type { CatchUp } from './catch-up';
import { presenceEvent } from './sections/presence.builder';
import type { SyncRepositories } from './storage/sync-repositories';

/** A syncing client refreshes its user's `last_active_ts` at most this often. */
const ACTIVITY_REFRESH_MS = 60_000;
const MARKED_LIMIT = 100_000;

/**
 * Presence: set by clients (`PUT /presence/{userId}/status`) and by syncing
 * (`set_presence`), published on `hs.edu.presence.v1` (ephemeral, never the room log) and
 * read back from the sync read model. With presence disabled by config nothing is
 * published and every user reads as `offline`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#presence
 */
export class PresenceService {
  /** Users this process marked by their syncs lately, and when. */
  private readonly marked = new Map<UserId, { presence: PresenceState; at: number }>();

  constructor(
    private readonly bus: MessageBus,
    private readonly repositories: Pick<SyncRepositories, 'presence' | 'memberships'>,
    readonly enabled: boolean,
    private readonly catchUp?: Pick<CatchUp, 'wait'>,
  ) {}

  /**
   * A `/sync` with `set_presence`: `online` marks the user online and active (at most
   * once a minute while nothing else changes), `unavailable` marks them unavailable,
   * `offline` leaves their presence as it is.
   */
  async onSync(userId: UserId, setPresence: PresenceState): Promise<void> {
    if (!this.enabled || setPresence === 'offline') return;
    const now = Date.now();
    // This process marked the user so a moment ago: no need to read it back.
    const recent = this.marked.get(userId);
    if (recent !== undefined && recent.presence === setPresence && now - recent.at < ACTIVITY_REFRESH_MS) return;
    const current = await this.repositories.presence.of(userId);
    const fresh = current !== undefined && now - Number(current.last_active_ts) < ACTIVITY_REFRESH_MS;
    if (setPresence === 'online' && current?.presence === 'online' && current.currently_active && fresh) return this.mark(userId, setPresence, Number(current.last_active_ts));
    if (setPresence === 'unavailable' && current?.presence === 'unavailable') return this.mark(userId, setPresence, now);
    await this.bus.publish(presenceTopic, [{ user_id: userId, presence: setPresence, last_active_ts: now, currently_active: setPresence === 'online' }]);
    this.mark(userId, setPresence, now);
  }

  private mark(userId: UserId, presence: PresenceState, at: number): void {
    // A bounded memory of recent marks; forgetting one only costs a read.
    if (this.marked.size >= MARKED_LIMIT) this.marked.clear();
    this.marked.set(userId, { presence, at });
  }

  /** `PUT /presence/{userId}/status`: only for oneself; `status_msg` absent clears it. */
  async set(requester: UserId, userId: UserId, body: unknown): Promise<void> {
    if (requester !== userId) throw new MatrixError('M_FORBIDDEN', 'You can only set your own presence', 403);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MatrixError('M_BAD_JSON', 'the body must be a JSON object', 400);
    const { presence, status_msg: statusMsg } = body as Record<string, unknown>;
    if (typeof presence !== 'string') throw new MatrixError('M_BAD_JSON', 'presence is required and must be a string', 400);
    if (presence !== 'online' && presence !== 'offline' && presence !== 'unavailable') throw new MatrixError('M_INVALID_PARAM', 'presence must be online, offline or unavailable', 400);
    if (statusMsg !== undefined && typeof statusMsg !== 'string') throw new MatrixError('M_BAD_JSON', 'status_msg must be a string', 400);
    if (!this.enabled) return;
    const now = Date.now();
    await this.bus.publish(presenceTopic, [{ user_id: userId, presence, status_msg: statusMsg ?? null, last_active_ts: now, currently_active: presence === 'online' }]);
    // The next sync reads what the client set, rather than trusting an older mark.
    this.marked.delete(userId);
  }

  /** `GET /presence/{userId}/status`: oneself, or a user sharing a room with the requester; `offline` for one with no presence yet. */
  async get(requester: UserId, userId: UserId): Promise<Record<string, unknown>> {
    if (requester !== userId && !(await this.repositories.memberships.shareRoom(requester, userId))) throw new MatrixError('M_FORBIDDEN', "You are not allowed to see this user's presence", 403);
    if (!this.enabled) return { presence: 'offline' };
    // Read-your-writes, as for /sync: a `PUT` answered before this request is applied
    // (the read model applies the bus asynchronously; on Kafka that is not at once).
    await this.catchUp?.wait();
    // A user who never set presence nor synced is offline (not 404: the user may exist).
    const row = await this.repositories.presence.of(userId);
    if (row === undefined) return { presence: 'offline' };
    return presenceEvent(row)['content'] as Record<string, unknown>;
  }
}
