import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';

/**
 * Spec versions Axon advertises (Client-Server API, "API Versions"). Axon targets
 * v1.19; clients use this list to pick endpoints, so it grows only with what is served.
 */
export const SUPPORTED_VERSIONS: readonly string[] = Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`);

type WellKnownClient = Record<string, { base_url: string }>;

/**
 * Discovery: `GET /_matrix/client/versions` and the `.well-known` documents
 * (Client-Server API "Well-known URIs", Server-Server API "Resolving server names").
 */
@Controller()
export class DiscoveryController {
  constructor(@InjectConfig() private readonly config: AxonConfig) {}

  @Get('_matrix/client/versions')
  versions(): { versions: readonly string[]; unstable_features: Record<string, boolean> } {
    return { versions: SUPPORTED_VERSIONS, unstable_features: {} };
  }

  @Get('.well-known/matrix/client')
  wellKnownClient(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): WellKnownClient {
    if (this.config.public_baseurl) {
      void reply.header('cache-control', 'public, max-age=3600');
      return { 'm.homeserver': { base_url: this.config.public_baseurl.replace(/\/+$/, '') } };
    }
    // Without a configured public URL, the address the client reached us at is the best
    // answer; it comes from the request, so it must not be cached for other clients.
    void reply.header('cache-control', 'no-store');
    return { 'm.homeserver': { base_url: `${request.protocol}://${request.host}` } };
  }

  @Get('.well-known/matrix/server')
  @Header('cache-control', 'public, max-age=3600')
  wellKnownServer(): { 'm.server': string } {
    return { 'm.server': this.config.federation_delegate ?? this.federationAuthority() };
  }

  /** Where other servers reach our federation listener, written as `host:port`. */
  private federationAuthority(): string {
    const name = this.config.server_name;
    const hasPort = /:\d+$/.test(name) && !name.endsWith(']');
    return hasPort ? name : `${name}:${this.config.listen.federation.port}`;
  }
}
