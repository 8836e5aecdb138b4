import fc from 'fast-check';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { REDACTION_V1, REDACTION_V9, type RedactionRules } from '@axon/matrix-events';
import type { ServerName } from '@axon/matrix-identifiers';
import type { Ed25519Backend } from './ed25519-backend';
import { signEvent } from './event-signing';
import {
  getRequiredEventSigners,
  isThirdPartyInviteMembership,
  SIGNATURES_V1,
  SIGNATURES_V3,
  SIGNATURES_V5,
  SIGNATURES_V8,
  verifyEventSignatures,
  type KnownServerKeys,
  type SignatureRules,
} from './event-signers';
import type { ServerKeys } from './key-validity';
import { encodeVerifyKey, generateSigningKey, type SigningKey } from './signing-key';
import { BACKENDS } from './testing/spec-vectors';

const message = (extra: JsonObject = {}): JsonObject => ({
  type: 'm.room.message',
  room_id: '!r:origin.example',
  sender: '@alice:origin.example',
  origin_server_ts: 1_000_000,
  depth: 5,
  auth_events: [],
  prev_events: [],
  content: { body: 'hello' },
  ...extra,
});

const member = (membership: string, content: JsonObject = {}, extra: JsonObject = {}): JsonObject =>
  message({ type: 'm.room.member', state_key: '@bob:other.example', content: { membership, ...content }, ...extra });

const thirdPartyInvite = { display_name: 'bob', signed: { mxid: '@bob:other.example', token: 'abc', signatures: {} } };

describe('getRequiredEventSigners: which servers must sign (server-server API, "Validating hashes and signatures")', () => {
  const rows: Array<[string, JsonObject, SignatureRules, string[]]> = [
    ['any event: the sender\'s server', message(), SIGNATURES_V3, ['origin.example']],
    ['v1/v2: the event ID\'s server too, when it differs', message({ event_id: '$abc:eventid.example' }), SIGNATURES_V1, ['origin.example', 'eventid.example']],
    ['v1/v2: no duplicate when the event ID is the sender\'s', message({ event_id: '$abc:origin.example' }), SIGNATURES_V1, ['origin.example']],
    ['v3+: the event ID is not consulted', message({ event_id: '$abc:eventid.example' }), SIGNATURES_V3, ['origin.example']],
    ['an invite from a third-party invite: not the sender\'s server', member('invite', { third_party_invite: thirdPartyInvite }), SIGNATURES_V8, []],
    ['v1/v2 third-party invite: still the event ID\'s server', member('invite', { third_party_invite: thirdPartyInvite }, { event_id: '$x:eventid.example' }), SIGNATURES_V1, ['eventid.example']],
    ['a plain invite: the sender\'s server', member('invite'), SIGNATURES_V8, ['origin.example']],
    ['v8+: a restricted join, and the authorising server', member('join', { join_authorised_via_users_server: '@carol:resident.example' }), SIGNATURES_V8, ['origin.example', 'resident.example']],
    ['before v8: join_authorised_via_users_server means nothing', member('join', { join_authorised_via_users_server: '@carol:resident.example' }), SIGNATURES_V5, ['origin.example']],
    ['v8+: only joins are authorised', member('leave', { join_authorised_via_users_server: '@carol:resident.example' }), SIGNATURES_V8, ['origin.example']],
    [
      'the spec\'s pdu_v4_join_membership example: the sender\'s and the resident server',
      { ...message({ sender: '@alice:example.com' }), ...member('join', { join_authorised_via_users_server: '@arbitrary:resident.example.com' }, { sender: '@alice:example.com', state_key: '@alice:example.com' }) },
      SIGNATURES_V8,
      ['example.com', 'resident.example.com'],
    ],
    ['a historical user ID still names its server', message({ sender: '@Alice:origin.example' }), SIGNATURES_V3, ['origin.example']],
  ];
  it.each(rows)('%s', (_name, pdu, rules, expected) => {
    expect(getRequiredEventSigners(pdu, rules)).toEqual({ ok: true, value: expected });
  });

  const refused: Array<[string, JsonObject, SignatureRules, RegExp]> = [
    ['sender missing', { type: 'm.room.message', content: {} }, SIGNATURES_V3, /sender is missing/],
    ['sender not a user ID', message({ sender: 'alice' }), SIGNATURES_V3, /sender is not a user ID/],
    ['v1/v2 without event_id', message(), SIGNATURES_V1, /event_id/],
    ['v1/v2 with a hash event ID', message({ event_id: '$' + 'A'.repeat(43) }), SIGNATURES_V1, /event_id/],
    ['v8 authoriser not a user ID', member('join', { join_authorised_via_users_server: 'resident.example' }), SIGNATURES_V8, /join_authorised_via_users_server is not a user ID/],
    ['v8 authoriser not a string', member('join', { join_authorised_via_users_server: 7 }), SIGNATURES_V8, /join_authorised_via_users_server is missing or not a string/],
  ];
  it.each(refused)('refuses: %s', (_name, pdu, rules, reason) => {
    const result = getRequiredEventSigners(pdu, rules);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(reason);
  });

  it('recognises third-party-invite memberships only for invites with the key', () => {
    expect(isThirdPartyInviteMembership(member('invite', { third_party_invite: thirdPartyInvite }))).toBe(true);
    expect(isThirdPartyInviteMembership(member('join', { third_party_invite: thirdPartyInvite }))).toBe(false);
    expect(isThirdPartyInviteMembership(message({ content: { membership: 'invite', third_party_invite: {} } }))).toBe(false);
  });

  it('never throws on arbitrary objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('type', 'sender', 'event_id', 'content', 'x'), fc.jsonValue()), (pdu) => {
        for (const rules of [SIGNATURES_V1, SIGNATURES_V3, SIGNATURES_V8]) {
          expect(typeof getRequiredEventSigners(pdu as JsonObject, rules).ok).toBe('boolean');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe.each(BACKENDS)('verifyEventSignatures (%s backend)', (_name, create) => {
  let backend: Ed25519Backend;
  const keys = new Map<string, SigningKey>();
  const published = new Map<string, KnownServerKeys>();

  beforeAll(async () => {
    const created = await create();
    if (created === undefined) throw new Error('backend unavailable');
    backend = created;
    for (const server of ['origin.example', 'eventid.example', 'resident.example']) {
      const key = generateSigningKey(backend, 'k1');
      if (!key.ok) throw new Error(key.error);
      keys.set(server, key.value);
      published.set(server, { keys: { valid_until_ts: 2_000_000, verify_keys: { 'ed25519:k1': { key: encodeVerifyKey(key.value, backend) } } } });
    }
  });

  const sign = (pdu: JsonObject, servers: string[], redactionRules: RedactionRules = REDACTION_V9): JsonObject => {
    let signed = pdu;
    for (const serverName of servers) {
      const key = keys.get(serverName);
      if (key === undefined) throw new Error(serverName);
      signed = signEvent(signed, { serverName, key, backend, redactionRules, mode: 'strict' });
    }
    return signed;
  };

  const verify = (
    pdu: JsonObject,
    signatureRules: SignatureRules = SIGNATURES_V8,
    keysFor: (server: ServerName) => KnownServerKeys | undefined = (server) => published.get(server),
    redactionRules: RedactionRules = REDACTION_V9,
  ) => verifyEventSignatures(pdu, { signatureRules, redactionRules, mode: 'strict', backend, keysFor });

  it('accepts an event signed by its sender\'s server and names the servers checked', () => {
    expect(verify(sign(message(), ['origin.example']))).toEqual({ ok: true, value: ['origin.example'] });
  });

  it('accepts a redacted copy of a signed event', () => {
    const signed = sign(message(), ['origin.example']);
    const { content: _content, ...rest } = signed;
    expect(verify({ ...rest, content: {} }).ok).toBe(true);
  });

  it('refuses an event without a signature by the sender\'s server', () => {
    expect(verify(sign(message(), ['resident.example']))).toMatchObject({ ok: false, error: { code: 'unsigned', serverName: 'origin.example' } });
  });

  it('refuses a signature that does not verify after a change to a signed field', () => {
    const signed = sign(message(), ['origin.example']);
    expect(verify({ ...signed, depth: 6 })).toMatchObject({ ok: false, error: { code: 'invalid_signature', serverName: 'origin.example' } });
  });

  it('v1/v2: requires the event ID\'s server as well, and accepts when both signed', () => {
    const pdu = message({ event_id: '$abc:eventid.example' });
    expect(verify(sign(pdu, ['origin.example'], REDACTION_V1), SIGNATURES_V1, undefined, REDACTION_V1)).toMatchObject({
      ok: false,
      error: { code: 'unsigned', serverName: 'eventid.example' },
    });
    expect(verify(sign(pdu, ['origin.example', 'eventid.example'], REDACTION_V1), SIGNATURES_V1, undefined, REDACTION_V1)).toEqual({
      ok: true,
      value: ['origin.example', 'eventid.example'],
    });
  });

  it('v8: a restricted join needs the authorising server\'s signature', () => {
    const join = member('join', { join_authorised_via_users_server: '@carol:resident.example' }, { sender: '@bob:origin.example', state_key: '@bob:origin.example' });
    expect(verify(sign(join, ['origin.example']))).toMatchObject({ ok: false, error: { code: 'unsigned', serverName: 'resident.example' } });
    expect(verify(sign(join, ['origin.example']), SIGNATURES_V5).ok).toBe(true);
    expect(verify(sign(join, ['origin.example', 'resident.example']))).toEqual({ ok: true, value: ['origin.example', 'resident.example'] });
  });

  it('a third-party invite may come signed by another server only', () => {
    const invite = member('invite', { third_party_invite: thirdPartyInvite });
    expect(verify(sign(invite, ['resident.example']))).toEqual({ ok: true, value: [] });
  });

  it('skips signatures by unknown keys and other algorithms, but needs one it can check', () => {
    const signed = sign(message(), ['origin.example']);
    const signatures = signed['signatures'] as Record<string, Record<string, string>>;
    const withExtras = {
      ...signed,
      signatures: { 'origin.example': { ...signatures['origin.example'], 'ed25519:unknown': 'garbage', 'curve25519:k1': 'x' } },
    };
    expect(verify(withExtras).ok).toBe(true);
    const onlyUnknown = { ...signed, signatures: { 'origin.example': { 'ed25519:unknown': 'garbage' } } };
    expect(verify(onlyUnknown)).toMatchObject({ ok: false, error: { code: 'unsigned' } });
    expect(verify(signed, SIGNATURES_V8, () => undefined)).toMatchObject({ ok: false, error: { code: 'unsigned' } });
  });

  it('from room version 5, skips keys whose validity ended before origin_server_ts; before v5 ignores validity', () => {
    const signed = sign(message({ origin_server_ts: 3_000_000 }), ['origin.example']);
    expect(verify(signed, SIGNATURES_V5)).toMatchObject({ ok: false, error: { code: 'unsigned' } });
    expect(verify(signed, SIGNATURES_V3).ok).toBe(true);
  });

  it('applies the 7-day cap to valid_until_ts from when the keys were fetched', () => {
    const signed = sign(message({ origin_server_ts: 1_500_000 }), ['origin.example']);
    const known = published.get('origin.example');
    if (known === undefined) throw new Error('keys');
    const fetchedLongAgo = { keys: known.keys, fetchedTs: 1_500_000 - 8 * 24 * 3600 * 1000 };
    expect(verify(signed, SIGNATURES_V5, () => fetchedLongAgo)).toMatchObject({ ok: false, error: { code: 'unsigned' } });
    expect(verify(signed, SIGNATURES_V5, () => ({ keys: known.keys, fetchedTs: 1_400_000 })).ok).toBe(true);
  });

  it('accepts an old key for events sent before it expired', () => {
    const signed = sign(message(), ['origin.example']);
    const current = published.get('origin.example');
    if (current === undefined) throw new Error('keys');
    const rotated: ServerKeys = {
      valid_until_ts: 5_000_000,
      verify_keys: { 'ed25519:k2': { key: 'A'.repeat(43) } },
      old_verify_keys: { 'ed25519:k1': { key: current.keys.verify_keys['ed25519:k1']?.key ?? '', expired_ts: 1_200_000 } },
    };
    expect(verify(signed, SIGNATURES_V5, () => ({ keys: rotated })).ok).toBe(true);
    const later = sign(message({ origin_server_ts: 1_300_000 }), ['origin.example']);
    expect(verify(later, SIGNATURES_V5, () => ({ keys: rotated }))).toMatchObject({ ok: false, error: { code: 'unsigned' } });
  });

  it('refuses malformed events with a reason instead of throwing', () => {
    const signed = sign(message(), ['origin.example']);
    expect(verify({ ...signed, signatures: 'x' })).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect(verify({ ...signed, signatures: { 'origin.example': 'x' } })).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect(verify({ ...signed, origin_server_ts: 'now' })).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect(verify({ ...signed, sender: 'nobody' })).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect(verify({ ...signed, depth: 1.5 })).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect(verify({ ...signed, signatures: { 'origin.example': { 'ed25519:k1': 42 } } })).toMatchObject({ ok: false, error: { code: 'invalid_signature' } });
  });

  it('never throws on arbitrary signatures and fields', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('type', 'sender', 'signatures', 'origin_server_ts', 'content', 'depth'), fc.jsonValue()), (changes) => {
        const result = verify({ ...sign(message(), ['origin.example']), ...(changes as JsonObject) });
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
