import type { ServerName } from '@axon/matrix-identifiers';
import type { Ed25519Backend } from '@axon/matrix-signing';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { createFederationReceiverMetrics, type FederationReceiverMetrics } from '../federation-receiver.metrics';
import { FakeRemoteKeySource, FakeServerKeysRepository, keyResponse, ownKeys, testBackend, testServer, type TestServer } from '../testing/server-key-fixtures';
import { KeyRing, type VerifyKey } from './key-ring';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const T0 = 1_750_000_000_000;

describe('KeyRing', () => {
  let backend: Ed25519Backend;
  let self: TestServer;
  let remote: TestServer;
  let notary: TestServer;
  let storage: FakeServerKeysRepository;
  let source: FakeRemoteKeySource;
  let metrics: Metrics;
  let counters: FederationReceiverMetrics;
  let now: number;

  beforeAll(async () => {
    backend = await testBackend();
    self = testServer(backend, 'self.test', 'own');
    remote = testServer(backend, 'remote.test', 'r1');
    notary = testServer(backend, 'notary.test', 'n1');
  });

  beforeEach(() => {
    storage = new FakeServerKeysRepository();
    source = new FakeRemoteKeySource();
    metrics = new Metrics('keyringtest');
    counters = createFederationReceiverMetrics(metrics);
    now = T0;
  });

  const keyRing = (options: { notaries?: TestServer[]; backoffMs?: number } = {}): KeyRing =>
    new KeyRing(storage, source, {
      own: ownKeys(backend, self, { 'ed25519:retired': { key: remote.verifyKey, expired_ts: T0 - DAY } }),
      trustedKeyServers: (options.notaries ?? []).map((n) => ({ server_name: n.name, verify_keys: { [n.key.keyId]: n.verifyKey } })),
      backend,
      metrics: counters,
      logger: createLogger({ level: 'silent', service: 'key-ring-test' }),
      ...(options.backoffMs === undefined ? {} : { fetchBackoffMs: options.backoffMs }),
      clock: () => now,
    });

  const fetchCount = async (source: string, outcome: string): Promise<number> =>
    (await counters.keyFetches.get()).values.find((v) => v.labels['source'] === source && v.labels['outcome'] === outcome)?.value ?? 0;

  const current = (server: TestServer, validUntilTs: number): VerifyKey => ({ keyId: server.key.keyId, key: server.verifyKey, source: 'verify_keys', validUntilTs });

  it('fetches a server\'s keys from the server itself and accepts a correctly self-signed answer', async () => {
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + DAY));
    expect(await keyRing().verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([current(remote, T0 + DAY)]);
    expect(source.fetches).toEqual([remote.name]);
    expect(await fetchCount('direct', 'accepted')).toBe(1);
    // Stored with the signed response, to serve as a notary.
    expect(JSON.parse([...storage.rows.values()][0]!.keyJson)).toEqual(keyResponse(backend, remote, T0 + DAY));
  });

  it('refuses an answer that names another server', async () => {
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + DAY, { serverName: 'evil.test' }));
    expect(await keyRing().verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([]);
    expect(storage.rows.size).toBe(0);
    expect(await fetchCount('direct', 'refused')).toBe(1);
  });

  it('refuses an answer without the server\'s signature, with a forged one, or not signed by every key it publishes', async () => {
    const impostor = testServer(backend, remote.name, 'r1');
    const second = testServer(backend, remote.name, 'r2');
    const answers = [
      keyResponse(backend, remote, T0 + DAY, { signers: [] }),
      // Signed under the published key ID by a key that is not the published one.
      keyResponse(backend, remote, T0 + DAY, { signers: [impostor] }),
      // Two keys published, signed by one of them only.
      keyResponse(backend, remote, T0 + DAY, { keys: [remote, second], signers: [remote] }),
      // A valid signature on a body changed afterwards.
      { ...keyResponse(backend, remote, T0 + DAY), valid_until_ts: T0 + 2 * DAY },
    ];
    for (const answer of answers) {
      source.servers.set(remote.name, async () => answer);
      expect(await keyRing().verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([]);
    }
    expect(storage.rows.size).toBe(0);
    expect(await fetchCount('direct', 'refused')).toBe(answers.length);
    // Both keys publishing and signing: accepted.
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + DAY, { keys: [remote, second], signers: [remote, second] }));
    expect((await keyRing().verifyKeysFor(remote.name, [], { minimumValidUntilTs: T0 })).map((k) => k.keyId).sort()).toEqual(['ed25519:r1', 'ed25519:r2']);
  });

  it('keeps expired keys for events signed before, but answers none valid now', async () => {
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 - HOUR, { old: { 'ed25519:r0': { key: notary.verifyKey, expired_ts: T0 - DAY } } }));
    const ring = keyRing();
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([]);
    expect(await fetchCount('direct', 'insufficient')).toBe(1);
    // An event from two hours ago was signed while the key was valid.
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId, 'ed25519:r0'], { minimumValidUntilTs: T0 - 2 * HOUR })).toEqual([current(remote, T0 - HOUR)]);
    expect(await ring.verifyKeysFor(remote.name, ['ed25519:r0'], { minimumValidUntilTs: T0 - 2 * DAY })).toEqual([
      { keyId: 'ed25519:r0', key: notary.verifyKey, source: 'old_verify_keys', expiredTs: T0 - DAY },
    ]);
    // Requests are checked with current keys valid at the time of the request only.
    expect((await ring.verifyKeyForRequest(remote.name, remote.key.keyId, T0)).ok).toBe(false);
    expect(await ring.verifyKeyForRequest(remote.name, remote.key.keyId, T0 - 2 * HOUR)).toEqual({ ok: true, value: { key: remote.verifyKey, source: 'verify_keys' } });
    expect((await ring.verifyKeyForRequest(remote.name, 'ed25519:r0', T0 - 2 * DAY)).ok).toBe(false);
  });

  it('caps valid_until_ts at 7 days after the fetch', async () => {
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + 365 * DAY));
    const ring = keyRing();
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([current(remote, T0 + 7 * DAY)]);
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 + 8 * DAY })).toEqual([]);
    // Asking for more than the cap allows fetched again, and the fresh fetch counts from now.
    expect(source.fetches).toHaveLength(2);
    now = T0 + 2 * DAY;
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 + 8 * DAY })).toEqual([current(remote, T0 + 9 * DAY)]);
  });

  it('falls back to a trusted notary, checking the notary\'s signature and the server\'s', async () => {
    source.notaries.set(notary.name, async () => ({ server_keys: [keyResponse(backend, remote, T0 + DAY, { signers: [remote, notary] })] }));
    expect(await keyRing({ notaries: [notary] }).verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 + HOUR })).toEqual([current(remote, T0 + DAY)]);
    expect(source.fetches).toEqual([remote.name]);
    expect(source.queries).toEqual([{ notary: notary.name, criteria: { [remote.name]: { [remote.key.keyId]: { minimum_valid_until_ts: T0 + HOUR } } } }]);
    expect(await fetchCount('direct', 'failed')).toBe(1);
    expect(await fetchCount('notary', 'accepted')).toBe(1);
  });

  it('refuses a notary\'s answer with a forged notary signature, or without the server\'s own', async () => {
    const forger = testServer(backend, notary.name, 'n1');
    const answers = [
      keyResponse(backend, remote, T0 + DAY, { signers: [remote, forger] }),
      keyResponse(backend, remote, T0 + DAY, { signers: [remote] }),
      keyResponse(backend, remote, T0 + DAY, { signers: [notary] }),
    ];
    for (const answer of answers) {
      source.notaries.set(notary.name, async () => ({ server_keys: [answer] }));
      expect(await keyRing({ notaries: [notary] }).verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([]);
    }
    expect(storage.rows.size).toBe(0);
    expect(await fetchCount('notary', 'refused')).toBe(answers.length);
  });

  it('tries the notaries in order until one gives the keys', async () => {
    const second = testServer(backend, 'notary2.test', 'n2');
    source.notaries.set(notary.name, async () => ({ server_keys: [] }));
    source.notaries.set(second.name, async () => ({ server_keys: [keyResponse(backend, remote, T0 + DAY, { signers: [remote, second] })] }));
    expect(await keyRing({ notaries: [notary, second] }).verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([current(remote, T0 + DAY)]);
    expect(source.queries.map((q) => q.notary)).toEqual([notary.name, second.name]);
    expect(await fetchCount('notary', 'insufficient')).toBe(1);
  });

  it('answers from what it stored without asking again', async () => {
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + DAY));
    const ring = keyRing();
    await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 });
    now = T0 + HOUR;
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: now })).toEqual([current(remote, T0 + DAY)]);
    expect(await keyRing().verifyKeysFor(remote.name, [], { minimumValidUntilTs: now })).toEqual([current(remote, T0 + DAY)]);
    expect(source.fetches).toHaveLength(1);
  });

  it('shares one fetch between concurrent look-ups of a server', async () => {
    const waiting: Array<(value: unknown) => void> = [];
    source.servers.set(remote.name, () => new Promise((resolve) => waiting.push(resolve)));
    const ring = keyRing();
    const lookups = [1, 2, 3].map(() => ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 }));
    // Let every look-up read the store and reach the fetch.
    await new Promise((resolve) => setImmediate(resolve));
    for (const answer of waiting) answer(keyResponse(backend, remote, T0 + DAY));
    expect(await Promise.all(lookups)).toEqual([1, 2, 3].map(() => [current(remote, T0 + DAY)]));
    expect(source.fetches).toEqual([remote.name]);
  });

  it('does not ask a server again during the backoff after a failed look-up', async () => {
    const ring = keyRing({ notaries: [notary], backoffMs: 60_000 });
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: T0 })).toEqual([]);
    now = T0 + 30_000;
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: now })).toEqual([]);
    expect(source.fetches).toHaveLength(1);
    expect(source.queries).toHaveLength(1);
    source.servers.set(remote.name, async () => keyResponse(backend, remote, T0 + DAY));
    now = T0 + 60_001;
    expect(await ring.verifyKeysFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: now })).toEqual([current(remote, T0 + DAY)]);
    expect(source.fetches).toHaveLength(2);
  });

  it('answers its own server from its signing key and old keys, never fetching', async () => {
    const ring = keyRing();
    expect(await ring.verifyKeysFor(self.name, [], { minimumValidUntilTs: T0 - 2 * DAY })).toEqual([
      current(self, T0 + DAY),
      { keyId: 'ed25519:retired', key: remote.verifyKey, source: 'old_verify_keys', expiredTs: T0 - DAY },
    ]);
    expect(await ring.verifyKeysFor(self.name, ['ed25519:retired'], { minimumValidUntilTs: T0 })).toEqual([]);
    expect(await ring.verifyKeyForRequest(self.name, self.key.keyId, T0)).toEqual({ ok: true, value: { key: self.verifyKey, source: 'verify_keys' } });
    const [response] = await ring.keyResponsesFor(self.name, [], { minimumValidUntilTs: T0 });
    expect(response).toEqual(ownKeys(backend, self, { 'ed25519:retired': { key: remote.verifyKey, expired_ts: T0 - DAY } }).response(T0));
    expect(source.fetches).toEqual([]);
  });

  it('serves the stored signed responses as a notary, even once the server stopped answering', async () => {
    const signed = keyResponse(backend, remote, T0 + DAY);
    source.servers.set(remote.name, async () => signed);
    const ring = keyRing();
    expect(await ring.keyResponsesFor(remote.name, [], { minimumValidUntilTs: T0 })).toEqual([signed]);
    source.servers.delete(remote.name);
    now = T0 + 2 * DAY;
    expect(await ring.keyResponsesFor(remote.name, [remote.key.keyId], { minimumValidUntilTs: now })).toEqual([signed]);
    expect(source.fetches).toHaveLength(2);
    expect(await ring.keyResponsesFor('unknown.test' as ServerName, [], { minimumValidUntilTs: now })).toEqual([]);
  });
});
