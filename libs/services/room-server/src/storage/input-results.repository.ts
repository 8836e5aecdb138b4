import type { EventId, RoomId } from '@axon/matrix-identifiers';
import type { InputResultRow, Queryable } from './rows';

/** An outcome to record for an input request. */
export type InputResultRecord =
  | { readonly requestId: string; readonly roomId: RoomId; readonly eventId: EventId }
  | { readonly requestId: string; readonly roomId: RoomId | undefined; readonly errcode: string; readonly error: string };

/** `input_results`: the outcome of each input request ID, for idempotency and for late readers (`GetInputResult`). */
export class InputResultsRepository {
  async get(q: Queryable, requestId: string): Promise<InputResultRow | undefined> {
    return (await this.getMany(q, [requestId])).get(requestId);
  }

  async getMany(q: Queryable, requestIds: readonly string[]): Promise<Map<string, InputResultRow>> {
    if (requestIds.length === 0) return new Map();
    const rows = (await q.query(`SELECT request_id, room_id, event_id, errcode, error FROM input_results WHERE request_id = ANY($1)`, [requestIds])) as InputResultRow[];
    return new Map(rows.map((row) => [row.request_id, row]));
  }

  /**
   * Records outcomes in one statement; an outcome already recorded for a request wins.
   * Returns how many were new (fewer than `records` when one was recorded before).
   */
  async record(q: Queryable, records: readonly InputResultRecord[], now: number): Promise<number> {
    if (records.length === 0) return 0;
    const field = (record: InputResultRecord, name: 'eventId' | 'errcode' | 'error'): string | null => (name in record ? (record as Record<string, string>)[name]! : null);
    const inserted = (await q.query(
      `INSERT INTO input_results (request_id, room_id, event_id, errcode, error, created_at)
       SELECT request_id, room_id, event_id, errcode, error, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         AS t(request_id, room_id, event_id, errcode, error)
       ON CONFLICT (request_id) DO NOTHING
       RETURNING 1`,
      [
        records.map((r) => r.requestId),
        records.map((r) => r.roomId ?? null),
        records.map((r) => field(r, 'eventId')),
        records.map((r) => field(r, 'errcode')),
        records.map((r) => field(r, 'error')),
        now,
      ],
    )) as unknown[];
    return inserted.length;
  }
}
