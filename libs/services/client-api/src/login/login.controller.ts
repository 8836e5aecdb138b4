import { Body, Controller, Get, HttpCode, Post, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AxonConfig } from '@axon/platform-config';
import { objectBody, requiredString } from '@axon/platform-http';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { RateLimits } from '../auth/rate-limits';
import { Requester } from '../auth/requester';
import { SessionsService, type IssuedSession } from '../auth/sessions.service';
import { UiaRequiredFilter } from '../auth/uia.service';
import { LoginService } from './login.service';

/** Login, token refresh, logout and whoami (Client-Server API, "Login"). */
@Controller('_matrix/client')
@UseFilters(UiaRequiredFilter)
export class LoginController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly login: LoginService,
    private readonly sessions: SessionsService,
    private readonly rateLimits: RateLimits,
  ) {}

  @Get('v3/login')
  flows(): { flows: Record<string, unknown>[] } {
    return {
      flows: [{ type: 'm.login.password' }, { type: 'm.login.token', get_login_token: this.config.auth.login_token_enabled }],
    };
  }

  @Post('v3/login')
  @HttpCode(200)
  async logIn(@Req() request: FastifyRequest, @Body() raw: unknown): Promise<IssuedSession & { home_server: string }> {
    await this.rateLimits.enforce('login', request.ip);
    const session = await this.login.logIn(objectBody(raw));
    return { ...session, home_server: this.config.server_name };
  }

  @Post('v1/login/get_token')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  getToken(@Requester() requester: Requester, @Body() raw: unknown): Promise<{ login_token: string; expires_in_ms: number }> {
    return this.login.issueLoginToken(requester, objectBody(raw));
  }

  @Post('v3/refresh')
  @HttpCode(200)
  async refresh(@Body() raw: unknown): Promise<{ access_token: string; refresh_token?: string; expires_in_ms?: number }> {
    const session = await this.sessions.refresh(requiredString(objectBody(raw), 'refresh_token'));
    return { access_token: session.access_token, refresh_token: session.refresh_token, expires_in_ms: session.expires_in_ms };
  }

  @Post('v3/logout')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logout(@Requester() requester: Requester): Promise<Record<string, never>> {
    await this.login.logOut(requester);
    return {};
  }

  @Post('v3/logout/all')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logoutAll(@Requester() requester: Requester): Promise<Record<string, never>> {
    await this.login.logOutAll(requester);
    return {};
  }

  @Get('v3/account/whoami')
  @UseGuards(AccessTokenGuard)
  whoami(@Requester() requester: Requester): { user_id: string; device_id: string; is_guest: boolean } {
    return { user_id: requester.userId, device_id: requester.deviceId, is_guest: requester.isGuest };
  }
}
