import { signJson, type Ed25519Backend, type Signatures, type SigningKey } from '@axon/matrix-signing';

/** The body of `GET /_matrix/key/v2/server` before it is signed. */
export type UnsignedServerKeys = {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  valid_until_ts: number;
};

/** The body of `GET /_matrix/key/v2/server`. */
export type ServerKeysResponse = UnsignedServerKeys & { signatures: Signatures };

/** What this server's keys are made of: its name, signing key and the configured old keys. */
export interface OwnKeysSettings {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly verifyKey: string;
  readonly backend: Ed25519Backend;
  /** `signing.old_verify_keys`. */
  readonly oldVerifyKeys: Readonly<Record<string, { readonly key: string; readonly expired_ts: number }>>;
  /** `signing.key_validity_ms`. */
  readonly keyValidityMs: number;
}

/**
 * This server's own signing keys, as published (Server-Server API "Publishing Keys"): the
 * current key in `verify_keys`, the configured old keys, valid for `signing.key_validity_ms`
 * from now, signed by the current key. The key ring answers its own server from here and
 * never fetches it.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export class OwnServerKeys {
  constructor(readonly settings: OwnKeysSettings) {}

  get serverName(): string {
    return this.settings.serverName;
  }

  /** The signed response, valid from `nowTs`. */
  response(nowTs: number): ServerKeysResponse {
    const { serverName, signingKey, verifyKey, backend, oldVerifyKeys, keyValidityMs } = this.settings;
    const body: UnsignedServerKeys = {
      server_name: serverName,
      verify_keys: { [signingKey.keyId]: { key: verifyKey } },
      old_verify_keys: Object.fromEntries(Object.entries(oldVerifyKeys).map(([keyId, old]) => [keyId, { key: old.key, expired_ts: old.expired_ts }])),
      valid_until_ts: nowTs + keyValidityMs,
    };
    return signJson(body, { serverName, key: signingKey, backend });
  }
}
