import fc from 'fast-check';
import { encodeCanonicalJsonBytes, parseCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { EVENT_FORMAT_V1, EVENT_FORMAT_V11, EVENT_FORMAT_V12, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V6, type EventFormat } from './pdu';
import { MAX_AUTH_EVENTS, MAX_EVENT_FIELD_BYTES, MAX_PDU_BYTES, MAX_PREV_EVENTS, validatePdu } from './pdu-validation';

// Fuzz-style properties of the PDU validator, the first check on everything a remote
// server sends: well-formed PDUs with hostile values put in at random places (NUL,
// unpaired surrogates, numbers beyond every range, deep nesting, long strings, wrong
// types, missing fields). It never throws, and whatever it accepts keeps every limit the
// spec sets and survives canonical JSON: encoded, parsed back, it is accepted again.

const HASH_V3 = 'CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o';
const HASH_V4 = 'Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ';
const FORMATS: readonly EventFormat[] = [EVENT_FORMAT_V1, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V6, EVENT_FORMAT_V11, EVENT_FORMAT_V12];
const FIELDS = ['event_id', 'room_id', 'sender', 'type', 'state_key', 'content', 'depth', 'origin_server_ts', 'auth_events', 'prev_events', 'hashes', 'signatures', 'unsigned', 'redacts'];

function validPdu(format: EventFormat, stateKey: boolean): JsonObject {
  const ref = format.name === 'v1' ? ['$abc:example.org', { sha256: 'hash' }] : format.name === 'v3' ? `$${HASH_V3}` : `$${HASH_V4}`;
  return {
    ...(format.name === 'v1' ? { event_id: '$def:example.org' } : {}),
    room_id: format.roomIdFormat === 'hash' ? `!${HASH_V4}` : '!room:example.org',
    sender: '@alice:example.org',
    type: stateKey ? 'm.room.topic' : 'm.room.message',
    ...(stateKey ? { state_key: '' } : {}),
    content: { body: 'hello', n: 1 },
    depth: 3,
    origin_server_ts: 1700000000000,
    auth_events: [ref],
    prev_events: [ref, ref],
    hashes: { sha256: 'hash' },
    signatures: { 'example.org': { 'ed25519:1': 'sig' } },
    unsigned: { age: 1 },
  };
}

const nested = (depth: number, arrays: boolean): JsonValue => {
  let value: JsonValue = arrays ? [] : {};
  for (let i = 1; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
};

const hostileString = fc.constantFrom(
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\u202e',
  '😀'.repeat(64),
  'é'.repeat(128),
  'a'.repeat(255),
  'a'.repeat(256),
  'b'.repeat(70_000),
  '@a:b',
  '@:',
  '!x:y',
  '$',
  `$${HASH_V4}`,
  `$${HASH_V3}`,
  '$abc:example.org',
);

const hostileValue: fc.Arbitrary<JsonValue> = fc.oneof(
  hostileString,
  fc.constantFrom<JsonValue>(-1, -0, 0.5, 2 ** 53, -(2 ** 53), 2 ** 63, 1e308, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2n ** 53n, 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n),
  fc.constantFrom<JsonValue>(null, true, [], {}, [[]], { sha256: 1 }),
  fc.constantFrom(20, 100, 127, 128, 129, 1000, 5000).chain((depth) => fc.boolean().map((arrays) => nested(depth, arrays))),
  fc.integer({ min: 0, max: 30 }).map((n): JsonValue => Array.from({ length: n }, () => `$${HASH_V4}`)),
  fc.jsonValue() as fc.Arbitrary<JsonValue>,
);

/** Where to change a PDU: a top-level field, or one step into it (an element, a key). */
type Edit = { field: string; inner: string | number | undefined; value: JsonValue | undefined };

const edit: fc.Arbitrary<Edit> = fc.record({
  field: fc.constantFrom(...FIELDS, 'extra', '__proto__'),
  inner: fc.option(fc.oneof(fc.nat({ max: 3 }), fc.constantFrom('sha256', 'body', 'example.org', 'ed25519:1', '\u0000', '__proto__')), { nil: undefined }),
  value: fc.option(hostileValue, { nil: undefined, freq: 6 }),
});

function applyEdit(pdu: JsonObject, { field, inner, value }: Edit): void {
  const current = Object.prototype.hasOwnProperty.call(pdu, field) ? pdu[field] : undefined;
  if (inner !== undefined && current !== null && typeof current === 'object' && !Array.isArray(current) === (typeof inner === 'string')) {
    const container = current as Record<string | number, JsonValue>;
    if (value === undefined) delete container[inner];
    else Object.defineProperty(container, inner, { value, enumerable: true, writable: true, configurable: true });
    return;
  }
  if (value === undefined) delete pdu[field];
  else Object.defineProperty(pdu, field, { value, enumerable: true, writable: true, configurable: true });
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The limits the spec sets on an accepted PDU, checked independently of the validator. */
function expectWithinLimits(pdu: JsonObject, format: EventFormat): void {
  const mode = format.strictCanonicalJson ? 'strict' : 'lenient';
  const bytes = encodeCanonicalJsonBytes(pdu, { mode });
  expect(bytes.length).toBeLessThanOrEqual(MAX_PDU_BYTES);
  expect(typeof pdu['type']).toBe('string');
  expect(utf8Bytes(pdu['type'] as string)).toBeLessThanOrEqual(MAX_EVENT_FIELD_BYTES);
  if (pdu['state_key'] !== undefined) expect(utf8Bytes(pdu['state_key'] as string)).toBeLessThanOrEqual(MAX_EVENT_FIELD_BYTES);
  for (const key of ['sender', 'room_id'] as const) if (pdu[key] !== undefined) expect(utf8Bytes(pdu[key] as string)).toBeLessThanOrEqual(255);
  expect((pdu['auth_events'] as JsonValue[]).length).toBeLessThanOrEqual(MAX_AUTH_EVENTS);
  expect((pdu['prev_events'] as JsonValue[]).length).toBeLessThanOrEqual(MAX_PREV_EVENTS);
  for (const key of ['depth', 'origin_server_ts'] as const) {
    const n = pdu[key];
    expect(typeof n === 'bigint' || Number.isSafeInteger(n)).toBe(true);
  }
  // Sent on to another server as canonical JSON and parsed there, it is the same PDU.
  const reparsed = parseCanonicalJson(new TextDecoder().decode(bytes), { mode, maxDepth: 1000 });
  expect(reparsed.ok).toBe(true);
  if (reparsed.ok) {
    expect(validatePdu(reparsed.value, format).ok).toBe(true);
    expect(Buffer.from(encodeCanonicalJsonBytes(reparsed.value, { mode })).equals(Buffer.from(bytes))).toBe(true);
  }
}

describe('validatePdu on hostile variations of a valid PDU', () => {
  it.each(FORMATS.map((format) => [format.name, format] as const))('never throws, and what it accepts keeps the limits and round-trips (format %s)', (_name, format) => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 3 }), (stateKey, edits) => {
        const pdu = validPdu(format, stateKey);
        for (const e of edits) applyEdit(pdu, e);
        let result: ReturnType<typeof validatePdu> | undefined;
        expect(() => {
          result = validatePdu(pdu, format);
        }).not.toThrow();
        if (result?.ok) {
          accepted++;
          expectWithinLimits(result.value as unknown as JsonObject, format);
        } else {
          refused++;
          expect(typeof result?.error.field).toBe('string');
          expect(typeof result?.error.reason).toBe('string');
        }
      }),
      { numRuns: 1500 },
    );
    // Both outcomes were exercised: the variations are neither all fatal nor all harmless.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it.each(FORMATS.map((format) => [format.name, format] as const))('refuses a PDU missing any required field (format %s)', (_name, format) => {
    const required = ['room_id', 'sender', 'type', 'content', 'depth', 'origin_server_ts', 'auth_events', 'prev_events', 'hashes', 'signatures', ...(format.includesEventId ? ['event_id'] : [])];
    for (const field of required) {
      const pdu = validPdu(format, false);
      delete pdu[field];
      expect([field, validatePdu(pdu, format).ok]).toEqual([field, false]);
    }
  });
});
