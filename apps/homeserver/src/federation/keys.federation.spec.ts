import { selectEd25519Backend, verifyJsonSignature, type Ed25519Backend } from '@axon/matrix-signing';
import { httpsRequest, startFederationNet, type FederatedServer, type FederationNet } from '@axon/testing';

type ServerKeys = {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  valid_until_ts: number;
  signatures: Record<string, Record<string, string>>;
};

// Two Axon homeservers and Synapse, each federation listener HTTPS with a certificate of
// one test CA (libs/testing/src/federation-net.ts). Publishing and fetching server keys
// is the first thing federation does: a server that cannot be reached over verified TLS,
// or whose keys do not verify, cannot federate at all.
describe('server keys over federation TLS (hs1, hs2, Synapse)', () => {
  let net: FederationNet;
  let backend: Ed25519Backend;

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    backend = await selectEd25519Backend('native');
    net = await startFederationNet();
  }, 120_000);

  afterAll(async () => {
    await net?.stop();
  });

  const ownKeys = async (server: FederatedServer): Promise<ServerKeys> => {
    const answer = await net.federationRequest(server, 'GET', '/_matrix/key/v2/server');
    expect(answer.status).toBe(200);
    return answer.body as ServerKeys;
  };

  it("Synapse fetches hs1's keys over TLS and serves them as a notary, with hs1's valid signature", async () => {
    const published = await ownKeys(net.hs1);
    const [keyId] = Object.keys(published.verify_keys);
    // Synapse fetches from the origin only for key IDs asked with a minimum validity;
    // a query for all of a server's keys answers from its cache alone.
    const query = await net.federationRequest(net.synapse, 'POST', '/_matrix/key/v2/query', {
      server_keys: { [net.hs1.serverName]: { [keyId!]: { minimum_valid_until_ts: Date.now() } } },
    });
    expect(query.status).toBe(200);
    const served = (query.body as { server_keys: ServerKeys[] }).server_keys;
    expect(served.map((keys) => keys.server_name)).toEqual([net.hs1.serverName]);
    const [keys] = served;
    expect(keys!.verify_keys).toEqual(published.verify_keys);
    const publicKey = published.verify_keys[keyId!]!.key;
    expect(verifyJsonSignature(keys!, { serverName: net.hs1.serverName, keyId: keyId!, publicKey, backend })).toEqual({ ok: true, value: undefined });
    // The notary countersigns what it serves.
    expect(Object.keys(keys!.signatures).sort()).toEqual([net.hs1.serverName, net.synapse.serverName].sort());

    // Now cached, the keys are served to a query for all of hs1's keys as well.
    const cached = await net.federationRequest(net.synapse, 'GET', `/_matrix/key/v2/query/${encodeURIComponent(net.hs1.serverName)}`);
    expect((cached.body as { server_keys: ServerKeys[] }).server_keys.map((k) => k.verify_keys)).toEqual([published.verify_keys]);
  });

  it.each(['hs1', 'hs2'] as const)('%s serves federation over HTTPS only, with a certificate only the CA vouches for', async (label) => {
    const server = net[label];
    const keys = await ownKeys(server);
    expect(keys.server_name).toBe(server.serverName);
    const url = `${server.federationUrl}/_matrix/key/v2/server`;
    // Without the test CA the certificate does not verify.
    await expect(httpsRequest(url)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    // Plain HTTP to the TLS port gets no answer.
    await expect(fetch(url.replace(/^https:/, 'http:'))).rejects.toThrow(/fetch failed/);
  });

  it("Synapse's federation listener answers over the same CA, as the version the harness installs", async () => {
    const version = await net.federationRequest(net.synapse, 'GET', '/_matrix/federation/v1/version');
    expect(version).toEqual({ status: 200, body: { server: { name: 'Synapse', version: '1.163.2' } } });
    expect(net.synapseVersion).toMatch(/^synapse 1\.163\.2 on python /);
  });

  it('registers a user on each server, each with a matrix-js-sdk client of its own', async () => {
    for (const server of [net.hs1, net.hs2, net.synapse]) {
      const alice = await net.register(server, 'alice');
      expect(alice.userId).toBe(`@alice:${server.serverName}`);
      await expect(alice.client.whoami()).resolves.toMatchObject({ user_id: alice.userId, device_id: alice.deviceId });
    }
  });
});
