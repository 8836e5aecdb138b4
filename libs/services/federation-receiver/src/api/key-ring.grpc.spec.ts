import { KeyRingDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { Ed25519Backend } from '@axon/matrix-signing';
import { InProcessServer, stderrLogger, type ServiceClient } from '@axon/platform-rpc';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { createFederationReceiverMetrics } from '../federation-receiver.metrics';
import { KeyRing } from '../keys/key-ring';
import { FakeRemoteKeySource, FakeServerKeysRepository, keyResponse, ownKeys, testBackend, testServer, type TestServer } from '../testing/server-key-fixtures';
import { createKeyRingService } from './key-ring.grpc';

describe('KeyRing gRPC service', () => {
  const DAY = 24 * 3600 * 1000;
  let backend: Ed25519Backend;
  let remote: TestServer;
  let source: FakeRemoteKeySource;
  let server: InProcessServer;
  let client: ServiceClient<typeof KeyRingDefinition>;

  beforeAll(async () => {
    backend = await testBackend();
    remote = testServer(backend, 'remote.test', 'r1');
    source = new FakeRemoteKeySource();
    const keyRing = new KeyRing(new FakeServerKeysRepository(), source, {
      own: ownKeys(backend, testServer(backend, 'self.test', 'own')),
      trustedKeyServers: [],
      backend,
      metrics: createFederationReceiverMetrics(new Metrics('grpctest')),
      logger: createLogger({ level: 'silent', service: 'key-ring-grpc-test' }),
    });
    server = new InProcessServer({ logger: stderrLogger, shutdownTimeoutMs: 1000 });
    server.add(KeyRingDefinition, createKeyRingService(keyRing));
    client = server.client(KeyRingDefinition, { deadlineMs: 5000, logger: stderrLogger });
  });
  afterAll(async () => {
    await server.shutdown();
  });

  it('answers current and old keys of a server, fetched on demand, with their validity', async () => {
    const validUntil = Date.now() + DAY;
    const old = testServer(backend, 'remote.test', 'r0');
    source.servers.set(remote.name, async () => keyResponse(backend, remote, validUntil, { old: { 'ed25519:r0': { key: old.verifyKey, expired_ts: 1_000 } } }));
    const answer = await client.lookupVerifyKeys({ serverName: remote.name, keyIds: [], minimumValidUntilTs: '0' });
    expect(answer.keys).toEqual([
      { keyId: 'ed25519:r1', key: remote.verifyKey, validity: { $case: 'validUntilTs', value: String(validUntil) } },
      { keyId: 'ed25519:r0', key: old.verifyKey, validity: { $case: 'expiredTs', value: '1000' } },
    ]);
    const now = await client.lookupVerifyKeys({ serverName: remote.name, keyIds: ['ed25519:r0', 'ed25519:r1'], minimumValidUntilTs: String(Date.now()) });
    expect(now.keys.map((k) => k.keyId)).toEqual(['ed25519:r1']);
    // No stored key answered r0 valid now: the server was asked again, in case it had news.
    expect(source.fetches).toEqual([remote.name, remote.name]);
  });

  it('refuses a server name that does not parse', async () => {
    const refused = await client.lookupVerifyKeys({ serverName: 'not a name', keyIds: [], minimumValidUntilTs: '0' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MatrixError);
    expect((refused as MatrixError).errcode).toBe('M_INVALID_PARAM');
  });
});
