import type { RoomId, UserId } from '@axon/matrix-identifiers';
import type { ReceiptsRepository } from '../storage/receipts.repository';
import type { PublicOf } from '../storage/sync-repositories';
import type { TypingRepository } from '../storage/typing.repository';
import type { SyncToken } from '../sync-token';
import { unchanged, type Json } from './sync-window';

/**
 * The ephemeral events of the joined rooms: `m.typing` where typing changed (or, on an
 * initial sync, where someone types) and `m.receipt` with the receipts that moved
 * (everyone's public ones; private ones only the user's own).
 */
export class EphemeralBuilder {
  constructor(
    private readonly typing: PublicOf<TypingRepository>,
    private readonly receipts: PublicOf<ReceiptsRepository>,
  ) {}

  async build(userId: UserId, roomIds: readonly RoomId[], since: SyncToken | undefined, heads: SyncToken): Promise<Map<RoomId, Json[]>> {
    const events = new Map<RoomId, Json[]>();
    const add = (roomId: RoomId, event: Json): void => void (events.get(roomId) ?? events.set(roomId, []).get(roomId)!).push(event);
    const typing = unchanged(since, heads, 'typing') ? new Map<RoomId, UserId[]>() : await this.typing.typing(roomIds, since?.typing, heads.typing, Date.now());
    for (const [roomId, users] of typing) {
      if (since !== undefined || users.length > 0) add(roomId, { type: 'm.typing', content: { user_ids: users } });
    }
    const receipts = new Map<RoomId, Json>();
    for (const row of unchanged(since, heads, 'receipts') ? [] : await this.receipts.changed(roomIds, since?.receipts, heads.receipts)) {
      if (row.receipt_type === 'm.read.private' && row.user_id !== userId) continue;
      const content = receipts.get(row.room_id) ?? receipts.set(row.room_id, {}).get(row.room_id)!;
      const byType = ((content[row.event_id] ??= {}) as Json)[row.receipt_type] ??= {};
      (byType as Json)[row.user_id] = { ts: Number(row.ts), ...(row.thread_id === '' ? {} : { thread_id: row.thread_id }) };
    }
    for (const [roomId, content] of receipts) add(roomId, { type: 'm.receipt', content });
    return events;
  }
}
