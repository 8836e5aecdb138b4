import { Controller, Get, Header } from '@nestjs/common';
import { OwnServerKeys, type ServerKeysResponse } from '../keys/own-server-keys';

/**
 * Publishes this server's signing keys (Server-Server API "Publishing Keys"): the current
 * key in `verify_keys`, the configured `signing.old_verify_keys`, valid for
 * `signing.key_validity_ms` from now, signed by the current key.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
@Controller()
export class KeysController {
  constructor(private readonly keys: OwnServerKeys) {}

  @Get('_matrix/key/v2/server')
  @Header('cache-control', 'no-cache')
  serverKeys(): ServerKeysResponse {
    return this.keys.response(Date.now());
  }
}
