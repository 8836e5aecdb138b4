import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { AnyTopic } from '@axon/contracts-kafka';
import type { AxonConfig } from '@axon/platform-config';
import type { MessageBus } from '@axon/platform-bus';
import type { Requester } from '../auth/requester';
import type { DevicesRepository } from '../storage/devices.repository';
import type { ToDeviceTxnsRepository } from '../storage/to-device-txns.repository';
import { ToDeviceService } from './to-device.service';

/** ToDeviceService over a fake device store and a bus that records what is published. */
function setup(devicesOf: Record<string, string[]>) {
  const published: { topic: string; messages: unknown[] }[] = [];
  const bus = {
    publish: (topic: AnyTopic, messages: readonly unknown[]) => {
      published.push({ topic: topic.name, messages: [...messages] });
      return Promise.resolve();
    },
  } as unknown as MessageBus;
  const devices = { list: (userId: string) => Promise.resolve((devicesOf[userId] ?? []).map((device_id) => ({ device_id }))) } as unknown as DevicesRepository;
  const config = { server_name: 'hs.test' } as AxonConfig;
  const seen = new Set<string>();
  const txns = {
    seen: (userId: string, deviceId: string, type: string, txnId: string) => Promise.resolve(seen.has([userId, deviceId, type, txnId].join('|'))),
    record: (userId: string, deviceId: string, type: string, txnId: string) => Promise.resolve(void seen.add([userId, deviceId, type, txnId].join('|'))),
  } as unknown as ToDeviceTxnsRepository;
  return { service: new ToDeviceService(config, devices, bus, txns), published };
}

const alice: Requester = { userId: '@alice:hs.test' as UserId, deviceId: 'ALICEDEV' as DeviceId, isGuest: false, tokenHash: 'h' };

describe('ToDeviceService.send', () => {
  it('publishes one message per recipient: a local one with * expanded to its devices (a named device winning), a remote one as sent', async () => {
    const { service, published } = setup({ '@bob:hs.test': ['B1', 'B2'], '@carol:hs.test': ['C1'] });
    await service.send(alice, 'm.test', 'txn', {
      messages: {
        '@bob:hs.test': { '*': { n: 'all' }, B2: { n: 'two' } },
        '@carol:hs.test': { C1: { n: 'c' }, GONE: { n: 'dropped' } },
        '@dave:remote.test': { D1: { n: 'for dave' }, '*': { n: 'for the rest' } },
        '@nobody:hs.test': { '*': {} },
      },
    });
    expect(published).toHaveLength(1);
    expect(published[0]!.topic).toBe('hs.todevice.v1');
    expect(published[0]!.messages).toEqual([
      { recipient: '@bob:hs.test', sender: '@alice:hs.test', type: 'm.test', message_id: expect.any(String), messages: { B1: { n: 'all' }, B2: { n: 'two' } } },
      { recipient: '@carol:hs.test', sender: '@alice:hs.test', type: 'm.test', message_id: expect.any(String), messages: { C1: { n: 'c' } } },
      { recipient: '@dave:remote.test', sender: '@alice:hs.test', type: 'm.test', message_id: expect.any(String), messages: { D1: { n: 'for dave' }, '*': { n: 'for the rest' } } },
    ]);
  });

  it('sends a retried request (same device, type and transaction ID) once, and any other request again with another message_id', async () => {
    const { service, published } = setup({ '@bob:hs.test': ['B1'] });
    const body = { messages: { '@bob:hs.test': { B1: {} } } };
    await service.send(alice, 'm.test', 'txn', body);
    await service.send(alice, 'm.test', 'txn', body);
    await service.send(alice, 'm.test', 'txn2', body);
    await service.send(alice, 'm.other', 'txn', body);
    await service.send({ ...alice, deviceId: 'OTHER' as DeviceId }, 'm.test', 'txn', body);
    const ids = published.map((p) => (p.messages[0] as { message_id: string }).message_id);
    expect(ids).toHaveLength(4);
    expect(ids[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(ids).size).toBe(4);
  });

  it('publishes nothing when no device is addressed (a local user without devices)', async () => {
    const { service, published } = setup({});
    await service.send(alice, 'm.test', 'txn', { messages: { '@nobody:hs.test': { '*': {} } } });
    expect(published).toEqual([]);
  });
});
