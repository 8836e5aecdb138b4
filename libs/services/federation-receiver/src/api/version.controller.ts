import { Controller, Get } from '@nestjs/common';
import { InjectVersion } from '@axon/platform-runtime';

/** The body of `GET /_matrix/federation/v1/version`. */
export interface FederationVersionResponse {
  readonly server: { readonly name: string; readonly version: string };
}

/**
 * `GET /_matrix/federation/v1/version`: this implementation's name and version. Needs no
 * request signature.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixfederationv1version
 */
@Controller('_matrix/federation/v1/version')
export class VersionController {
  constructor(@InjectVersion() private readonly version: string) {}

  @Get()
  serverVersion(): FederationVersionResponse {
    return { server: { name: 'Axon', version: this.version } };
  }
}
