import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';

/** The caller of an authenticated endpoint, as its access token says. */
export interface Requester {
  readonly userId: UserId;
  /** The device the token belongs to; empty only for the server's own notices user, which has none. */
  readonly deviceId: DeviceId | '';
  readonly isGuest: boolean;
  /** The hash of the token the request used (logout revokes exactly it). */
  readonly tokenHash: string;
}

const REQUESTER = Symbol('requester');
type AuthenticatedRequest = FastifyRequest & { [REQUESTER]?: Requester };

/** Called by the guard once the token resolved. */
export function attachRequester(request: FastifyRequest, requester: Requester): void {
  (request as AuthenticatedRequest)[REQUESTER] = requester;
}

/** `@Requester()`: the authenticated caller; use on routes behind `AccessTokenGuard`. */
export const Requester = createParamDecorator((_data: unknown, context: ExecutionContext): Requester => {
  const requester = context.switchToHttp().getRequest<AuthenticatedRequest>()[REQUESTER];
  if (!requester) throw new Error('@Requester() used on a route without AccessTokenGuard');
  return requester;
});

/** `@OptionalRequester()`: the caller when the request carried a valid token, `undefined` when it carried none (`OptionalAccessTokenGuard`). */
export const OptionalRequester = createParamDecorator((_data: unknown, context: ExecutionContext): Requester | undefined => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>()[REQUESTER];
});
