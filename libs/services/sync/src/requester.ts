import type { FastifyRequest } from 'fastify';
import { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { accessTokenOf } from '@axon/platform-http';
import type { ServiceClient } from '@axon/platform-rpc';

/**
 * The user and device behind a request's access token. Tokens are resolved by client-api
 * (`Accounts`), which owns them, so a revoked token is refused at once here too.
 */
export async function resolveRequester(accounts: ServiceClient<typeof AccountsDefinition>, request: FastifyRequest): Promise<{ userId: string; deviceId: string }> {
  const token = accessTokenOf(request);
  if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token', 401);
  const caller = await accounts.resolveAccessToken({ accessToken: token, ip: request.ip });
  if (!caller.valid) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', 401, { soft_logout: caller.softLogout });
  return { userId: caller.userId, deviceId: caller.deviceId };
}
