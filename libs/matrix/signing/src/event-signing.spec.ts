import fc from 'fast-check';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { REDACTION_V1, REDACTION_V11, redactEvent } from '@axon/matrix-events';
import type { Ed25519Backend } from './ed25519-backend';
import { checkContentHash, signEvent, verifyEventSignature } from './event-signing';
import { encodeVerifyKey } from './signing-key';
import { BACKENDS, SERVER_NAME, specKey } from './testing/spec-vectors';


const VECTORS: Array<{ name: string; given: JsonObject; emits: JsonObject }> = [
  {
    name: 'the minimally-sized event',
    given: {
      room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000, signatures: {}, hashes: {},
      type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3, unsigned: { age_ts: 1000000 },
    },
    emits: {
      auth_events: [],
      content: {},
      depth: 3,
      hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
      origin: 'domain',
      origin_server_ts: 1000000,
      prev_events: [],
      room_id: '!x:domain',
      sender: '@a:domain',
      signatures: {
        domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' },
      },
      type: 'X',
      unsigned: { age_ts: 1000000 },
    },
  },
  {
    name: 'the event containing redactable content',
    given: {
      content: { body: 'Here is the message content' }, event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000,
      type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
    },
    emits: {
      content: { body: 'Here is the message content' },
      event_id: '$0:domain',
      hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
      origin: 'domain',
      origin_server_ts: 1000000,
      type: 'm.room.message',
      room_id: '!r:domain',
      sender: '@u:domain',
      signatures: {
        domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' },
      },
      unsigned: { age_ts: 1000000 },
    },
  },
];

describe.each(BACKENDS)('event signing (%s backend)', (_name, create) => {
  let backend: Ed25519Backend;
  let publicKey: string;
  beforeAll(async () => {
    const created = await create();
    if (!created) throw new Error('backend unavailable');
    backend = created;
    publicKey = encodeVerifyKey(specKey(), backend);
  });

  // The vectors use the room version 1 redaction rules (they keep the top-level `origin`).
  it.each(VECTORS)('reproduces the spec Event Signing vector for $name', ({ given, emits }) => {
    const before = structuredClone(given);
    const signed = signEvent(given, { serverName: SERVER_NAME, key: specKey(), backend, redactionRules: REDACTION_V1 });
    expect(signed).toEqual(emits);
    expect(given).toEqual(before);
    expect(
      verifyEventSignature(signed, { serverName: SERVER_NAME, keyId: 'ed25519:1', publicKey, backend, redactionRules: REDACTION_V1 }),
    ).toEqual({ ok: true, value: undefined });
    expect(checkContentHash(signed)).toBe('match');
  });

  it.each(VECTORS)('verifies the spec vector for $name as given (lenient mode)', ({ emits }) => {
    expect(
      verifyEventSignature(emits, { serverName: SERVER_NAME, keyId: 'ed25519:1', publicKey, backend, redactionRules: REDACTION_V1, mode: 'lenient' }),
    ).toEqual({ ok: true, value: undefined });
    expect(checkContentHash(emits, { mode: 'lenient' })).toBe('match');
  });

  it('keeps existing signatures of other servers', () => {
    const signed = signEvent(
      { ...VECTORS[0]!.given, signatures: { other: { 'ed25519:a': 'sig' } } },
      { serverName: SERVER_NAME, key: specKey(), backend, redactionRules: REDACTION_V1 },
    );
    expect(signed.signatures).toEqual({ other: { 'ed25519:a': 'sig' }, ...(VECTORS[0]!.emits['signatures'] as JsonObject) });
  });

  it('refuses a tampered essential field with invalid_signature', () => {
    const signed = signEvent(VECTORS[1]!.given, { serverName: SERVER_NAME, key: specKey(), backend, redactionRules: REDACTION_V1 });
    const result = verifyEventSignature(
      { ...signed, sender: '@v:domain' },
      { serverName: SERVER_NAME, keyId: 'ed25519:1', publicKey, backend, redactionRules: REDACTION_V1 },
    );
    expect(result.ok ? undefined : result.error.code).toBe('invalid_signature');
  });

  it('reports missing_signature for an unknown key ID', () => {
    const signed = signEvent(VECTORS[1]!.given, { serverName: SERVER_NAME, key: specKey(), backend, redactionRules: REDACTION_V1 });
    const result = verifyEventSignature(signed, { serverName: SERVER_NAME, keyId: 'ed25519:2', publicKey, backend, redactionRules: REDACTION_V1 });
    expect(result.ok ? undefined : result.error.code).toBe('missing_signature');
  });

  it('property: a redacted copy still verifies with the original signature, and its content hash mismatches', () => {
    const key = specKey();
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { minKeys: 1 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom(REDACTION_V1, REDACTION_V11),
        (content, depth, redactionRules) => {
          const event: JsonObject = {
            type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', origin_server_ts: 1000000,
            content, depth, prev_events: [], auth_events: [], unsigned: { age_ts: 5 },
          };
          const signed = signEvent(event, { serverName: SERVER_NAME, key, backend, redactionRules });
          const options = { serverName: SERVER_NAME, keyId: 'ed25519:1', publicKey, backend, redactionRules };
          expect(verifyEventSignature(signed, options).ok).toBe(true);
          const redacted = redactEvent(signed, redactionRules);
          expect(verifyEventSignature(redacted, options).ok).toBe(true);
          expect(checkContentHash(signed)).toBe('match');
          expect(checkContentHash(redacted)).toBe('mismatch');
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('checkContentHash', () => {
  const event = VECTORS[0]!.emits;

  it.each<[string, JsonObject]>([
    ['no hashes', { ...event, hashes: undefined as never }],
    ['a non-string sha256', { ...event, hashes: { sha256: 5 } }],
    ['a sha256 that is not Base64', { ...event, hashes: { sha256: '!!!' } }],
    ['a different hash', { ...event, hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' } }],
  ])('answers mismatch (use the redacted copy) for %s', (_case, given) => {
    const pdu = { ...given };
    if (pdu['hashes'] === undefined) delete pdu['hashes'];
    expect(checkContentHash(pdu)).toBe('mismatch');
  });

  it('answers not_canonical for a float in strict mode', () => {
    expect(checkContentHash({ ...event, depth: 1.5 })).toBe('not_canonical');
  });

  it('ignores unsigned and signatures', () => {
    expect(checkContentHash({ ...event, unsigned: { age_ts: 1 }, signatures: {} })).toBe('match');
  });
});
