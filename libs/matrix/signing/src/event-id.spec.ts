import { createHash } from 'node:crypto';
import { CanonicalJsonError, type JsonObject } from '@axon/matrix-canonical-json';
import { EVENT_FORMAT_V1, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V11, REDACTION_V1, REDACTION_V11 } from '@axon/matrix-events';
import { parseEventIdOfFormat } from '@axon/matrix-identifiers';
import { computeEventId, eventIdFromReferenceHash, generateV1EventId } from './event-id';
import { computeReferenceHash } from './reference-hash';

// The signed minimal event of https://spec.matrix.org/v1.19/appendices/#event-signing
const SIGNED_MINIMAL: JsonObject = {
  auth_events: [],
  content: {},
  depth: 3,
  hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
  origin: 'domain',
  origin_server_ts: 1000000,
  prev_events: [],
  room_id: '!x:domain',
  sender: '@a:domain',
  signatures: { domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' } },
  type: 'X',
  unsigned: { age_ts: 1000000 },
};

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text, 'utf8').digest());
}

describe('computeReferenceHash', () => {
  it('hashes the redacted event without signatures and unsigned (hand-written canonical JSON)', () => {
    const withContent = { ...SIGNED_MINIMAL, content: { body: 'gone' }, extra: 'gone too' };
    const expected =
      '{"auth_events":[],"content":{},"depth":3,"hashes":{"sha256":"5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},' +
      '"origin":"domain","origin_server_ts":1000000,"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}';
    expect(computeReferenceHash(withContent, REDACTION_V1)).toEqual(sha256(expected));
  });

  it('follows the room version redaction rules (v11 drops origin)', () => {
    const expected =
      '{"auth_events":[],"content":{},"depth":3,"hashes":{"sha256":"5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},' +
      '"origin_server_ts":1000000,"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}';
    expect(computeReferenceHash(SIGNED_MINIMAL, REDACTION_V11)).toEqual(sha256(expected));
  });

  it('keeps event_id for pdu_v1 events (v1 redaction rules keep it)', () => {
    const withId = computeReferenceHash({ ...SIGNED_MINIMAL, event_id: '$a:domain' }, REDACTION_V1);
    expect(withId).not.toEqual(computeReferenceHash(SIGNED_MINIMAL, REDACTION_V1));
  });

  it('is unchanged by signatures, unsigned and redactable content', () => {
    const base = computeReferenceHash(SIGNED_MINIMAL, REDACTION_V11);
    expect(computeReferenceHash({ ...SIGNED_MINIMAL, signatures: {}, unsigned: { x: 1 }, content: { a: 1 } }, REDACTION_V11)).toEqual(base);
  });

  it('throws CanonicalJsonError for a float in strict mode and accepts it in lenient mode', () => {
    expect(() => computeReferenceHash({ ...SIGNED_MINIMAL, depth: 1.5 }, REDACTION_V1)).toThrow(CanonicalJsonError);
    expect(computeReferenceHash({ ...SIGNED_MINIMAL, depth: 1.5 }, REDACTION_V1, 'lenient')).toHaveLength(32);
  });
});

describe('event IDs', () => {
  // Find (deterministically) an event whose reference hash has both alphabets' special characters.
  function eventWithSpecialCharacters(): { event: JsonObject; hash: Uint8Array } {
    for (let depth = 1; depth < 10_000; depth++) {
      const event = { ...SIGNED_MINIMAL, depth };
      const hash = computeReferenceHash(event, REDACTION_V1, 'lenient');
      const standard = Buffer.from(hash).toString('base64');
      if (standard.includes('+') && standard.includes('/')) return { event, hash };
    }
    throw new Error('no such event');
  }

  it('v3 uses standard Base64 and v4 URL-safe Base64 of the same reference hash', () => {
    const { event, hash } = eventWithSpecialCharacters();
    const v3 = computeEventId(event, EVENT_FORMAT_V3, REDACTION_V1);
    const v4 = computeEventId(event, EVENT_FORMAT_V4, REDACTION_V1);
    const standard = Buffer.from(hash).toString('base64').replace(/=+$/, '');
    expect(v3).toBe(`$${standard}`);
    expect(v4).toBe(`$${standard.replace(/\+/g, '-').replace(/\//g, '_')}`);
    expect(v3).not.toBe(v4);
    expect(v3).toMatch(/^\$[A-Za-z0-9+/]{43}$/);
    expect(v4).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(parseEventIdOfFormat(v3, 'v3').ok).toBe(true);
    expect(parseEventIdOfFormat(v4, 'v4').ok).toBe(true);
    expect(eventIdFromReferenceHash(hash, EVENT_FORMAT_V3)).toBe(v3);
  });

  it('uses strict canonical JSON from room version 6 formats on', () => {
    expect(() => computeEventId({ ...SIGNED_MINIMAL, depth: 1.5 }, EVENT_FORMAT_V11, REDACTION_V11)).toThrow(CanonicalJsonError);
    expect(computeEventId(SIGNED_MINIMAL, EVENT_FORMAT_V11, REDACTION_V11)).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
  });

  it('refuses to hash an event ID for format v1', () => {
    expect(() => computeEventId(SIGNED_MINIMAL, EVENT_FORMAT_V1, REDACTION_V1)).toThrow(RangeError);
    expect(() => eventIdFromReferenceHash(new Uint8Array(32), EVENT_FORMAT_V1)).toThrow(RangeError);
  });

  it('generates random $opaque:server IDs for format v1', () => {
    const first = generateV1EventId('example.org');
    const second = generateV1EventId('example.org');
    expect(first).toMatch(/^\$[A-Za-z0-9_-]{24}:example\.org$/);
    expect(first).not.toBe(second);
    expect(parseEventIdOfFormat(first, 'v1').ok).toBe(true);
  });
});
