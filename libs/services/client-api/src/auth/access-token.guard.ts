import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '@axon/matrix-errors';
import { accessTokenOf } from '@axon/platform-http';
import { RateLimits } from './rate-limits';
import { attachRequester } from './requester';
import { SessionsService } from './sessions.service';

/**
 * Requires a valid access token (`M_MISSING_TOKEN` / `M_UNKNOWN_TOKEN`, 401), applies the
 * per-user rate limit, and makes the caller available to `@Requester()`.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionsService,
    private readonly rateLimits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = accessTokenOf(request);
    if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token', 401);
    const requester = await this.sessions.resolve(token, request.ip);
    await this.rateLimits.enforce('general', requester.userId);
    attachRequester(request, requester);
    return true;
  }
}
