import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  encodeVerifyKey,
  formatSigningKey,
  generateSigningKey,
  parseSigningKey,
  selectEd25519Backend,
  type Ed25519Backend,
  type Ed25519BackendPreference,
  type SigningKey,
} from '@axon/matrix-signing';

export interface ServerKeysOptions {
  /** Where the key lives (`signing.key_path`, or `<data_dir>/signing.key`). */
  readonly keyPath: string;
  readonly backend: Ed25519BackendPreference;
}

/** Where the signing key lives for a configuration: `signing.key_path`, or `<data_dir>/signing.key`. */
export function signingKeyPath(config: { readonly data_dir: string; readonly signing: { readonly key_path?: string | undefined } }): string {
  return config.signing.key_path ?? join(config.data_dir, 'signing.key');
}

/**
 * The homeserver's Ed25519 signing key and the backend that signs with it. The key is
 * read from its file, or generated on first start and written there (mode 0600, in
 * Synapse's one-line format). A file that exists but is not a key stops the start: a
 * fresh key would silently change the server's identity. The seed is never logged.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#publishing-keys
 */
export class ServerKeys {
  private constructor(
    readonly backend: Ed25519Backend,
    readonly signingKey: SigningKey,
    /** The public key as unpadded Base64, as published in `verify_keys`. */
    readonly verifyKey: string,
    /** Whether this start generated the key. */
    readonly generated: boolean,
  ) {}

  static async load(options: ServerKeysOptions): Promise<ServerKeys> {
    const backend = await selectEd25519Backend(options.backend);
    let text: string | undefined;
    try {
      text = await readFile(options.keyPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const parsed = parseSigningKey(text);
      if (!parsed.ok) {
        throw new Error(`signing key file ${options.keyPath} is not a valid signing key (${parsed.error}); fix or remove it`);
      }
      return new ServerKeys(backend, parsed.value, encodeVerifyKey(parsed.value, backend), false);
    }
    const generated = generateSigningKey(backend);
    if (!generated.ok) throw new Error(`could not generate a signing key: ${generated.error}`);
    await mkdir(dirname(options.keyPath), { recursive: true, mode: 0o700 });
    try {
      // `wx`: never overwrite a key another process wrote in the meantime; use that one.
      await writeFile(options.keyPath, `${formatSigningKey(generated.value)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ServerKeys.load(options);
      throw err;
    }
    await chmod(options.keyPath, 0o600);
    return new ServerKeys(backend, generated.value, encodeVerifyKey(generated.value, backend), true);
  }
}
