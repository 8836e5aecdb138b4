import { Controller, Get, Header, Query } from '@nestjs/common';
import { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';

/**
 * `GET /_matrix/federation/v1/openid/userinfo` (Server-Server API, "OpenID"): exchanges an
 * OpenID token a user obtained from the Client-Server API for their user ID. Needs no
 * request signature (a third party, not a homeserver, calls it). The tokens belong to
 * client-api, which owns accounts; it answers through `Accounts.ResolveOpenIdToken`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixfederationv1openiduserinfo
 */
@Controller('_matrix/federation/v1/openid/userinfo')
export class OpenIdUserInfoController {
  private readonly accounts: ServiceClient<typeof AccountsDefinition>;

  constructor(rpc: RpcHost) {
    this.accounts = rpc.client(AccountsDefinition);
  }

  @Get()
  @Header('cache-control', 'no-store')
  async userInfo(@Query('access_token') accessToken: unknown): Promise<{ sub: string }> {
    // Missing as Synapse answers it; a repeated parameter is not a token either.
    if (accessToken === undefined || accessToken === '') throw new MatrixError('M_MISSING_TOKEN', 'Access Token required', 401);
    const answer = typeof accessToken === 'string' ? await this.accounts.resolveOpenIdToken({ accessToken }) : { valid: false, userId: '' };
    if (!answer.valid) throw new MatrixError('M_UNKNOWN_TOKEN', 'Access Token unknown or expired', 401);
    return { sub: answer.userId };
  }
}
