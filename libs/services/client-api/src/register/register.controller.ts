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
    await this.rateLimits.enforce('registration', request.ip);
    return this.registration.register(kind, objectBody(body));
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
