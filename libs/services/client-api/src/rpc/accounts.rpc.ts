import type { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { SessionsService } from '../auth/sessions.service';
import { hashToken } from '../auth/secrets';
import type { FiltersRepository } from '../storage/filters.repository';
import type { OpenIdTokensRepository } from '../storage/openid-tokens.repository';

/**
 * `Accounts` for other services: resolves access tokens with the same rules as the
 * Client-Server API's own guard (no caching, so revoked tokens are dead at once).
 */
export function createAccountsRpc(sessions: SessionsService, filters: FiltersRepository, openIdTokens: OpenIdTokensRepository): ServiceImplementation<AccountsDefinition> {
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
  };
}
