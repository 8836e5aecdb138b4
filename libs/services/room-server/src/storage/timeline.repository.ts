import type { RoomId } from '@axon/matrix-identifiers';
import { EVENT_COLUMNS, type Queryable, type StoredEvent } from './rows';

/** A page of a room's events by stream position. */
export interface PageRequest {
  readonly from?: string;
  readonly to?: string;
  readonly direction: 'b' | 'f';
  readonly limit: number;
}

/** Pagination over a room's events in stream order (`events_room_nid`). */
export class TimelineRepository {
  /** Room events by stream position: backwards (newest first) or forwards, exclusive of `from`. */
  async paginate(q: Queryable, roomId: RoomId, page: PageRequest): Promise<StoredEvent[]> {
    const params: unknown[] = [roomId, page.limit];
    // Outliers, rejected and soft-failed events have no room_seq: never in the timeline.
    const conditions = ['room_id = $1', 'room_seq IS NOT NULL'];
    if (page.from !== undefined) {
      params.push(page.from);
      conditions.push(page.direction === 'b' ? `nid < $${params.length}::bigint` : `nid > $${params.length}::bigint`);
    }
    if (page.to !== undefined) {
      params.push(page.to);
      conditions.push(page.direction === 'b' ? `nid >= $${params.length}::bigint` : `nid <= $${params.length}::bigint`);
    }
    return (await q.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY events.nid ${page.direction === 'b' ? 'DESC' : 'ASC'} LIMIT $2`,
      params,
    )) as StoredEvent[];
  }
}
