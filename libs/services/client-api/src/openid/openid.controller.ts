import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { objectBody } from '@axon/platform-http';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { generateToken, hashToken } from '../auth/secrets';
import { OpenIdTokensRepository } from '../storage/openid-tokens.repository';

/** How long an OpenID token is valid, as Synapse issues them: an hour. */
export const OPENID_TOKEN_LIFETIME_MS = 3_600_000;

export interface OpenIdCredentials {
  access_token: string;
  token_type: 'Bearer';
  matrix_server_name: string;
  expires_in: number;
}

/**
 * `POST /user/{userId}/openid/request_token` (Client-Server API, "OpenID"): a token a
 * third party (an integration manager, a widget) exchanges at this server's federation
 * API (`GET /_matrix/federation/v1/openid/userinfo`) for the user's ID. Only for oneself;
 * the token proves nothing else and opens no other endpoint.
 */
@Controller('_matrix/client/v3/user/:userId/openid/request_token')
@UseGuards(AccessTokenGuard)
export class OpenIdController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly tokens: OpenIdTokensRepository,
  ) {}

  @Post()
  @HttpCode(200)
  async requestToken(@Requester() requester: Requester, @Param('userId') userId: string, @Body() body: unknown): Promise<OpenIdCredentials> {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'Cannot request tokens for other users.', 403);
    // The body must be a JSON object; its contents mean nothing yet.
    objectBody(body);
    const token = generateToken('oit');
    const now = Date.now();
    await this.tokens.insert(hashToken(token), requester.userId, now + OPENID_TOKEN_LIFETIME_MS, now);
    return { access_token: token, token_type: 'Bearer', matrix_server_name: this.config.server_name, expires_in: OPENID_TOKEN_LIFETIME_MS / 1000 };
  }
}
