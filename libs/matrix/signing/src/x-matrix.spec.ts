import fc from 'fast-check';
import { ok, err } from '@axon/matrix-errors';
import { createNativeEd25519Backend } from './ed25519-backend';
import { encodeVerifyKey, generateSigningKey } from './signing-key';
import { parseXMatrixHeader, signXMatrixRequest, verifyXMatrixRequest } from './x-matrix';

describe('X-Matrix request authentication', () => {
  it.each([
    ['X-Matrix origin="o.example",destination="d.example",key="ed25519:k1",sig="c2ln"', true],
    ['x-matrix  ORIGIN=o.example , key=ed25519:k1,\tsig="c\\2ln", extra="x"', true],
    ['X-Matrix origin="o.example",key="ed25519:k1"', false],
    ['X-Matrix origin="o.example",origin="p.example",key="ed25519:k1",sig="x"', false],
    ['X-Matrix origin="o.example,key="ed25519:k1",sig="x"', false],
    ['Bearer origin="o.example",key="ed25519:k1",sig="x"', false],
    ['X-Matrix origin="o example",key="ed25519:k1",sig="x"', false],
  ])('parseXMatrixHeader(%j) accepted: %s', (header, accepted) => {
    expect(parseXMatrixHeader(header).ok).toBe(accepted);
  });

  it('unescapes quoted values', () => {
    const parsed = parseXMatrixHeader('X-Matrix origin="o.example",key="ed25519:k1",sig="a\\b"');
    expect(parsed.ok && parsed.value).toEqual({ origin: 'o.example', key: 'ed25519:k1', sig: 'ab' });
  });

  it('property: never throws on garbage', () => {
    fc.assert(fc.property(fc.string(), (text) => void parseXMatrixHeader(`X-Matrix ${text}`)));
  });

  it('a signed request verifies at its destination only, and not after changing the body', async () => {
    const backend = (await createNativeEd25519Backend())!;
    const key = generateSigningKey(backend, 'k1');
    if (!key.ok) throw new Error(key.error);
    const request = { method: 'PUT', uri: '/_matrix/federation/v1/send/1', origin: 'o.example', destination: 'd.example', content: { pdus: [] } };
    const header = signXMatrixRequest(request, { key: key.value, backend });
    expect(header).toMatch(/^X-Matrix origin="o.example",destination="d.example",key="ed25519:k1",sig="[A-Za-z0-9+/]{86}"$/);
    const authorization = parseXMatrixHeader(header);
    if (!authorization.ok) throw new Error(authorization.error);
    const input = { authorization: authorization.value, method: 'PUT', uri: request.uri, content: request.content, serverName: 'd.example', verifyKey: ok(encodeVerifyKey(key.value, backend)), backend };
    expect(verifyXMatrixRequest(input).ok).toBe(true);
    const code = (result: ReturnType<typeof verifyXMatrixRequest>) => (result.ok ? 'ok' : result.error.code);
    expect(code(verifyXMatrixRequest({ ...input, serverName: 'x.example' }))).toBe('wrong_destination');
    expect(code(verifyXMatrixRequest({ ...input, content: { pdus: [1] } }))).toBe('invalid_signature');
    expect(code(verifyXMatrixRequest({ ...input, verifyKey: err('offline') }))).toBe('key_not_found');
  });
});
