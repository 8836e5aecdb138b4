import type { FastifyRequest } from 'fastify';

/**
 * The access token of a request: `Authorization: Bearer <token>`, or the deprecated
 * `access_token` query parameter, which the spec still requires servers to accept
 * (Client-Server API, "Using access tokens"). Every service that authenticates clients
 * reads it the same way.
 */
export function accessTokenOf(request: Pick<FastifyRequest, 'headers' | 'query'>): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const param = query?.['access_token'];
  return typeof param === 'string' && param !== '' ? param : undefined;
}
