import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateSigningKey, selectEd25519Backend, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import { loadConfig } from '@axon/platform-config';
import { createLogger } from '@axon/platform-telemetry';
import { createTestCa, type TestCa } from '@axon/testing';
import { FederationDestinationRefusedError, FederationNetworkError } from './errors';
import { FederationClient, type FederationClientOptions } from './federation-client';
import { FakeResolver } from './testing/fakes';
import { HttpsPeer, loopbackClientOptions, sendJson } from './testing/https-peer';

/** Certificates, the IP blocklist and the configuration of outbound federation. */
describe('FederationClient: who it agrees to talk to', () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-fed-security-'));
  const logger = createLogger({ level: 'silent', service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  let ca: TestCa;
  let otherCa: TestCa;
  let backend: Ed25519Backend;
  let signingKey: SigningKey;
  /** Certificate from the trusted CA for hs1.test (not other.test). */
  let peer: HttpsPeer;
  /** Certificate for hs1.test from a CA the client does not know. */
  let stranger: HttpsPeer;
  const clients: FederationClient[] = [];

  const answer = (_req: unknown, res: Parameters<typeof sendJson>[0]): void =>
    sendJson(res, 200, { 'm.server': 'hs1.test:1', server_name: 'hs1.test' });

  function client(overrides: Partial<FederationClientOptions> = {}): FederationClient {
    const resolver = new FakeResolver({}, { 'hs1.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] });
    const created = new FederationClient({ ...loopbackClientOptions({ signingKey, backend, logger, caCertificate: ca.certificate, resolver }), ...overrides });
    clients.push(created);
    return created;
  }

  async function failureOf(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => 'answered',
      (error: unknown) => error,
    );
  }

  beforeAll(async () => {
    ca = createTestCa(join(dir, 'ca'));
    otherCa = createTestCa(join(dir, 'other-ca'));
    backend = await selectEd25519Backend('auto');
    const key = generateSigningKey(backend);
    if (!key.ok) throw new Error(key.error);
    signingKey = key.value;
    peer = await HttpsPeer.start(ca.issue('hs1', ['hs1.test', '127.0.0.1']), answer);
    stranger = await HttpsPeer.start(otherCa.issue('hs1', ['hs1.test']), answer);
  });
  beforeEach(() => {
    peer.requests.length = 0;
    stranger.requests.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await Promise.all([peer.close(), stranger.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('certificates', () => {
    it('refuses a certificate from a CA it does not trust', async () => {
      const error = await failureOf(client().get(`hs1.test:${stranger.port}`, '/_matrix/federation/v1/version'));
      expect(error).toBeInstanceOf(FederationNetworkError);
      expect(error).toMatchObject({ failure: 'tls', beforeSending: true });
      expect(stranger.requests).toEqual([]);
    });

    it('refuses a certificate for another name', async () => {
      const error = await failureOf(client().get(`other.test:${peer.port}`, '/_matrix/federation/v1/version'));
      expect(error).toBeInstanceOf(FederationNetworkError);
      expect(error).toMatchObject({ failure: 'tls', message: expect.stringMatching(/other\.test/) });
      expect(peer.requests).toEqual([]);
    });

    it('trusts only the system roots without extra CAs', async () => {
      const error = await failureOf(client({ extraCas: [] }).get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/version'));
      expect(error).toMatchObject({ failure: 'tls' });
    });

    it('skips verification when configured to', async () => {
      const relaxed = client({ verifyCertificates: false });
      await expect(relaxed.get(`hs1.test:${stranger.port}`, '/_matrix/federation/v1/version')).resolves.toMatchObject({ server_name: 'hs1.test' });
      await expect(relaxed.get(`other.test:${peer.port}`, '/_matrix/federation/v1/version')).resolves.toMatchObject({ server_name: 'hs1.test' });
    });
  });

  describe('IP blocklist', () => {
    const blocking = (): FederationClient => client({ ipRangeWhitelist: [] });

    it('refuses a hostname that resolves to 127.0.0.1, connecting nowhere', async () => {
      const before = peer.connections;
      const error = await failureOf(blocking().get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/version'));
      expect(error).toBeInstanceOf(FederationDestinationRefusedError);
      expect(error).toMatchObject({ reason: 'blocked_address', destination: `hs1.test:${peer.port}` });
      expect(peer.connections).toBe(before);
    });

    it.each(['10.1.2.3:8448', '127.0.0.1', '[::1]:8448', '[::ffff:10.0.0.1]'])('refuses the IP literal %s', async (destination) => {
      await expect(blocking().get(destination, '/_matrix/federation/v1/version')).rejects.toMatchObject({
        constructor: FederationDestinationRefusedError,
        reason: 'blocked_address',
      });
    });

    it('reaches a name with some blocked addresses through an allowed one', async () => {
      const c = client({ resolver: new FakeResolver({}, { 'hs1.test': ['10.0.0.1', '127.0.0.1'] }) });
      await expect(c.get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/version')).resolves.toMatchObject({ server_name: 'hs1.test' });
    });

    it('lets the whitelist allow loopback', async () => {
      await expect(client({ ipRangeWhitelist: ['127.0.0.1/32'] }).get(`127.0.0.1:${peer.port}`, '/_matrix/federation/v1/version')).resolves.toMatchObject({
        server_name: 'hs1.test',
      });
    });

    it('applies to the well-known fetch too', async () => {
      const c = client({ ipRangeWhitelist: [], wellKnownPort: peer.port, resolver: new FakeResolver({}, { 'hs1.test': ['127.0.0.1'] }) });
      // The well-known fetch is refused (a failure), then the fallback on 8448 is refused too.
      await expect(c.get('hs1.test', '/_matrix/federation/v1/version')).rejects.toBeInstanceOf(FederationDestinationRefusedError);
      expect(peer.requests).toEqual([]);
    });
  });

  describe('configuration', () => {
    const config = (overrides: Record<string, unknown>) => loadConfig({ env: {}, overrides: { server_name: 'origin.test', ...overrides } });

    it('trusts the CAs of federation.client.ca_files and honours the whitelist', async () => {
      const fromConfig = await FederationClient.fromConfig(
        config({ 'federation.client.ca_files': [ca.certificatePath], 'federation.client.ip_range_whitelist': ['127.0.0.0/8'] }),
        { signingKey, backend },
        logger,
        { resolver: new FakeResolver({}, { 'hs1.test': ['127.0.0.1'] }) },
      );
      clients.push(fromConfig);
      await expect(fromConfig.get(`hs1.test:${peer.port}`, '/_matrix/federation/v1/version')).resolves.toMatchObject({ server_name: 'hs1.test' });
    });

    it('blocks loopback by default', async () => {
      const fromConfig = await FederationClient.fromConfig(config({ 'federation.client.ca_files': [ca.certificatePath] }), { signingKey, backend }, logger);
      clients.push(fromConfig);
      await expect(fromConfig.get(`127.0.0.1:${peer.port}`, '/_matrix/federation/v1/version')).rejects.toBeInstanceOf(FederationDestinationRefusedError);
    });

    it('names a CA file it cannot read', async () => {
      await expect(FederationClient.fromConfig(config({ 'federation.client.ca_files': [join(dir, 'missing.pem')] }), { signingKey, backend }, logger)).rejects.toThrow(
        /federation\.client\.ca_files: cannot read .*missing\.pem/,
      );
    });

    it('names a range it cannot read', async () => {
      await expect(FederationClient.fromConfig(config({ 'federation.client.ip_range_whitelist': ['127.0.0.0/99'] }), { signingKey, backend }, logger)).rejects.toThrow(
        /ip_range_whitelist: "127\.0\.0\.0\/99"/,
      );
    });
  });
});
