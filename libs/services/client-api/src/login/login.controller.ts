import { Body, Controller, Get, HttpCode, Post, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { InjectConfig } from '@axon/platform-runtime';
import { AccountsService } from '../accounts/accounts.service';
import { objectBody, optionalBoolean, optionalDeviceId, optionalString, requiredString } from '../accounts/request-body';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { RateLimits } from '../auth/rate-limits';
import { Requester } from '../auth/requester';
import { generateToken, hashToken } from '../auth/secrets';
import { SessionsService, type IssuedSession } from '../auth/sessions.service';
import { UiaRequiredFilter, UiaService } from '../auth/uia.service';
import { DeviceListsProducer } from '../devices/device-lists.producer';
import { ClientApiStorage } from '../storage/client-api-storage';
import { DevicesRepository } from '../storage/devices.repository';
import { TokensRepository } from '../storage/tokens.repository';

/** Login, token refresh, logout and whoami (Client-Server API, "Login"). */
@Controller('_matrix/client')
@UseFilters(UiaRequiredFilter)
export class LoginController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly store: ClientApiStorage,
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensRepository,
    private readonly devices: DevicesRepository,
    private readonly uia: UiaService,
    private readonly rateLimits: RateLimits,
    private readonly deviceLists: DeviceListsProducer,
  ) {}

  @Get('v3/login')
  flows(): { flows: Record<string, unknown>[] } {
    return {
      flows: [{ type: 'm.login.password' }, { type: 'm.login.token', get_login_token: this.config.auth.login_token_enabled }],
    };
  }

  @Post('v3/login')
  @HttpCode(200)
  async login(@Req() request: FastifyRequest, @Body() raw: unknown): Promise<IssuedSession & { home_server: string }> {
    await this.rateLimits.enforce('login', request.ip);
    const body = objectBody(raw);
    const type = requiredString(body, 'type');
    let userId: string;
    if (type === 'm.login.password') {
      userId = await this.accounts.checkPassword(body);
    } else if (type === 'm.login.token') {
      const found = await this.tokens.takeLogin(hashToken(requiredString(body, 'token')), Date.now());
      if (found === undefined) throw new MatrixError('M_FORBIDDEN', 'Invalid login token', 403);
      userId = found;
    } else {
      throw new MatrixError('M_UNKNOWN', `Unknown login type ${type}`, 400);
    }
    const deviceId = optionalDeviceId(body);
    const displayName = optionalString(body, 'initial_device_display_name');
    const withRefresh = optionalBoolean(body, 'refresh_token') ?? false;
    const { session, change } = await this.store.transaction((tx) => this.sessions.issue(tx, userId, { deviceId, displayName, withRefreshToken: withRefresh }));
    await this.deviceLists.publish(userId, [session.device_id], change);
    return { ...session, home_server: this.config.server_name };
  }

  /** `POST /v1/login/get_token`: a short-lived, single-use `m.login.token` token, behind UIA. */
  @Post('v1/login/get_token')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async getToken(@Requester() requester: Requester, @Body() raw: unknown): Promise<{ login_token: string; expires_in_ms: number }> {
    if (!this.config.auth.login_token_enabled || requester.isGuest) {
      throw new MatrixError('M_FORBIDDEN', 'Login tokens are not available', 400);
    }
    const body = objectBody(raw);
    await this.uia.authenticate({
      operation: 'POST /login/get_token',
      userId: requester.userId,
      flows: [{ stages: ['m.login.password'] }],
      auth: body['auth'],
      verify: (_stage, auth) => this.accounts.passwordStage(requester.userId, auth),
    });
    const token = generateToken('axl');
    const lifetime = this.config.auth.login_token_lifetime_ms;
    await this.tokens.insertLogin(hashToken(token), requester.userId, Date.now() + lifetime);
    return { login_token: token, expires_in_ms: lifetime };
  }

  @Post('v3/refresh')
  @HttpCode(200)
  async refresh(@Body() raw: unknown): Promise<{ access_token: string; refresh_token?: string; expires_in_ms?: number }> {
    const session = await this.sessions.refresh(requiredString(objectBody(raw), 'refresh_token'));
    return { access_token: session.access_token, refresh_token: session.refresh_token, expires_in_ms: session.expires_in_ms };
  }

  /** Logs the device out: the spec says the device goes with its token. */
  @Post('v3/logout')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logout(@Requester() requester: Requester): Promise<Record<string, never>> {
    const deleted = await this.devices.delete(requester.userId, [requester.deviceId]);
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
    return {};
  }

  @Post('v3/logout/all')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logoutAll(@Requester() requester: Requester): Promise<Record<string, never>> {
    const deleted = await this.devices.deleteAllExcept(requester.userId, undefined);
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
    return {};
  }

  @Get('v3/account/whoami')
  @UseGuards(AccessTokenGuard)
  whoami(@Requester() requester: Requester): { user_id: string; device_id: string; is_guest: boolean } {
    return { user_id: requester.userId, device_id: requester.deviceId, is_guest: requester.isGuest };
  }
}
