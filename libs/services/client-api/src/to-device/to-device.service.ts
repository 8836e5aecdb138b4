import { Injectable } from '@nestjs/common';
import { toDeviceTopic, type ToDeviceMessages } from '@axon/contracts-kafka';
import { getUserIdServerName, parseHistoricalUserId, type UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import type { MessageBus } from '@axon/platform-bus';
import { InjectBus, InjectConfig } from '@axon/platform-runtime';
import type { JsonObject } from '@axon/platform-http';
import type { Requester } from '../auth/requester';
import { DevicesRepository } from '../storage/devices.repository';
import { ToDeviceTxnsRepository } from '../storage/to-device-txns.repository';
import { expandDevices, parseToDeviceRequest, toDeviceMessageId } from './to-device-messages';

/**
 * `PUT /sendToDevice/{eventType}/{txnId}`: one `hs.todevice.v1` message per recipient:
 * for a local one, `*` expanded to its devices as they are now; for another server's
 * user, the messages as the client sent them (the federation sender delivers them as an
 * `m.direct_to_device` EDU). A transaction ID
 * the device already used for this event type is answered without sending again (a
 * record kept a day); a retry racing the first, or one whose record failed after the
 * publish, still carries the same `message_id`, which sync keeps one copy of per inbox.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#send-to-device-messaging
 */
@Injectable()
export class ToDeviceService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly devices: DevicesRepository,
    @InjectBus() private readonly bus: MessageBus,
    private readonly txns: ToDeviceTxnsRepository,
  ) {}

  async send(requester: Requester, eventType: string, txnId: string, body: JsonObject): Promise<void> {
    const request = parseToDeviceRequest(body);
    if (await this.txns.seen(requester.userId, requester.deviceId, eventType, txnId)) return;
    const batch: ToDeviceMessages[] = [];
    for (const [recipient, byDevice] of request) {
      const message = { recipient, sender: requester.userId, type: eventType, message_id: toDeviceMessageId(requester, eventType, txnId, recipient) };
      const local = this.localUser(recipient);
      if (local === undefined) {
        if (byDevice.size === 0) continue;
        // Another server's user: the federation sender sends the messages as they are,
        // `*` included, and the recipient's server expands it to the devices it knows.
        batch.push({ ...message, messages: Object.fromEntries(byDevice) });
        continue;
      }
      const devices = (await this.devices.list(local)).map((device) => device.device_id);
      const messages = expandDevices(byDevice, devices);
      if (Object.keys(messages).length === 0) continue;
      batch.push({ ...message, messages });
    }
    if (batch.length > 0) await this.bus.publish(toDeviceTopic, batch);
    await this.txns.record(requester.userId, requester.deviceId, eventType, txnId);
  }

  /** The recipient, parsed, if it is a local user. */
  private localUser(userId: string): UserId | undefined {
    const parsed = parseHistoricalUserId(userId);
    return parsed.ok && getUserIdServerName(parsed.value) === this.config.server_name ? parsed.value : undefined;
  }
}
