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
    const last = rows[rows.length - 1];
    if (rows.length === TO_DEVICE_LIMIT && last !== undefined) {
      const positions = [...heads.toDevice];
      positions[last.partition] = Number(last.offset);
      next = positions;
    }
    return { events: rows.map((row) => ({ sender: row.sender, type: row.type, content: JSON.parse(row.content) as Json })), next };
  }
}
