import type { SessionsService } from '../auth/sessions.service';
import type { FiltersRepository } from '../storage/filters.repository';
import { createAccountsRpc } from './accounts.rpc';

describe('Accounts.GetFilter', () => {
  it('answers a user ID that does not parse as the owner of no filter, without a lookup', async () => {
    const asked: string[] = [];
    const filters = {
      find: (userId: string, filterId: string) => {
        asked.push(`${userId} ${filterId}`);
        return Promise.resolve({ room: {} });
      },
    } as unknown as FiltersRepository;
    const rpc = createAccountsRpc({} as SessionsService, filters);
    expect(await rpc.getFilter({ userId: 'bob', filterId: '1' }, {} as never)).toEqual({ found: false, filterJson: '' });
    expect(await rpc.getFilter({ userId: '@bob:hs.test', filterId: '1' }, {} as never)).toEqual({ found: true, filterJson: '{"room":{}}' });
    expect(asked).toEqual(['@bob:hs.test 1']);
  });
});
