import type { FastifyRequest } from 'fastify';
import { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseDeviceId, parseHistoricalUserId, type DeviceId, type UserId } from '@axon/matrix-identifiers';
import { accessTokenOf } from '@axon/platform-http';
import type { ServiceClient } from '@axon/platform-rpc';

/**
 * The user and device behind a request's access token. Tokens are resolved by client-api
 * (`Accounts`), which owns them, so a revoked token is refused at once here too. The IDs
 * are parsed here, once, for everything behind the controllers.
 */
export async function resolveRequester(accounts: ServiceClient<typeof AccountsDefinition>, request: FastifyRequest): Promise<{ userId: UserId; deviceId: DeviceId }> {
  const token = accessTokenOf(request);
  if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token', 401);
  const caller = await accounts.resolveAccessToken({ accessToken: token, ip: request.ip });
  if (!caller.valid) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', 401, { soft_logout: caller.softLogout });
  const userId = parseHistoricalUserId(caller.userId);
  const deviceId = parseDeviceId(caller.deviceId);
  // Accounts made both; a malformed one is this deployment's fault, not the client's.
  if (!userId.ok || !deviceId.ok) throw new MatrixError('M_UNKNOWN', 'the access token belongs to a malformed user or device ID', 500);
  return { userId: userId.value, deviceId: deviceId.value };
}

/** A user ID from a request path, or `M_INVALID_PARAM`. */
export function userIdParam(input: string): UserId {
  const parsed = parseHistoricalUserId(input);
  if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `invalid user ID: ${parsed.error}`, 400);
  return parsed.value;
}
