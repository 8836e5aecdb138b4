import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHomeserver, type HomeserverProcess } from '@axon/testing';

// The federation listener without `federation.tls` (plain HTTP, as behind a
// TLS-terminating proxy). Its HTTPS side, with a test CA and Synapse as the peer, is in
// the federation project (`npm run test:federation`, federation/*.federation.spec.ts).
describe('the federation listener (listen.federation)', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: 'fed-listener.test' });
  });

  afterAll(async () => {
    await hs?.stop();
  });

  it('is named in the ready line, and says it serves plain HTTP', () => {
    const ready = hs.logs.find((entry) => entry['msg'] === 'homeserver ready');
    expect(ready?.['federation']).toBe(`127.0.0.1:${hs.federationPort}`);
    expect(hs.federationUrl).toBe(`http://127.0.0.1:${hs.federationPort}`);
    expect(hs.logs).toContainEqual(expect.objectContaining({ federation: ready?.['federation'], tls: false }));
  });

  it('serves the server keys that the client listener serves', async () => {
    const overFederation = (await (await fetch(`${hs.federationUrl}/_matrix/key/v2/server`)).json()) as { server_name: string; verify_keys: unknown };
    const overClient = (await (await fetch(`${hs.baseUrl}/_matrix/key/v2/server`)).json()) as { verify_keys: unknown };
    expect(overFederation.server_name).toBe('fed-listener.test');
    expect(overFederation.verify_keys).toEqual(overClient.verify_keys);
  });

  it('answers only the Server-Server API: the Client-Server API and the probes stay on the client listener', async () => {
    for (const path of ['/_matrix/client/versions', '/health', '/.well-known/matrix/server']) {
      const res = await fetch(`${hs.federationUrl}${path}`);
      expect({ path, status: res.status, body: await res.json() }).toEqual({ path, status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } });
      expect((await fetch(`${hs.baseUrl}${path}`)).status).toBe(200);
    }
  });
});

describe('federation.tls', () => {
  it('stops the start when the certificate cannot be read, naming the setting', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'axon-tls-')), 'missing.pem');
    await expect(startHomeserver({ AXON_FEDERATION_TLS_CERT: missing, AXON_FEDERATION_TLS_KEY: missing })).rejects.toThrow(
      /exited early \(code 1[\s\S]*federation\.tls\.certificate_path: cannot read .*missing\.pem/,
    );
  });
});
