import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { AnyTopic } from '@axon/contracts-kafka';
import type { AxonConfig } from '@axon/platform-config';
import type { MessageBus } from '@axon/platform-bus';
import type { EntityManager } from '@axon/platform-database';
import type { AccountsService } from '../accounts/accounts.service';
import type { Requester } from '../auth/requester';
import { SessionsService } from '../auth/sessions.service';
import type { UiaService } from '../auth/uia.service';
import type { ClientApiStorage } from '../storage/client-api-storage';
import type { DevicesRepository } from '../storage/devices.repository';
import type { TokensRepository } from '../storage/tokens.repository';
import { DeviceListsProducer } from './device-lists.producer';
import { DevicesController } from './devices.controller';

/** Device list announcements: what the device endpoints publish on `hs.device-list.v1`, and when. */
function setup() {
  const log: string[] = [];
  const bus = {
    publish: (topic: AnyTopic, messages: readonly { user_id: string; device_id: string; change: string }[]) => {
      for (const m of messages) log.push(`publish ${topic.name} ${m.user_id} ${m.device_id} ${m.change}`);
      return Promise.resolve();
    },
  } as unknown as MessageBus;
  const existing = new Set(['D1', 'D2']);
  const devices = {
    rename: (_userId: string, deviceId: string) => Promise.resolve(existing.has(deviceId)),
    delete: (_userId: string, ids: readonly string[]) => {
      log.push(`delete ${ids.join(',')}`);
      return Promise.resolve(ids.filter((id) => existing.has(id)));
    },
  } as unknown as DevicesRepository;
  const uia = { authenticate: () => Promise.resolve({}) } as unknown as UiaService;
  const controller = new DevicesController(devices, {} as AccountsService, uia, new DeviceListsProducer(bus));
  return { controller, log };
}

const alice: Requester = { userId: '@alice:hs.test' as UserId, deviceId: 'D1' as DeviceId, isGuest: false, tokenHash: 'h' };

describe('device list changes from the device endpoints', () => {
  it('a display name change is an update', async () => {
    const { controller, log } = setup();
    await controller.rename(alice, 'D2', { display_name: 'phone' });
    expect(log).toEqual(['publish hs.device-list.v1 @alice:hs.test D2 updated']);
  });

  it('a rename of a missing device, or one without a display name, announces nothing', async () => {
    const { controller, log } = setup();
    await expect(controller.rename(alice, 'NOPE', { display_name: 'x' })).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
    expect(log).toEqual([]);
  });

  it('deletions announce, after the delete, the devices that existed', async () => {
    const { controller, log } = setup();
    await controller.deleteMany(alice, { devices: ['D1', 'NOPE', 'D2'], auth: {} });
    expect(log).toEqual(['delete D1,NOPE,D2', 'publish hs.device-list.v1 @alice:hs.test D1 removed', 'publish hs.device-list.v1 @alice:hs.test D2 removed']);
  });
});

describe('SessionsService.issue', () => {
  function sessions(created: boolean) {
    const devices = { upsert: () => Promise.resolve({ created }) } as unknown as DevicesRepository;
    const tokens = { insertAccess: () => Promise.resolve(), insertRefresh: () => Promise.resolve() } as unknown as TokensRepository;
    const config = { auth: { access_token_lifetime_ms: 60_000 } } as unknown as AxonConfig;
    return new SessionsService(config, {} as ClientApiStorage, devices, tokens);
  }

  it('reports a new device as added and a taken-over one as updated, for the caller to announce after commit', async () => {
    const tx = {} as EntityManager;
    await expect(sessions(true).issue(tx, '@a:hs.test' as UserId, { deviceId: 'NEW' as DeviceId, withRefreshToken: false })).resolves.toMatchObject({ change: 'added', session: { device_id: 'NEW' } });
    await expect(sessions(false).issue(tx, '@a:hs.test' as UserId, { deviceId: 'OLD' as DeviceId, withRefreshToken: false })).resolves.toMatchObject({ change: 'updated', session: { device_id: 'OLD' } });
  });
});
