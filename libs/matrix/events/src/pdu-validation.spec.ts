import fc from 'fast-check';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { EVENT_FORMAT_V1, EVENT_FORMAT_V11, EVENT_FORMAT_V12, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V6, type EventFormat } from './pdu';
import { MAX_PDU_BYTES, validatePdu } from './pdu-validation';

const HASH_V3 = 'CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o';
const HASH_V4 = 'Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ';
const FORMATS: readonly EventFormat[] = [EVENT_FORMAT_V1, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V6, EVENT_FORMAT_V11, EVENT_FORMAT_V12];

function validPdu(format: EventFormat): JsonObject {
  const ref = format.name === 'v1' ? ['$abc:example.org', { sha256: 'hash' }] : format.name === 'v3' ? `$${HASH_V3}` : `$${HASH_V4}`;
  return {
    ...(format.name === 'v1' ? { event_id: '$def:example.org' } : {}),
    room_id: format.roomIdFormat === 'hash' ? `!${HASH_V4}` : '!room:example.org',
    sender: '@alice:example.org',
    type: 'm.room.message',
    content: { body: 'hello' },
    depth: 3,
    origin_server_ts: 1700000000000,
    auth_events: [ref],
    prev_events: [ref],
    hashes: { sha256: 'hash' },
    signatures: { 'example.org': { 'ed25519:1': 'sig' } },
  };
}

function reason(input: JsonValue, format: EventFormat): string {
  const result = validatePdu(input, format);
  return result.ok ? 'ok' : `${result.error.field}: ${result.error.reason}`;
}

describe('validatePdu', () => {
  it.each(FORMATS.map((format) => [format.name, format] as const))('accepts a well-formed PDU of format %s', (_name, format) => {
    expect(reason(validPdu(format), format)).toBe('ok');
  });

  it.each([
    ['v1 needs event_id', EVENT_FORMAT_V1, { event_id: undefined }, /^event_id: is required/],
    ['v3 references are event IDs, not pairs', EVENT_FORMAT_V3, { prev_events: [['$abc:example.org', { sha256: 'h' }]] }, /^prev_events\[0\]/],
    ['v1 references are pairs', EVENT_FORMAT_V1, { auth_events: ['$abc:example.org'] }, /^auth_events\[0\]: must be an \[event_id, hashes\] pair/],
    ['v1 pair hashes need sha256', EVENT_FORMAT_V1, { auth_events: [['$abc:example.org', {}]] }, /^auth_events\[0\]\[1\]\.sha256/],
    ['v4 refuses v1 event IDs', EVENT_FORMAT_V4, { prev_events: ['$abc:example.org'] }, /^prev_events\[0\]/],
    ['at most 10 auth_events', EVENT_FORMAT_V11, { auth_events: Array(11).fill(`$${HASH_V4}`) }, /^auth_events: lists 11 events/],
    ['at most 20 prev_events', EVENT_FORMAT_V11, { prev_events: Array(21).fill(`$${HASH_V4}`) }, /^prev_events: lists 21 events/],
    ['sender grammar', EVENT_FORMAT_V11, { sender: 'alice' }, /^sender:/],
    ['room_id grammar', EVENT_FORMAT_V11, { room_id: 'room' }, /^room_id:/],
    ['v12 needs hash room IDs', EVENT_FORMAT_V12, { room_id: '!room:example.org' }, /^room_id: must be a hash room ID/],
    ['v11 needs domain room IDs', EVENT_FORMAT_V11, { room_id: `!${HASH_V4}` }, /^room_id: must be a domain room ID/],
    ['v12 create has no room_id', EVENT_FORMAT_V12, { type: 'm.room.create' }, /^room_id: must be absent from m.room.create/],
    ['content must be an object', EVENT_FORMAT_V11, { content: [] }, /^content: must be an object/],
    ['type is required', EVENT_FORMAT_V11, { type: undefined }, /^type: is required/],
    ['type at most 255 bytes', EVENT_FORMAT_V11, { type: 'é'.repeat(128) }, /^type: is 256 bytes/],
    ['state_key at most 255 bytes', EVENT_FORMAT_V11, { state_key: 'a'.repeat(256) }, /^state_key: is 256 bytes/],
    ['depth is an integer', EVENT_FORMAT_V11, { depth: 1.5 }, /^depth: must be an integer/],
    ['v6 depth at most 2^53 - 1', EVENT_FORMAT_V6, { depth: 2n ** 53n }, /^depth: must be at most 9007199254740991/],
    ['v4 depth at most 2^63 - 1', EVENT_FORMAT_V4, { depth: 2n ** 63n }, /^depth: must be at most 9223372036854775807/],
    ['top-level redacts is an event ID before v11', EVENT_FORMAT_V6, { redacts: 'nope' }, /^redacts:/],
    ['signatures are strings', EVENT_FORMAT_V11, { signatures: { 'example.org': { 'ed25519:1': 1 } } }, /^signatures\.example\.org\.ed25519:1/],
    ['hashes are required', EVENT_FORMAT_V11, { hashes: undefined }, /^hashes: is required/],
    ['unsigned is an object', EVENT_FORMAT_V11, { unsigned: 1 }, /^unsigned: must be an object/],
    ['v6 refuses floats in content', EVENT_FORMAT_V6, { content: { n: 1.5 } }, /^\(event\): has no canonical JSON form/],
  ] as const)('refuses: %s', (_name, format, change, expected) => {
    const pdu: JsonObject = { ...validPdu(format) };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete pdu[key];
      else pdu[key] = value as JsonValue;
    }
    expect(reason(pdu, format)).toMatch(expected);
  });

  it('accepts a top-level redacts in v11 as an ordinary extra key', () => {
    expect(reason({ ...validPdu(EVENT_FORMAT_V11), redacts: 'anything' }, EVENT_FORMAT_V11)).toBe('ok');
  });

  it('accepts an event of exactly 65,536 bytes of canonical JSON and refuses one byte more', () => {
    const base = validPdu(EVENT_FORMAT_V11);
    const size = new TextEncoder().encode(JSON.stringify({ ...base, content: { body: '' } })).length;
    const exact = { ...base, content: { body: 'a'.repeat(MAX_PDU_BYTES - size) } };
    expect(reason(exact, EVENT_FORMAT_V11)).toBe('ok');
    expect(reason({ ...base, content: { body: 'a'.repeat(MAX_PDU_BYTES - size + 1) } }, EVENT_FORMAT_V11)).toMatch(
      /^\(event\): is 65537 bytes of canonical JSON/,
    );
  });

  it.each(FORMATS.map((format) => [format.name, format] as const))('never throws on arbitrary JSON (format %s)', (_name, format) => {
    const pduLike = fc.dictionary(
      fc.constantFrom('event_id', 'room_id', 'sender', 'type', 'state_key', 'content', 'depth', 'origin_server_ts', 'auth_events', 'prev_events', 'hashes', 'signatures', 'unsigned', 'redacts'),
      fc.jsonValue() as fc.Arbitrary<JsonValue>,
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue() as fc.Arbitrary<JsonValue>, pduLike, fc.bigInt().map((n): JsonValue => n)), (input) => {
        expect(() => validatePdu(input, format)).not.toThrow();
      }),
    );
  });
});
