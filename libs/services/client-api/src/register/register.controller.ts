import { Body, Controller, Get, HttpCode, Post, Query, Req, UseFilters } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { objectBody } from '@axon/platform-http';
import { RateLimits } from '../auth/rate-limits';
import { UiaRequiredFilter } from '../auth/uia.service';
import { RegistrationService, type RegisterResponse } from './registration.service';

/** Account registration (Client-Server API, "Account registration"). */
@Controller('_matrix/client')
@UseFilters(UiaRequiredFilter)
export class RegisterController {
  constructor(
    private readonly registration: RegistrationService,
    private readonly rateLimits: RateLimits,
  ) {}

  @Post('v3/register')
  @HttpCode(200)
  async register(@Req() request: FastifyRequest, @Query('kind') kind: string | undefined, @Body() body: unknown): Promise<RegisterResponse> {
    // Completed registrations count, as users experience them (and as Synapse counts):
    // the user-interactive steps before one only check that there is room for it.
    await this.rateLimits.check('registration', request.ip);
    return this.registration.register(kind, objectBody(body), () => this.rateLimits.enforce('registration', request.ip));
  }

  @Get('v3/register/available')
  async available(@Req() request: FastifyRequest, @Query('username') username: string | undefined): Promise<{ available: true }> {
    await this.rateLimits.enforce('registration', request.ip);
    return this.registration.available(username);
  }

  @Get('v1/register/m.login.registration_token/validity')
  async tokenValidity(@Req() request: FastifyRequest, @Query('token') token: string | undefined): Promise<{ valid: boolean }> {
    await this.rateLimits.enforce('registration', request.ip);
    return this.registration.tokenValidity(token);
  }
}
