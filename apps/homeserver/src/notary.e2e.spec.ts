import { createPublicKey, verify } from 'node:crypto';
import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface KeyResponse {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  valid_until_ts: number;
  signatures: Record<string, Record<string, string>>;
}

/** The test's own canonical JSON (keys sorted, no whitespace): enough for key responses, ASCII strings and integers. */
function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether `signatures[server][keyId]` verifies over the body without `signatures`, with node:crypto. */
function verifySignature(body: KeyResponse, server: string, keyId: string, publicKey: string): boolean {
  const { signatures, ...rest } = body;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'base64')]), format: 'der', type: 'spki' });
  const signature = signatures[server]?.[keyId];
  return signature !== undefined && verify(null, Buffer.from(canonical(rest as unknown as Json), 'utf8'), key, Buffer.from(signature, 'base64'));
}

describe('notary endpoints (/_matrix/key/v2/query) and /_matrix/federation/v1/version', () => {
  const SERVER = 'notary.test';
  let hs: HomeserverProcess;
  let own: KeyResponse;
  let keyId: string;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: SERVER });
    own = (await (await fetch(`${hs.baseUrl}/_matrix/key/v2/server`)).json()) as KeyResponse;
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
