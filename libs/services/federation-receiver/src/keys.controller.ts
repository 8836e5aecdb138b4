import { Controller, Get, Header } from '@nestjs/common';
import { signJson, type Signatures } from '@axon/matrix-signing';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig, ServerKeys } from '@axon/platform-runtime';

/** The body of `GET /_matrix/key/v2/server` before it is signed. */
export type UnsignedServerKeys = {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  valid_until_ts: number;
};

/** The body of `GET /_matrix/key/v2/server`. */
export type ServerKeysResponse = UnsignedServerKeys & { signatures: Signatures };

/**
 * Publishes this server's signing keys (Server-Server API "Publishing Keys"): the current
 * key in `verify_keys`, the configured `signing.old_verify_keys`, valid for
 * `signing.key_validity_ms` from now, signed by the current key.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
@Controller()
export class KeysController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly keys: ServerKeys,
  ) {}

  @Get('_matrix/key/v2/server')
  @Header('cache-control', 'no-cache')
  serverKeys(): ServerKeysResponse {
    const { signingKey, verifyKey, backend } = this.keys;
    const body: UnsignedServerKeys = {
      server_name: this.config.server_name,
      verify_keys: { [signingKey.keyId]: { key: verifyKey } },
      old_verify_keys: { ...this.config.signing.old_verify_keys },
      valid_until_ts: Date.now() + this.config.signing.key_validity_ms,
    };
    return signJson(body, { serverName: this.config.server_name, key: signingKey, backend });
  }
}
