import type { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { SessionsService } from '../auth/sessions.service';
import { hashToken } from '../auth/secrets';
import type { DevicesRepository } from '../storage/devices.repository';
import type { FiltersRepository } from '../storage/filters.repository';
import type { OpenIdTokensRepository } from '../storage/openid-tokens.repository';
import type { UsersRepository } from '../storage/users.repository';

/** What `Accounts` answers from: client-api's sessions and repositories. */
export interface AccountsSources {
  readonly sessions: SessionsService;
  readonly filters: Pick<FiltersRepository, 'find'>;
  readonly openIdTokens: Pick<OpenIdTokensRepository, 'userOf'>;
  readonly devices: Pick<DevicesRepository, 'list'>;
  readonly users: Pick<UsersRepository, 'profile'>;
}

/**
 * `Accounts` for other services: resolves access tokens with the same rules as the
 * Client-Server API's own guard (no caching, so revoked tokens are dead at once), and
 * answers what the federation receiver needs of local users (devices, profiles).
 */
export function createAccountsRpc({ sessions, filters, openIdTokens, devices, users }: AccountsSources): ServiceImplementation<AccountsDefinition> {
  return {
    async resolveAccessToken({ accessToken, ip }) {
      try {
        const requester = await sessions.resolve(accessToken, ip === '' ? undefined : ip);
        return { valid: true, userId: requester.userId, deviceId: requester.deviceId, isGuest: requester.isGuest, softLogout: false };
      } catch (error) {
        if (error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') {
          return { valid: false, userId: '', deviceId: '', isGuest: false, softLogout: error.extras['soft_logout'] === true };
        }
        throw error;
      }
    },
    async getFilter({ userId, filterId }) {
      // A user ID that does not parse owns no filter: answered as an unknown filter.
      const owner = parseHistoricalUserId(userId);
      const filter = owner.ok ? await filters.find(owner.value, filterId) : undefined;
      return filter === undefined ? { found: false, filterJson: '' } : { found: true, filterJson: JSON.stringify(filter) };
    },
    async resolveOpenIdToken({ accessToken }) {
      const userId = accessToken === '' ? undefined : await openIdTokens.userOf(hashToken(accessToken), Date.now());
      return userId === undefined ? { valid: false, userId: '' } : { valid: true, userId };
    },
    async listDevices({ userId }) {
      const user = parseHistoricalUserId(userId);
      return { deviceIds: user.ok ? (await devices.list(user.value)).map((device) => device.device_id) : [] };
    },
    async getProfile({ userId }) {
      const user = parseHistoricalUserId(userId);
      const profile = user.ok ? await users.profile(user.value) : undefined;
      if (profile === undefined) return { found: false };
      const field = (name: string): string | undefined => (typeof profile[name] === 'string' ? (profile[name] as string) : undefined);
      const displayname = field('displayname');
      const avatarUrl = field('avatar_url');
      return { found: true, ...(displayname === undefined ? {} : { displayname }), ...(avatarUrl === undefined ? {} : { avatarUrl }) };
    },
  };
}
