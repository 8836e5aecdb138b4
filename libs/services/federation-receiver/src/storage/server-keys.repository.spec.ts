import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { ServerName } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { FEDERATION_RECEIVER_MIGRATIONS } from './migrations';
import { ServerKeysRepository, type StoredServerKey } from './server-keys.repository';

const DAY = 24 * 3600 * 1000;
const T0 = 1_750_000_000_000;
const REMOTE = 'remote.test' as ServerName;
const OTHER = 'other.test' as ServerName;

const current = (keyId: string, validUntilTs: number, fetchedTs: number, serverName = REMOTE): StoredServerKey => ({
  serverName,
  keyId,
  verifyKey: `key-of-${keyId}`,
  validUntilTs,
  fetchedTs,
  keyJson: JSON.stringify({ server_name: serverName, fetched: fetchedTs }),
});
const old = (keyId: string, expiredTs: number, fetchedTs: number): StoredServerKey => ({
  serverName: REMOTE,
  keyId,
  verifyKey: `key-of-${keyId}`,
  expiredTs,
  fetchedTs,
  keyJson: JSON.stringify({ server_name: REMOTE, fetched: fetchedTs }),
});

describe('ServerKeysRepository', () => {
  let database: Database;
  let keys: ServerKeysRepository;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-fr-keys-')), inMemory: true });
    keys = new ServerKeysRepository(await database.dataSource({ schema: 'federation_receiver', migrations: [...FEDERATION_RECEIVER_MIGRATIONS] }));
  });
  afterAll(async () => {
    await database.close();
  });

  it('keeps current and old keys per server, read all at once or by key ID', async () => {
    await keys.store([current('ed25519:a', T0 + DAY, T0), old('ed25519:old', T0 - DAY, T0), current('ed25519:a', T0 + 2 * DAY, T0, OTHER)]);
    expect(await keys.keysOf(REMOTE)).toEqual([current('ed25519:a', T0 + DAY, T0), old('ed25519:old', T0 - DAY, T0)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:old', 'ed25519:unknown'])).toEqual([old('ed25519:old', T0 - DAY, T0)]);
    expect(await keys.keysOf(OTHER)).toEqual([current('ed25519:a', T0 + 2 * DAY, T0, OTHER)]);
    expect(await keys.keysOf('nobody.test' as ServerName)).toEqual([]);
  });

  it('between two current answers keeps the one valid longer, counting the 7-day cap from each fetch', async () => {
    await keys.store([current('ed25519:b', T0 + DAY, T0)]);
    // A later fetch extends it.
    await keys.store([current('ed25519:b', T0 + 3 * DAY, T0 + DAY)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:b'])).toEqual([current('ed25519:b', T0 + 3 * DAY, T0 + DAY)]);
    // A notary's stale copy (shorter) does not shorten it.
    await keys.store([current('ed25519:b', T0 + 2 * DAY, T0 + 2 * DAY)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:b'])).toEqual([current('ed25519:b', T0 + 3 * DAY, T0 + DAY)]);
    // Published for a year, fetched at T0: valid until T0 + 7 days. A fetch at T0 + 3 days
    // published for 5 days is valid until T0 + 8 days: it wins though it publishes less.
    await keys.store([current('ed25519:c', T0 + 365 * DAY, T0)]);
    await keys.store([current('ed25519:c', T0 + 8 * DAY, T0 + 3 * DAY)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:c'])).toEqual([current('ed25519:c', T0 + 8 * DAY, T0 + 3 * DAY)]);
  });

  it('a key moved to old_verify_keys stays old: a current-key answer does not revive it', async () => {
    await keys.store([current('ed25519:d', T0 + DAY, T0)]);
    await keys.store([old('ed25519:d', T0 + DAY / 2, T0 + DAY / 2)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:d'])).toEqual([old('ed25519:d', T0 + DAY / 2, T0 + DAY / 2)]);
    await keys.store([current('ed25519:d', T0 + 5 * DAY, T0 + DAY)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:d'])).toEqual([old('ed25519:d', T0 + DAY / 2, T0 + DAY / 2)]);
    // A later old-key answer replaces an earlier one.
    await keys.store([old('ed25519:d', T0 + DAY / 4, T0 + 2 * DAY)]);
    expect(await keys.keysOf(REMOTE, ['ed25519:d'])).toEqual([old('ed25519:d', T0 + DAY / 4, T0 + 2 * DAY)]);
  });
});
