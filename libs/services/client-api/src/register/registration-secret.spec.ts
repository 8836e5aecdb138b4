import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@axon/platform-config';
import { RegistrationSecret } from './registration-secret';

const configIn = (dir: string, env: Record<string, string> = {}) => loadConfig({ env: { AXON_DATA_DIR: dir, ...env } });

describe('RegistrationSecret', () => {
  it('generates <data_dir>/registration.secret on first start (mode 0600) and reads the same one afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-secret-'));
    const first = await RegistrationSecret.load(configIn(dir));
    expect(first.path).toBe(join(dir, 'registration.secret'));
    expect(first.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.path!, 'utf8')).toBe(`${first.value}\n`);
    expect((await RegistrationSecret.load(configIn(dir))).value).toBe(first.value);
  });

  it('prefers the configured secret and writes no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-secret-'));
    const secret = await RegistrationSecret.load(configIn(dir, { AXON_REGISTRATION_SHARED_SECRET: 'configured' }));
    expect(secret).toMatchObject({ value: 'configured', path: undefined });
    expect(() => statSync(join(dir, 'registration.secret'))).toThrow();
  });

  it('reads a file of the operator’s at shared_secret_path, and is off with false', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-secret-'));
    const path = join(dir, 'mine');
    writeFileSync(path, 'from-the-operator\nignored\n');
    expect((await RegistrationSecret.load(configIn(dir, { AXON_REGISTRATION_SHARED_SECRET_PATH: path }))).value).toBe('from-the-operator');
    expect(await RegistrationSecret.load(configIn(dir, { AXON_REGISTRATION_SHARED_SECRET_PATH: 'false' }))).toMatchObject({ value: undefined, path: undefined });
  });

  it('refuses an empty secret file rather than registering with an empty key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-secret-'));
    writeFileSync(join(dir, 'registration.secret'), '\n');
    await expect(RegistrationSecret.load(configIn(dir))).rejects.toThrow(/is empty/);
  });
});
