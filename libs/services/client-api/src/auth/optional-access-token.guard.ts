import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { accessTokenOf } from '@axon/platform-http';
import { RateLimits } from './rate-limits';
import { attachRequester } from './requester';
import { SessionsService } from './sessions.service';

/**
 * For endpoints a client may call without signing in: a request without a token goes
 * through anonymous (`@OptionalRequester()` is `undefined`); one with a token is checked
 * as `AccessTokenGuard` checks it (an unknown token is still `M_UNKNOWN_TOKEN`).
 */
@Injectable()
export class OptionalAccessTokenGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionsService,
    private readonly rateLimits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = accessTokenOf(request);
    if (token === undefined) return true;
    const requester = await this.sessions.resolve(token, request.ip);
    await this.rateLimits.enforce('general', requester.userId);
    attachRequester(request, requester);
    return true;
  }
}
