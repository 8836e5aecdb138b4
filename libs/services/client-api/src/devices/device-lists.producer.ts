import { Injectable } from '@nestjs/common';
import { deviceListTopic, type DeviceListChange } from '@axon/contracts-kafka';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import { InjectBus } from '@axon/platform-runtime';

/**
 * Announces device additions, updates and removals on `hs.device-list.v1` (sync tells the
 * users who share a room with the owner; federation will tell remote servers).
 *
 * Callers publish after the transaction that changed the devices committed, never inside
 * it: a consumer must not hear of a device that a rollback then took back. The price is
 * that a crash between the commit and the publication loses the announcement (no outbox
 * here yet); the publication's failure fails the request, so the client sees an error.
 */
@Injectable()
export class DeviceListsProducer {
  constructor(@InjectBus() private readonly bus: MessageBus) {}

  async publish(userId: UserId, deviceIds: readonly DeviceId[], change: DeviceListChange['change']): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.bus.publish(
      deviceListTopic,
      deviceIds.map((deviceId) => ({ user_id: userId, device_id: deviceId, change })),
    );
  }
}
