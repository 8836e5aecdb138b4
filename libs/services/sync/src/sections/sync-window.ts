import type { DeviceId, RoomId, UserId } from '@axon/matrix-identifiers';
import { eventFilterAllows, type EventFilter, type Filter } from '@axon/matrix-filters';
import type { ClientConnection } from '../long-poll';
import type { MembershipChange } from '../storage/memberships.repository';
import type { StreamName, SyncToken } from '../sync-token';

export type Json = Record<string, unknown>;

/** A `/sync` request, parsed. */
export interface SyncRequest {
  /** Its connection: when the client goes away, a long-poll answers at once. */
  readonly client?: ClientConnection;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly since?: string;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  readonly filter: Filter;
}

/** What a request's `since` and the read model's heads say about one sync. */
export interface SyncWindow {
  readonly userId: UserId;
  readonly since: SyncToken | undefined;
  readonly heads: SyncToken;
  readonly ignored: ReadonlySet<UserId>;
  /** The user's memberships now: room → membership. */
  readonly memberships: ReadonlyMap<RoomId, string>;
  /** The user's own membership changes in the window, oldest first. */
  readonly changes: readonly MembershipChange[];
}

/** Whether no partition of a stream moved between `since` and the heads (none may be left to read). */
export function unchanged(since: SyncToken | undefined, heads: SyncToken, stream: StreamName): boolean {
  if (since === undefined) return false;
  const before = since[stream];
  return heads[stream].every((offset, partition) => offset === before[partition]);
}

/** The ephemeral, account data or presence events an event filter lets through, at most its `limit`. */
export function filtered(filter: EventFilter, events: readonly Json[], sender: (event: Json) => string): Json[] {
  const kept = events.filter((event) => eventFilterAllows(filter, { type: event['type'] as string, sender: sender(event) }));
  return filter.limit === undefined ? kept : kept.slice(0, filter.limit);
}

/** Bounded per-process memories (forgetting an entry only costs a query). */
export const MEMORY_LIMIT = 100_000;
