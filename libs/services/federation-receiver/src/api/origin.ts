import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ServerName } from '@axon/matrix-identifiers';

const ORIGIN = Symbol('origin');
type AuthenticatedRequest = FastifyRequest & { [ORIGIN]?: ServerName };

/** Called by `XMatrixGuard` once the request's signature verified. */
export function attachOrigin(request: FastifyRequest, origin: ServerName): void {
  (request as AuthenticatedRequest)[ORIGIN] = origin;
}

/** `@Origin()`: the server that signed the request; use on routes behind `XMatrixGuard`. */
export const Origin = createParamDecorator((_data: unknown, context: ExecutionContext): ServerName => {
  const origin = context.switchToHttp().getRequest<AuthenticatedRequest>()[ORIGIN];
  if (origin === undefined) throw new Error('@Origin() used on a route without XMatrixGuard');
  return origin;
});
