import { Body, Controller, Get, HttpCode, Param, Put, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccountsDefinition } from '@axon/contracts-grpc';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';
import { PresenceService } from '../presence.service';
import { resolveRequester, userIdParam } from './requester';

/**
 * `GET` and `PUT /_matrix/client/v3/presence/{userId}/status`, served by sync, which owns
 * presence (ARCHITECTURE.md §1).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3presenceuseridstatus
 */
@Controller('_matrix/client/v3/presence')
export class PresenceController {
  private readonly accounts: ServiceClient<typeof AccountsDefinition>;

  constructor(
    private readonly presence: PresenceService,
    rpc: RpcHost,
  ) {
    this.accounts = rpc.client(AccountsDefinition);
  }

  @Get(':userId/status')
  async get(@Req() request: FastifyRequest, @Param('userId') userId: string): Promise<Record<string, unknown>> {
    const caller = await resolveRequester(this.accounts, request);
    return this.presence.get(caller.userId, userIdParam(userId));
  }

  @Put(':userId/status')
  @HttpCode(200)
  async put(@Req() request: FastifyRequest, @Param('userId') userId: string, @Body() body: unknown): Promise<Record<string, never>> {
    const caller = await resolveRequester(this.accounts, request);
    await this.presence.set(caller.userId, userIdParam(userId), body);
    return {};
  }
}
