import type { EventId, RoomId } from '@axon/matrix-identifiers';
import type { Queryable, StoredEvent } from '../storage/rows';
import type { EventsRepository } from '../storage/events.repository';

export interface WalkOptions {
  readonly limit: number;
  /** Events never walked past nor returned (those the asking server has). */
  readonly stop: ReadonlySet<string>;
  /** Events shallower than this are not returned. */
  readonly minDepth: number;
  /** Return the from events themselves too (backfill). */
  readonly includeFrom: boolean;
}

function prevEventIds(pduJson: string): EventId[] {
  const prev = (JSON.parse(pduJson) as { prev_events?: unknown }).prev_events;
  if (!Array.isArray(prev)) return [];
  return prev.map((ref) => (Array.isArray(ref) ? ref[0] : ref)).filter((id): id is EventId => typeof id === 'string');
}

/**
 * The events before `from` in a room's DAG, following `prev_events`, deepest first: the
 * order backfill answers in, and the walk `get_missing_events` makes from the asking
 * server's latest events to its earliest. A priority queue by depth, so where branches
 * meet the deeper events come first; each step reads the prev events it reaches in one
 * query. Rejected events and events of other rooms are not walked.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#backfilling-and-retrieving-missing-events
 */
export async function walkPrevEvents(q: Queryable, events: EventsRepository, roomId: RoomId, from: readonly EventId[], options: WalkOptions): Promise<StoredEvent[]> {
  const seen = new Set<string>(from);
  const queue: StoredEvent[] = [];
  const result: StoredEvent[] = [];
  const admit = (loaded: readonly StoredEvent[]): void => {
    for (const event of loaded) if (event.room_id === roomId && event.status !== 'rejected') queue.push(event);
    queue.sort((a, b) => a.depth - b.depth);
  };
  const load = async (ids: readonly EventId[]): Promise<StoredEvent[]> => {
    const fresh = ids.filter((id) => !seen.has(id) && !options.stop.has(id));
    for (const id of fresh) seen.add(id);
    return fresh.length === 0 ? [] : events.byIds(q, fresh);
  };
  const start = (await events.byIds(q, from.filter((id) => !options.stop.has(id)))).filter((event) => event.room_id === roomId && event.status !== 'rejected');
  if (options.includeFrom) admit(start);
  else admit(await load(start.flatMap((event) => prevEventIds(event.pdu_json))));
  while (result.length < options.limit && queue.length > 0) {
    const next = queue.pop()!;
    if (next.depth < options.minDepth) continue;
    result.push(next);
    admit(await load(prevEventIds(next.pdu_json)));
  }
  return result;
}
