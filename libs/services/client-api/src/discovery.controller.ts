import { Controller, Get, Header } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';

/**
 * Spec versions Axon advertises (Client-Server API, "API Versions"). Axon targets
 * v1.19; clients use this list to pick endpoints, so it grows only with what is served.
 */
export const SUPPORTED_VERSIONS: readonly string[] = Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`);

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
  @Header('cache-control', 'public, max-age=3600')
  wellKnownClient(): Record<string, { base_url: string }> {
    return { 'm.homeserver': { base_url: this.clientBaseUrl() } };
  }

  @Get('.well-known/matrix/server')
  @Header('cache-control', 'public, max-age=3600')
  wellKnownServer(): { 'm.server': string } {
    return { 'm.server': this.config.federation_delegate ?? this.federationAuthority() };
  }

  private clientBaseUrl(): string {
    if (this.config.public_baseurl) return this.config.public_baseurl.replace(/\/+$/, '');
    const { host, port } = this.config.listen.client;
    const printable = host.includes(':') ? `[${host}]` : host;
    return `http://${printable}:${port}`;
  }

  /** Where other servers reach our federation listener, written as `host:port`. */
  private federationAuthority(): string {
    const name = this.config.server_name;
    const hasPort = /:\d+$/.test(name) && !name.endsWith(']');
    return hasPort ? name : `${name}:${this.config.listen.federation.port}`;
  }
}
