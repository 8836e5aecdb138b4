import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import type { CacheClient } from '@axon/platform-cache';
import { InjectCache, InjectConfig } from '@axon/platform-runtime';
import { objectBody, optionalBoolean, optionalString, requiredString } from '@axon/platform-http';
import { userIdForUsername } from '../accounts/user-ids';
import { RateLimits } from '../auth/rate-limits';
import { MAX_PASSWORD_LENGTH, RegistrationService } from './registration.service';
import { RegistrationSecret } from './registration-secret';
import { isRegistrationMacValid } from './shared-secret';

const NONCE_TTL_MS = 60_000;

/**
 * Synapse's shared-secret registration (`/_synapse/admin/v1/register`), which admin tools
 * and test harnesses (Complement, `register_new_matrix_user`, `npm run create-user`) use.
 * Works while open registration is off; the secret is {@link RegistrationSecret}'s.
 */
@Controller('_synapse/admin/v1/register')
export class SharedSecretController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    @InjectCache() private readonly cache: CacheClient,
    private readonly registration: RegistrationService,
    private readonly rateLimits: RateLimits,
    private readonly sharedSecret: RegistrationSecret,
  ) {}

  @Get()
  async nonce(@Req() request: FastifyRequest): Promise<{ nonce: string }> {
    this.secret();
    await this.rateLimits.enforce('registration', request.ip);
    const nonce = randomBytes(16).toString('hex');
    await this.cache.cache.set(this.key(nonce), '1', NONCE_TTL_MS);
    return { nonce };
  }

  @Post()
  @HttpCode(200)
  async register(
    @Body() raw: unknown,
  ): Promise<{ user_id: string; access_token: string; device_id: string; home_server: string }> {
    const secret = this.secret();
    // Not limited again here: every attempt needs a fresh nonce (spent by its first use),
    // whose fetch took this registration's token, so an account costs one, as a sign-up does.
    const body = objectBody(raw);
    const nonce = requiredString(body, 'nonce');
    const username = requiredString(body, 'username');
    const password = requiredString(body, 'password');
    const mac = requiredString(body, 'mac');
    const admin = optionalBoolean(body, 'admin') ?? false;
    const displayName = optionalString(body, 'displayname');
    if (password.length > MAX_PASSWORD_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'Password too long', 400);
    // A nonce is spent by its first use, whether or not the MAC is right.
    if (!(await this.cache.cache.delete(this.key(nonce)))) throw new MatrixError('M_UNKNOWN', 'Unrecognised nonce', 400);
    if (!isRegistrationMacValid(secret, { nonce, username, password, admin }, mac)) throw new MatrixError('M_FORBIDDEN', 'HMAC incorrect', 403);
    const userId = userIdForUsername(username, this.config.server_name);
    const session = await this.registration.registerAdministered({ userId, password, isAdmin: admin, displayName: displayName ?? username });
    return { user_id: session.user_id, access_token: session.access_token, device_id: session.device_id, home_server: this.config.server_name };
  }

  private secret(): string {
    const secret = this.sharedSecret.value;
    if (secret === undefined) throw new MatrixError('M_UNKNOWN', 'Shared secret registration is not enabled', 400);
    return secret;
  }

  private key(nonce: string): string {
    return `client_api:register_nonce:${nonce}`;
  }
}
