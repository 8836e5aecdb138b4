import type { PublicOf } from '../storage/sync-repositories';
import type { ToDeviceRepository } from '../storage/to-device.repository';
import type { StreamPositions, SyncToken } from '../sync-token';
import { MEMORY_LIMIT, unchanged, type Json, type SyncRequest } from './sync-window';

/** At most this many to-device messages per response; the rest come with the next. */
export const TO_DEVICE_LIMIT = 100;

/**
 * The device's to-device messages for a sync. The ones at or before `since` were delivered
 * and are now acknowledged, so they are deleted (once per position and device).
 */
export class ToDeviceBuilder {
  /** Per device inbox, the to-device positions up to which its messages were deleted. */
  private readonly acked = new Map<string, string>();

  constructor(private readonly toDevice: PublicOf<ToDeviceRepository>) {}

  /**
   * The messages after `since` (at most `TO_DEVICE_LIMIT`) and the to-device positions of
   * the next token: the heads, or only past the last one delivered when more are waiting.
   */
  async build(request: SyncRequest, since: SyncToken | undefined, heads: SyncToken): Promise<{ events: Json[]; next: StreamPositions }> {
    const inbox = `${request.userId}\u0000${request.deviceId}`;
    if (since !== undefined) {
      const position = since.toDevice.join('.');
      if (this.acked.get(inbox) !== position) {
        await this.toDevice.ack(request.userId, request.deviceId, since.toDevice);
        if (this.acked.size >= MEMORY_LIMIT) this.acked.clear();
        this.acked.set(inbox, position);
      }
    }
    if (unchanged(since, heads, 'toDevice')) return { events: [], next: heads.toDevice };
    const rows = await this.toDevice.inbox(request.userId, request.deviceId, since?.toDevice, heads.toDevice, TO_DEVICE_LIMIT);
    let next = heads.toDevice;
    if (rows.length === TO_DEVICE_LIMIT) {
      // More are waiting: each partition only up to its last message delivered (the rest of a
      // partition comes after it), the others where they were (they may hold later ones).
      const positions = heads.toDevice.map((_, partition) => since?.toDevice[partition] ?? -1);
      for (const row of rows) positions[row.partition] = Math.max(positions[row.partition] ?? -1, Number(row.offset));
      next = positions;
    }
    return { events: rows.map((row) => ({ sender: row.sender, type: row.type, content: JSON.parse(row.content) as Json })), next };
  }
}
