import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerKeys, signingKeyPath } from './server-keys';

describe('ServerKeys', () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), 'axon-keys-'));

  it('generates a key on first start (mode 0600, directory created) and reuses it afterwards', async () => {
    const keyPath = join(dir(), 'nested', 'signing.key');
    const first = await ServerKeys.load({ keyPath, backend: 'auto' });
    expect(first.generated).toBe(true);
    expect(first.signingKey.keyId).toMatch(/^ed25519:a_[a-zA-Z0-9]{4}$/);
    expect(first.verifyKey).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const text = readFileSync(keyPath, 'utf8');
    expect(text).toMatch(/^ed25519 a_[a-zA-Z0-9]{4} [A-Za-z0-9+/]{43}\n$/);

    const second = await ServerKeys.load({ keyPath, backend: 'native' });
    expect(second.generated).toBe(false);
    expect(second.signingKey.keyId).toBe(first.signingKey.keyId);
    expect(second.verifyKey).toBe(first.verifyKey);
    expect(readFileSync(keyPath, 'utf8')).toBe(text);
  });

  it('gives the same public key with either backend', async () => {
    const keyPath = join(dir(), 'signing.key');
    const native = await ServerKeys.load({ keyPath, backend: 'native' });
    const sodium = await ServerKeys.load({ keyPath, backend: 'libsodium' });
    expect(sodium.backend.name).toBe('libsodium');
    expect(sodium.verifyKey).toBe(native.verifyKey);
  });

  it('reads a key file written by Synapse', async () => {
    const keyPath = join(dir(), 'signing.key');
    // The seed and public key of the spec's Cryptographic Test Vectors.
    writeFileSync(keyPath, 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n');
    const keys = await ServerKeys.load({ keyPath, backend: 'auto' });
    expect(keys.generated).toBe(false);
    expect(keys.signingKey.keyId).toBe('ed25519:1');
    expect(keys.verifyKey).toBe('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
  });

  it('refuses a corrupt key file with a clear error, and leaves it alone', async () => {
    const keyPath = join(dir(), 'signing.key');
    writeFileSync(keyPath, 'ed25519 a_bcde not-base64!!\n');
    await expect(ServerKeys.load({ keyPath, backend: 'auto' })).rejects.toThrow(
      new RegExp(`signing key file ${keyPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a valid signing key`),
    );
    writeFileSync(keyPath, 'garbage');
    await expect(ServerKeys.load({ keyPath, backend: 'auto' })).rejects.toThrow(/is not a valid signing key/);
    expect(readFileSync(keyPath, 'utf8')).toBe('garbage');
  });

  it('puts the key in the data directory unless signing.key_path is set', () => {
    expect(signingKeyPath({ data_dir: '/var/lib/axon', signing: {} })).toBe(join('/var/lib/axon', 'signing.key'));
    expect(signingKeyPath({ data_dir: '/var/lib/axon', signing: { key_path: '/etc/axon/key' } })).toBe('/etc/axon/key');
  });
});
