import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AxonConfig } from '@axon/platform-config';

/** Where the shared secret is kept, or `undefined` when it comes from the config or is off. */
export function registrationSecretPath(config: Pick<AxonConfig, 'data_dir' | 'registration'>): string | undefined {
  const { shared_secret, shared_secret_path } = config.registration;
  if (shared_secret !== undefined || shared_secret_path === false) return undefined;
  return shared_secret_path ?? join(config.data_dir, 'registration.secret');
}

/**
 * The secret of Synapse's shared-secret registration (`/_synapse/admin/v1/register`):
 * `registration.shared_secret`, else the contents of `registration.shared_secret_path`
 * (by default `<data_dir>/registration.secret`), generated on first start. Synapse's
 * `--generate-config` writes one into every new configuration for the same reason: the
 * first (admin) account must come from somewhere while open registration is off, and
 * whoever can read the server's data directory may make it (`npm run create-user` reads
 * the same file). Never logged.
 */
export class RegistrationSecret {
  private constructor(
    /** `undefined`: shared-secret registration is off. */
    readonly value: string | undefined,
    /** The file it was read from or written to, if any. */
    readonly path: string | undefined,
  ) {}

  static async load(config: Pick<AxonConfig, 'data_dir' | 'registration'>): Promise<RegistrationSecret> {
    if (config.registration.shared_secret !== undefined) return new RegistrationSecret(config.registration.shared_secret, undefined);
    const path = registrationSecretPath(config);
    if (path === undefined) return new RegistrationSecret(undefined, undefined);
    const existing = await readSecretFile(path);
    if (existing !== undefined) return new RegistrationSecret(existing, path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      // `wx`: another replica sharing the directory may have written one meanwhile; use that.
      await writeFile(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await chmod(path, 0o600);
    return RegistrationSecret.load(config);
  }
}

/** The secret in a file (its first line, trimmed), or `undefined` when there is no file. */
export async function readSecretFile(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const secret = text.split('\n')[0]?.trim() ?? '';
  if (secret === '') throw new Error(`registration secret file ${path} is empty; put a secret in it or remove it`);
  return secret;
}
