import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type { JsonBodyKind } from './json-body';

const BODY_KIND = 'axonJsonBodyKind';

/**
 * Marks a route whose body is content the server stores and hands back as the client
 * sent it (event content, account data, room tags), so its strings may hold U+0000;
 * every other body is parameters (see {@link JsonBodyKind}).
 */
export const ContentBody = (): MethodDecorator => RouteConfig({ [BODY_KIND]: 'content' satisfies JsonBodyKind });

/** The kind of body the matched route takes: `parameters` unless marked {@link ContentBody}. */
export function jsonBodyKindOf(request: FastifyRequest): JsonBodyKind {
  const config = request.routeOptions.config as unknown as Readonly<Record<string, unknown>> | undefined;
  return config?.[BODY_KIND] === 'content' ? 'content' : 'parameters';
}
