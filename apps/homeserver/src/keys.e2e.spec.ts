import { createPublicKey, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface KeyResponse {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  valid_until_ts: number;
  signatures: Record<string, Record<string, string>>;
}

/**
 * A canonical JSON encoder of the test's own (keys sorted recursively, no whitespace,
 * JSON.stringify for scalars), independent of the library under test: enough for a
 * key response, which holds only ASCII strings and integers.
 */
function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fromUnpaddedBase64(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Verifies `signatures[server][keyId]` over the object without `signatures` and `unsigned`, with node:crypto. */
function verifySignature(body: KeyResponse, server: string, keyId: string, publicKey: string): boolean {
  const { signatures, ...rest } = body;
  const raw = fromUnpaddedBase64(publicKey);
  expect(raw).toHaveLength(32);
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  const signature = signatures[server]?.[keyId];
  if (signature === undefined) return false;
  return verify(null, Buffer.from(canonical(rest as unknown as Json), 'utf8'), key, fromUnpaddedBase64(signature));
}

async function fetchKeys(hs: HomeserverProcess): Promise<KeyResponse> {
  const res = await fetch(`${hs.baseUrl}/_matrix/key/v2/server`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as KeyResponse;
}

describe('GET /_matrix/key/v2/server', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: 'keys.test' });
  });
  afterAll(async () => {
    await hs.stop();
  });

  it('publishes a spec-valid, self-signed key that node:crypto verifies, and keeps it across restarts', async () => {
    const before = Date.now();
    const body = await fetchKeys(hs);
    expect(specErrors('server-server', 'GET /_matrix/key/v2/server 200', body)).toEqual([]);
    expect(body.server_name).toBe('keys.test');
    expect(body.old_verify_keys).toEqual({});
    const keyIds = Object.keys(body.verify_keys);
    expect(keyIds).toHaveLength(1);
    const keyId = keyIds[0]!;
    expect(keyId).toMatch(/^ed25519:[a-zA-Z0-9_]+$/);
    const publicKey = body.verify_keys[keyId]!.key;
    expect(publicKey).toMatch(/^[A-Za-z0-9+/]{43}$/);
    // One day by default: more than the hour the spec asks for, within the 7-day cap.
    expect(body.valid_until_ts).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(body.valid_until_ts).toBeLessThanOrEqual(Date.now() + 86_400_000 + 1000);
    expect(Object.keys(body.signatures)).toEqual(['keys.test']);
    expect(verifySignature(body, 'keys.test', keyId, publicKey)).toBe(true);
    // A tampered body does not verify.
    expect(verifySignature({ ...body, valid_until_ts: body.valid_until_ts + 1 }, 'keys.test', keyId, publicKey)).toBe(false);

    // The key lives in the data directory, without its seed in any log line.
    const keyFile = readFileSync(join(hs.dataDir, 'signing.key'), 'utf8');
    const seed = keyFile.trim().split(' ')[2]!;
    expect(keyFile.startsWith(`ed25519 ${keyId.slice('ed25519:'.length)} `)).toBe(true);
    expect(JSON.stringify(hs.logs)).not.toContain(seed);
    expect(hs.logs.some((l) => l['msg'] === 'signing key generated' && l['keyId'] === keyId)).toBe(true);

    await hs.stop();
    hs = await startHomeserver({ AXON_SERVER_NAME: 'keys.test' }, { dataDir: hs.dataDir });
    const again = await fetchKeys(hs);
    expect(Object.keys(again.verify_keys)).toEqual([keyId]);
    expect(again.verify_keys[keyId]!.key).toBe(publicKey);
    expect(verifySignature(again, 'keys.test', keyId, publicKey)).toBe(true);
    expect(hs.logs.some((l) => l['msg'] === 'signing key loaded' && l['keyId'] === keyId)).toBe(true);
  });

  it('publishes configured old keys in old_verify_keys, signed by the current key', async () => {
    await hs.stop();
    const oldKey = { key: 'VGhpcyBpcyAzMiBieXRlcyBvZiBwdWJsaWMga2V5ISE', expired_ts: 1_700_000_000_000 };
    const configPath = join(hs.dataDir, 'axon.yaml');
    writeFileSync(configPath, ['signing:', '  old_verify_keys:', '    ed25519:old_1:', `      key: ${oldKey.key}`, `      expired_ts: ${oldKey.expired_ts}`].join('\n'));
    hs = await startHomeserver({ AXON_SERVER_NAME: 'keys.test', AXON_CONFIG: configPath }, { dataDir: hs.dataDir });
    const body = await fetchKeys(hs);
    expect(specErrors('server-server', 'GET /_matrix/key/v2/server 200', body)).toEqual([]);
    expect(body.old_verify_keys).toEqual({ 'ed25519:old_1': oldKey });
    const [keyId] = Object.keys(body.verify_keys);
    expect(verifySignature(body, 'keys.test', keyId!, body.verify_keys[keyId!]!.key)).toBe(true);
    expect(verifySignature({ ...body, old_verify_keys: {} }, 'keys.test', keyId!, body.verify_keys[keyId!]!.key)).toBe(false);
  });

  it('reads the key from AXON_SIGNING_KEY_PATH when set', async () => {
    await hs.stop();
    const keyPath = join(hs.dataDir, 'elsewhere', 'server.key');
    hs = await startHomeserver({ AXON_SERVER_NAME: 'keys.test', AXON_SIGNING_KEY_PATH: keyPath, AXON_CRYPTO_BACKEND: 'libsodium' }, { dataDir: hs.dataDir });
    const body = await fetchKeys(hs);
    const [keyId] = Object.keys(body.verify_keys);
    expect(readFileSync(keyPath, 'utf8')).toContain(`ed25519 ${keyId!.slice('ed25519:'.length)} `);
    expect(verifySignature(body, 'keys.test', keyId!, body.verify_keys[keyId!]!.key)).toBe(true);
  });
});

describe('notary endpoints (/_matrix/key/v2/query) and /_matrix/federation/v1/version', () => {
  const SERVER = 'notary.test';
  let hs: HomeserverProcess;
  let own: KeyResponse;
  let keyId: string;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER });
    own = await fetchKeys(hs);
    keyId = Object.keys(own.verify_keys)[0]!;
  });
  afterAll(async () => {
    await hs.stop();
  });

  const expectOwnKeys = (body: { server_keys: KeyResponse[] }, validFrom: number): void => {
    expect(body.server_keys).toHaveLength(1);
    const [response] = body.server_keys as [KeyResponse];
    expect(response.server_name).toBe(SERVER);
    expect(response.verify_keys).toEqual(own.verify_keys);
    expect(response.valid_until_ts).toBeGreaterThanOrEqual(validFrom + 86_400_000 - 1000);
    expect(verifySignature(response, SERVER, keyId, own.verify_keys[keyId]!.key)).toBe(true);
    expect(verifySignature({ ...response, valid_until_ts: response.valid_until_ts + 1 }, SERVER, keyId, own.verify_keys[keyId]!.key)).toBe(false);
  };

  it('GET answers its own server name with its own keys, signed', async () => {
    const before = Date.now();
    const res = await fetch(`${hs.baseUrl}/_matrix/key/v2/query/${SERVER}?minimum_valid_until_ts=${before + 3_600_000}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { server_keys: KeyResponse[] };
    expect(specErrors('server-server', 'GET /_matrix/key/v2/query/{serverName} 200', body)).toEqual([]);
    expectOwnKeys(body, before);
  });

  it('POST answers the servers asked for: its own, and none for a server it cannot reach', async () => {
    const before = Date.now();
    const res = await fetch(`${hs.baseUrl}/_matrix/key/v2/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server_keys: { [SERVER]: { [keyId]: { minimum_valid_until_ts: before } }, 'unreachable.invalid': {} } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { server_keys: KeyResponse[] };
    expect(specErrors('server-server', 'POST /_matrix/key/v2/query 200', body)).toEqual([]);
    expectOwnKeys(body, before);
    const empty = await fetch(`${hs.baseUrl}/_matrix/key/v2/query`, { method: 'POST', body: JSON.stringify({ server_keys: {} }) });
    expect(await empty.json()).toEqual({ server_keys: [] });
    expect(await (await fetch(`${hs.baseUrl}/_matrix/key/v2/query/unreachable.invalid`)).json()).toEqual({ server_keys: [] });
  });

  it('refuses malformed queries with the spec\'s errors', async () => {
    const post = async (body: string): Promise<{ status: number; errcode: unknown }> => {
      const res = await fetch(`${hs.baseUrl}/_matrix/key/v2/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, errcode: ((await res.json()) as { errcode?: unknown }).errcode };
    };
    expect(await post('{"server_keys":')).toEqual({ status: 400, errcode: 'M_NOT_JSON' });
    expect(await post('[]')).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await post('{}')).toEqual({ status: 400, errcode: 'M_MISSING_PARAM' });
    expect(await post('{"server_keys":[]}')).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await post('{"server_keys":{"bad name!":{}}}')).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await post(`{"server_keys":{"${SERVER}":{"${keyId}":{"minimum_valid_until_ts":"soon"}}}}`)).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
    const get = await fetch(`${hs.baseUrl}/_matrix/key/v2/query/${SERVER}?minimum_valid_until_ts=soon`);
    expect([get.status, ((await get.json()) as { errcode: string }).errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('GET /_matrix/federation/v1/version names the implementation, without a signature', async () => {
    const res = await fetch(`${hs.baseUrl}/_matrix/federation/v1/version`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { server: { name: string; version: string } };
    expect(specErrors('server-server', 'GET /_matrix/federation/v1/version 200', body)).toEqual([]);
    expect(body.server.name).toBe('Axon');
    expect(body.server.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
