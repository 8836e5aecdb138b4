import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import type { ClientApiStorage } from '../storage/client-api-storage';
import type { DevicesRepository } from '../storage/devices.repository';
import type { AccessTokenRow, TokensRepository } from '../storage/tokens.repository';
import { hashToken } from './secrets';
import { SessionsService } from './sessions.service';

/** SessionsService over fake repositories: token resolution and last-seen throttling. */
function setup(rows: Record<string, AccessTokenRow>) {
  const touches: [string, string, number, string | undefined][] = [];
  const tokens = { findAccess: (hash: string) => Promise.resolve(rows[hash]) } as unknown as TokensRepository;
  const devices = {
    touch: (userId: string, deviceId: string, ts: number, ip: string | undefined) => {
      touches.push([userId, deviceId, ts, ip]);
      return Promise.resolve();
    },
  } as unknown as DevicesRepository;
  const config = { auth: { access_token_lifetime_ms: 60_000 } } as unknown as AxonConfig;
  return { service: new SessionsService(config, {} as ClientApiStorage, devices, tokens), touches };
}

describe('SessionsService.resolve', () => {
  const live: AccessTokenRow = { userId: '@a:hs' as UserId, deviceId: 'DEV' as DeviceId, expiresTs: null, isGuest: false, refreshTokenHash: null, revokesPredecessor: false };

  it('resolves a stored token by its SHA-256 and reports the requester', async () => {
    const { service } = setup({ [hashToken('axo_live')]: live });
    await expect(service.resolve('axo_live', '10.0.0.1')).resolves.toEqual({ userId: '@a:hs' as UserId, deviceId: 'DEV' as DeviceId, isGuest: false, tokenHash: hashToken('axo_live') });
  });

  it('answers M_UNKNOWN_TOKEN for unknown tokens (hard logout) and expired ones (soft logout)', async () => {
    const { service } = setup({ [hashToken('axo_old')]: { ...live, expiresTs: Date.now() - 1 } });
    await expect(service.resolve('axo_none', undefined)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401, extras: { soft_logout: false } });
    await expect(service.resolve('axo_old', undefined)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401, extras: { soft_logout: true } });
  });

  it('writes last_seen at most once a minute per device', async () => {
    const { service, touches } = setup({ [hashToken('axo_live')]: live });
    await service.resolve('axo_live', '10.0.0.1');
    await service.resolve('axo_live', '10.0.0.2');
    expect(touches).toEqual([['@a:hs', 'DEV', expect.any(Number), '10.0.0.1']]);
  });
});
