import fc from 'fast-check';
import type { Result } from '@axon/matrix-errors';
import { splitParsedIdentifier } from './common-identifier';
import { parseDeviceId } from './device-id';
import { EVENT_ID_FORMATS, getEventIdFormats, parseEventId, parseEventIdOfFormat, type EventId } from './event-id';
import { parseKeyId, parseServerKeyId } from './key-id';
import { isNamespacedIdentifier, isOpaqueIdentifier } from './opaque-identifier';
import { parseRoomAlias } from './room-alias';
import { deriveRoomIdFromCreateEventId, getRoomIdFormat, parseRoomId } from './room-id';
import { isIpv4Address, isIpv6Address, parseServerName, splitServerName, type ServerName } from './server-name';
import { composeUserId, getUserIdGrammar, parseHistoricalUserId, parseUserId } from './user-id';
import { MAX_IDENTIFIER_BYTES } from './unicode';

// Fuzz-style properties: every parser returns a Result and never throws, whatever it is
// given, and whatever it accepts meets the invariants its documentation promises.

const NUM_RUNS = 1000;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

const utf8Length = (text: string): number => ENCODER.encode(text).length;
/** True when `text` has no lone surrogate: UTF-8 round trip is lossless only then. */
const isWellFormed = (text: string): boolean => DECODER.decode(ENCODER.encode(text)) === text;

/** Runs `parse` and checks the Result shape; returns it so the caller can check more. */
function expectResult<T>(parse: () => Result<T>): Result<T> {
  let result: Result<T> | undefined;
  expect(() => {
    result = parse();
  }).not.toThrow();
  expect(result).toBeDefined();
  expect(typeof result!.ok).toBe('boolean');
  if (result!.ok) expect(result).toHaveProperty('value');
  else expect(typeof result!.error).toBe('string');
  return result!;
}

// --- input arbitraries -------------------------------------------------------------

const HASH_A = 'a'.repeat(42) + 'A'; // 43 characters, canonical last character
const HASH_URL_SAFE = 'abc-_DEF0123456789' + 'x'.repeat(24) + 'Q';
const HASH_STANDARD = 'abc+/DEF0123456789' + 'x'.repeat(24) + 'w';

/** Valid identifiers of every kind, seeds for mutation. */
const VALID_SEEDS = [
  'example.org',
  'example.org:8448',
  '1.2.3.4',
  '1.2.3.4:443',
  '[::1]',
  '[2001:db8::1]:8448',
  '[::ffff:192.168.0.1]',
  '[1:2:3:4:5:6:7:8]',
  '@alice:example.org',
  '@a.b_c=d-e/f+0:matrix.org:8448',
  '@Alice:example.org',
  '@:example.org',
  '@ünï😀:example.org',
  '@' + 'a'.repeat(241) + ':example.org', // 254 bytes
  '!abc:[::1]:8448',
  '!abc:1.2.3.4',
  '!' + HASH_URL_SAFE,
  '!' + HASH_A,
  '$abc:example.org',
  '$' + HASH_A,
  '$' + HASH_URL_SAFE,
  '$' + HASH_STANDARD,
  '#room:example.com:1234',
  '#' + 'é'.repeat(120) + ':example.org', // 254 bytes
  'ABCDEFGHIJ',
  'ed25519:abc_123',
  'ed25519:DEVICEID',
  'signed_curve25519:AAAAAQ',
  'm.room.message',
  'com.example.custom-type_1',
];

/** One character that is likely to matter to a parser, or any UTF-16 code unit. */
const interestingChar = fc.oneof(
  fc.constantFrom(':', '[', ']', '.', '@', '!', '$', '#', '+', '/', '-', '_', '=', '~', ' ', '\u0000', '\ud800', '\udc00', '😀', 'é', '0', 'A', 'z'),
  fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
);

type Mutation = { kind: 'insert' | 'replace' | 'delete'; at: number; char: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert' as const, 'replace' as const, 'delete' as const),
  at: fc.nat(),
  char: interestingChar,
});

function applyMutation(text: string, { kind, at, char }: Mutation): string {
  const i = text.length === 0 ? 0 : at % (text.length + (kind === 'insert' ? 1 : 0));
  if (kind === 'insert') return text.slice(0, i) + char + text.slice(i);
  if (kind === 'replace') return text.slice(0, i) + char + text.slice(i + 1);
  return text.slice(0, i) + text.slice(i + 1);
}

/** A valid identifier with one to three single-character edits. */
const mutatedValid = fc
  .tuple(fc.constantFrom(...VALID_SEEDS), fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([seed, mutations]) => mutations.reduce(applyMutation, seed));

/** `$` or `!` and 43 base64 characters of either alphabet: reference-hash shaped. */
const hashShaped = fc
  .tuple(
    fc.constantFrom('$', '!'),
    fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split(''), '+', '/', '-', '_'), minLength: 42, maxLength: 42 }),
    fc.constantFrom(...'AEIMQUYcgkosw048'.split(''), 'B', 'z', '9', '_'),
    fc.array(mutation, { maxLength: 1 }),
  )
  .map(([sigil, body, last, mutations]) => mutations.reduce(applyMutation, sigil + body + last));

/** Strings of UTF-16 code units where lone surrogates are common. */
const withLoneSurrogates = fc
  .array(fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0xffff })), {
    maxLength: 40,
  })
  .map((units) => String.fromCharCode(...units));

/** Identifier-shaped text: a sigil, a localpart, maybe a colon and a server name. */
const identifierShaped = fc
  .tuple(
    fc.constantFrom('@', '!', '$', '#', ''),
    fc.oneof(fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '_', '=', '-', '/', '+', ':') }), fc.string({ unit: 'grapheme' })),
    fc.constantFrom(':', ''),
    fc.oneof(fc.constantFrom(...VALID_SEEDS.slice(0, 8)), fc.domain(), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`), fc.string()),
  )
  .map((parts) => parts.join(''));

/** `@aaa…:example.org` and friends around the 255-byte limit, in 1- to 4-byte characters. */
const nearByteLimit = fc
  .tuple(fc.constantFrom('@', '!', '$', '#'), fc.constantFrom('a', 'é', '日', '😀'), fc.integer({ min: 50, max: 260 }), fc.constantFrom(':example.org', ':[::1]:8448', ''))
  .map(([sigil, char, count, domain]) => {
    const body = char.repeat(count);
    return sigil + body.slice(0, Math.max(0, MAX_IDENTIFIER_BYTES + 8 - utf8Length(sigil + domain))) + domain;
  })
  .chain((text) => fc.integer({ min: 0, max: 12 }).map((trim) => text.slice(0, Math.max(1, text.length - trim))));

/** Everything: several string kinds, long strings, mutations of valid identifiers. */
const anyInput = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }),
  withLoneSurrogates,
  fc.string({ unit: 'grapheme-ascii', minLength: 240, maxLength: 300 }),
  fc.string({ unit: 'binary', minLength: 120, maxLength: 300 }),
  nearByteLimit,
  identifierShaped,
  hashShaped,
  fc.constantFrom(...VALID_SEEDS),
  mutatedValid,
  mutatedValid,
);

// --- invariants of accepted identifiers --------------------------------------------

/** Checks a `sigil localpart : server` identifier that a parser accepted. */
function expectCommonIdentifier(value: string, input: string, sigil: string): void {
  expect(value).toBe(input);
  expect(value.startsWith(sigil)).toBe(true);
  expect(isWellFormed(value)).toBe(true);
  expect(value.includes('\u0000')).toBe(false);
  expect(utf8Length(value)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
}

function expectServerPart(value: string): void {
  const { serverName } = splitParsedIdentifier(value);
  expect(parseServerName(serverName).ok).toBe(true);
}

describe('identifier parsers never throw (fuzz)', () => {
  it('the seeds are valid, so mutations start from accepted input', () => {
    const parsers = [parseServerName, parseHistoricalUserId, parseRoomId, parseEventId, parseRoomAlias, parseKeyId, parseDeviceId];
    for (const seed of VALID_SEEDS) expect(parsers.some((parse) => parse(seed).ok)).toBe(true);
  });

  it('parseServerName: accepted names are ASCII, split cleanly and parse again', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(anyInput, fc.domain(), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`)), (input) => {
        const result = expectResult(() => parseServerName(input));
        if (!result.ok) return;
        accepted++;
        expect(result.value).toBe(input);
        expect(/^[\x21-\x7e]+$/.test(result.value)).toBe(true);
        const parts = splitServerName(result.value);
        if (parts.kind === 'dns') expect(parts.host.length).toBeLessThanOrEqual(255);
        if (parts.kind === 'ipv6') expect(isIpv6Address(parts.host)).toBe(true);
        if (parts.kind === 'ipv4') expect(isIpv4Address(parts.host)).toBe(true);
        if (parts.port !== undefined) expect(parts.port >= 1 && parts.port <= 65535).toBe(true);
        expect(parseServerName(result.value).ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseUserId: accepted IDs meet the current grammar and the byte limit', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseUserId(input));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '@');
        expectServerPart(result.value);
        expect(getUserIdGrammar(result.value)).toBe('current');
        expect(parseHistoricalUserId(result.value).ok).toBe(true);
        expect(parseUserId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseHistoricalUserId: accepted IDs meet the byte limit and have no lone surrogate or NUL', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseHistoricalUserId(input));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '@');
        expectServerPart(result.value);
        expect(splitParsedIdentifier(result.value).localpart.includes(':')).toBe(false);
        expect(parseHistoricalUserId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('composeUserId: with a parsed server name, builds only IDs that parseUserId accepts', () => {
    const serverNames = VALID_SEEDS.slice(0, 8).map((name) => {
      const parsed = parseServerName(name);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value;
    });
    const longServerName = parseServerName('a'.repeat(250) + '.org');
    if (!longServerName.ok) throw new Error(longServerName.error);
    const serverName: fc.Arbitrary<ServerName> = fc.constantFrom(...serverNames, longServerName.value);
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(anyInput, fc.string({ unit: fc.constantFrom('a', '0', '.', '_', '=', '-', '/', '+'), maxLength: 260 })), serverName, (localpart, server) => {
        const result = expectResult(() => composeUserId(localpart, server));
        if (!result.ok) return;
        accepted++;
        expect(result.value).toBe(`@${localpart}:${server}`);
        expectCommonIdentifier(result.value, `@${localpart}:${server}`, '@');
        expect(parseUserId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseRoomId: accepted IDs meet the byte limit and are a domain ID or a 43-character hash', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseRoomId(input));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '!');
        if (getRoomIdFormat(result.value) === 'hash') {
          expect(/^![A-Za-z0-9_-]{43}$/.test(result.value)).toBe(true);
        } else {
          expectServerPart(result.value);
          expect(splitParsedIdentifier(result.value).localpart).not.toBe('');
        }
        expect(parseRoomId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseEventId: accepted IDs meet the byte limit and are valid in some format', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseEventId(input));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '$');
        expect(getEventIdFormats(result.value).length).toBeGreaterThan(0);
        expect(parseEventId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it.each(EVENT_ID_FORMATS.map((format) => [format]))('parseEventIdOfFormat(%s): accepted IDs have that format', (format) => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseEventIdOfFormat(input, format));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '$');
        if (format === 'v1') expectServerPart(result.value);
        else expect(/^\$[A-Za-z0-9+/_-]{43}$/.test(result.value)).toBe(true);
        expect(getEventIdFormats(result.value)).toContain(format);
        expect(parseEventId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseRoomAlias: accepted aliases meet the byte limit and have a non-empty localpart', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseRoomAlias(input));
        if (!result.ok) return;
        accepted++;
        expectCommonIdentifier(result.value, input, '#');
        expectServerPart(result.value);
        expect(splitParsedIdentifier(result.value).localpart).not.toBe('');
        expect(parseRoomAlias(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseDeviceId: accepted IDs are non-empty, well-formed and free of NUL (no length limit)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => parseDeviceId(input));
        if (!result.ok) return;
        accepted++;
        expect(result.value).toBe(input);
        expect(result.value).not.toBe('');
        expect(isWellFormed(result.value)).toBe(true);
        expect(result.value.includes('\u0000')).toBe(false);
        expect(parseDeviceId(result.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('parseKeyId and parseServerKeyId: accepted IDs split into a printable ASCII algorithm and a well-formed identifier', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const keyId = expectResult(() => parseKeyId(input));
        const serverKeyId = expectResult(() => parseServerKeyId(input));
        if (serverKeyId.ok) {
          expect(keyId.ok).toBe(true); // every server key ID is a key ID
          expect(/^[\x21-\x39\x3b-\x7e]+:[A-Za-z0-9_]+$/.test(serverKeyId.value)).toBe(true);
          expect(parseServerKeyId(serverKeyId.value).ok).toBe(true);
        }
        if (!keyId.ok) return;
        accepted++;
        expect(keyId.value).toBe(input);
        const colon = keyId.value.indexOf(':');
        expect(/^[\x21-\x39\x3b-\x7e]+$/.test(keyId.value.slice(0, colon))).toBe(true);
        expect(keyId.value.length).toBeGreaterThan(colon + 1);
        expect(isWellFormed(keyId.value)).toBe(true);
        expect(keyId.value.includes('\u0000')).toBe(false);
        expect(parseKeyId(keyId.value).ok).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('deriveRoomIdFromCreateEventId: unchecked input gives an error or a hash room ID', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = expectResult(() => deriveRoomIdFromCreateEventId(input as EventId));
        expect(result.ok).toBe(parseEventIdOfFormat(input, 'v4').ok);
        if (!result.ok) return;
        accepted++;
        expect(result.value).toBe(`!${input.slice(1)}`);
        expect(parseRoomId(result.value).ok).toBe(true);
        expect(getRoomIdFormat(result.value)).toBe('hash');
      }),
      { numRuns: NUM_RUNS },
    );
    expect(accepted).toBeGreaterThan(0); // the invariants above were exercised
  });

  it('the boolean predicates return booleans and agree with the parsers', () => {
    const seenTrue = [false, false, false, false];
    fc.assert(
      fc.property(fc.oneof(anyInput, fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (input) => {
        let ipv4 = false;
        let ipv6 = false;
        let opaque = false;
        let namespaced = false;
        expect(() => {
          ipv4 = isIpv4Address(input);
          ipv6 = isIpv6Address(input);
          opaque = isOpaqueIdentifier(input);
          namespaced = isNamespacedIdentifier(input);
        }).not.toThrow();
        for (const answer of [ipv4, ipv6, opaque, namespaced]) expect(typeof answer).toBe('boolean');
        if (ipv4) expect(parseServerName(input).ok).toBe(true);
        if (ipv6) expect(parseServerName(`[${input}]`).ok).toBe(true);
        if (opaque) expect(input.length >= 1 && input.length <= 255 && /^[\x21-\x7e]+$/.test(input)).toBe(true);
        if (namespaced) expect(opaque).toBe(true); // a-z 0-9 . _ - is a subset of the opaque alphabet
        [ipv4, ipv6, opaque, namespaced].forEach((answer, i) => (seenTrue[i] ||= answer));
      }),
      { numRuns: 2000 },
    );
    expect(seenTrue).toEqual([true, true, true, true]); // every implication above was exercised
  });

  it('generated IPv4 and IPv6 addresses are recognised', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV6(), (ipv4, ipv6) => {
        expect(isIpv4Address(ipv4)).toBe(true);
        expect(isIpv6Address(ipv6)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
