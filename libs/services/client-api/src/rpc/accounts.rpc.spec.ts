import type { SessionsService } from '../auth/sessions.service';
import type { FiltersRepository } from '../storage/filters.repository';
import type { OpenIdTokensRepository } from '../storage/openid-tokens.repository';
import { createAccountsRpc, type AccountsSources } from './accounts.rpc';

const none = { sessions: {} as SessionsService, filters: {} as FiltersRepository, openIdTokens: {} as OpenIdTokensRepository, devices: { list: () => Promise.resolve([]) }, users: { profile: () => Promise.resolve(undefined) } } satisfies AccountsSources;

describe('Accounts.GetFilter', () => {
  it('answers a user ID that does not parse as the owner of no filter, without a lookup', async () => {
    const asked: string[] = [];
    const filters = {
      find: (userId: string, filterId: string) => {
        asked.push(`${userId} ${filterId}`);
        return Promise.resolve({ room: {} });
      },
    } as unknown as FiltersRepository;
    const rpc = createAccountsRpc({ ...none, filters });
    expect(await rpc.getFilter({ userId: 'bob', filterId: '1' }, {} as never)).toEqual({ found: false, filterJson: '' });
    expect(await rpc.getFilter({ userId: '@bob:hs.test', filterId: '1' }, {} as never)).toEqual({ found: true, filterJson: '{"room":{}}' });
    expect(asked).toEqual(['@bob:hs.test 1']);
  });
});

describe('Accounts.ResolveOpenIdToken', () => {
  it('looks up the hash of a token, never an empty one', async () => {
    const asked: string[] = [];
    const openIdTokens = {
      userOf: (hash: string) => {
        asked.push(hash);
        return Promise.resolve(hash.length === 64 ? '@alice:hs.test' : undefined);
      },
    } as unknown as OpenIdTokensRepository;
    const rpc = createAccountsRpc({ ...none, openIdTokens });
    expect(await rpc.resolveOpenIdToken({ accessToken: '' }, {} as never)).toEqual({ valid: false, userId: '' });
    expect(await rpc.resolveOpenIdToken({ accessToken: 'oit_x' }, {} as never)).toEqual({ valid: true, userId: '@alice:hs.test' });
    expect(asked).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(asked[0]).not.toContain('oit_x');
  });
});

describe('Accounts.ListDevices and Accounts.GetProfile', () => {
  it('answer a local user\'s devices and profile, and nothing for a user ID that does not parse or is unknown', async () => {
    const rpc = createAccountsRpc({
      ...none,
      devices: { list: (userId: string) => Promise.resolve(userId === '@alice:hs.test' ? [{ device_id: 'D1' }, { device_id: 'D2' }] : []) } as never,
      users: { profile: (userId: string) => Promise.resolve(userId === '@alice:hs.test' ? { displayname: 'Alice', 'm.tz': 'Europe/Paris' } : undefined) } as never,
    });
    expect(await rpc.listDevices({ userId: '@alice:hs.test' }, {} as never)).toEqual({ deviceIds: ['D1', 'D2'] });
    expect(await rpc.listDevices({ userId: 'alice' }, {} as never)).toEqual({ deviceIds: [] });
    expect(await rpc.getProfile({ userId: '@alice:hs.test' }, {} as never)).toEqual({ found: true, displayname: 'Alice' });
    expect(await rpc.getProfile({ userId: '@nobody:hs.test' }, {} as never)).toEqual({ found: false });
  });
});
