import fc from 'fast-check';
import type { Result } from '@axon/matrix-errors';
import { decodeBase64, decodeUrlSafeBase64, encodeUnpaddedBase64, encodeUrlSafeUnpaddedBase64, type Base64Error } from './base64';
import { CanonicalJsonError, encodeCanonicalJson, type CanonicalJsonMode, type JsonValue } from './canonical-json';
import { MAX_PARSE_DEPTH, parseCanonicalJson, parseCanonicalJsonBytes } from './canonical-json-parser';

// Fuzz-style properties: the parsers and decoders of untrusted input return a Result and
// never throw, and whatever they accept is canonicalisable and round-trips.

const MODES: readonly CanonicalJsonMode[] = ['strict', 'lenient'];
const ENCODER = new TextEncoder();
const FATAL_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Runs `parse` and checks the Result shape; returns it so the caller can check more. */
function expectResult<T, E>(parse: () => Result<T, E>): Result<T, E> {
  let result: Result<T, E> | undefined;
  expect(() => {
    result = parse();
  }).not.toThrow();
  expect(result).toBeDefined();
  expect(typeof result!.ok).toBe('boolean');
  if (result!.ok) expect(result).toHaveProperty('value');
  else expect(result!.error).toBeDefined();
  return result!;
}

function expectJsonResult(parse: () => Result<JsonValue, CanonicalJsonError>): Result<JsonValue, CanonicalJsonError> {
  const result = expectResult(parse);
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(CanonicalJsonError);
    expect(typeof result.error.code).toBe('string');
  }
  return result;
}

/**
 * What every accepted value must satisfy: it encodes in the same mode, the encoding parses,
 * and encodes to itself. Returns whether the input was accepted.
 */
function checkAccepted(
  result: Result<JsonValue, CanonicalJsonError>,
  mode: CanonicalJsonMode,
): result is Extract<Result<JsonValue, CanonicalJsonError>, { ok: true }> {
  if (!result.ok) return false;
  let encoded = '';
  expect(() => {
    encoded = encodeCanonicalJson(result.value, { mode });
  }).not.toThrow();
  const reparsed = parseCanonicalJson(encoded, { mode });
  expect(reparsed.ok).toBe(true);
  expect(reparsed.ok && encodeCanonicalJson(reparsed.value, { mode })).toBe(encoded);
  return true;
}

// --- input arbitraries -------------------------------------------------------------

type Mutation = { kind: 'insert' | 'replace' | 'delete'; at: number; unit: number };

const mutation = (maxUnit: number): fc.Arbitrary<Mutation> =>
  fc.record({
    kind: fc.constantFrom('insert' as const, 'replace' as const, 'delete' as const),
    at: fc.nat(),
    unit: fc.oneof(
      fc.constantFrom(...'{}[]:,"\\-+.0123456789eEtfnu \t\n'.split('').map((c) => c.charCodeAt(0))),
      fc.integer({ min: 0, max: maxUnit }),
    ),
  });

function mutateText(text: string, { kind, at, unit }: Mutation): string {
  const i = text.length === 0 ? 0 : at % (text.length + (kind === 'insert' ? 1 : 0));
  const char = String.fromCharCode(unit);
  if (kind === 'insert') return text.slice(0, i) + char + text.slice(i);
  if (kind === 'replace') return text.slice(0, i) + char + text.slice(i + 1);
  return text.slice(0, i) + text.slice(i + 1);
}

function mutateBytes(bytes: Uint8Array, { kind, at, unit }: Mutation): Uint8Array {
  const list = Array.from(bytes);
  const i = list.length === 0 ? 0 : at % (list.length + (kind === 'insert' ? 1 : 0));
  if (kind === 'insert') list.splice(i, 0, unit);
  else if (kind === 'replace') list.splice(i, 1, unit);
  else list.splice(i, 1);
  return Uint8Array.from(list);
}

/** A JSON value as text, written compactly, indented, or with \u escapes everywhere. */
const validJsonText = fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(0, 1, 2)).map(([value, style]) => {
  if (style === 0) return JSON.stringify(value);
  if (style === 1) return JSON.stringify(value, null, 2);
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
});

const mutatedJsonText = fc
  .tuple(validJsonText, fc.array(mutation(0xffff), { minLength: 1, maxLength: 3 }))
  .map(([text, mutations]) => mutations.reduce(mutateText, text));

const mutatedJsonBytes = fc
  .tuple(validJsonText, fc.array(mutation(0xff), { minLength: 1, maxLength: 3 }))
  .map(([text, mutations]) => mutations.reduce(mutateBytes, ENCODER.encode(text)));

/** Strings of UTF-16 code units where lone surrogates and JSON punctuation are common. */
const jsonishUnits = fc
  .array(
    fc.oneof(
      fc.constantFrom(...'{}[]:,"\\-+.0123456789eEtruefalsn u'.split('').map((c) => c.charCodeAt(0))),
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.integer({ min: 0, max: 0xffff }),
    ),
    { maxLength: 60 },
  )
  .map((units) => String.fromCharCode(...units));

/** Numbers far outside every range: long digit strings, long exponents, tiny fractions. */
const hugeNumberText = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.oneof(fc.constant('0'), fc.integer({ min: 1, max: 400 }).map((n) => '9'.repeat(n)), fc.bigInt().map((n) => (n < 0n ? -n : n).toString())),
    fc.option(fc.integer({ min: 1, max: 400 }).map((n) => '.' + '0'.repeat(n - 1) + '1'), { nil: undefined }),
    fc.option(
      fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.oneof(fc.nat().map(String), fc.integer({ min: 1, max: 300 }).map((n) => '9'.repeat(n)))).map((parts) => parts.join('')),
      { nil: undefined },
    ),
  )
  .map(([sign, whole, fraction, exponent]) => sign + whole + (fraction ?? '') + (exponent ?? ''))
  .chain((number) => fc.constantFrom(number, `[${number}]`, `{"n":${number}}`));

const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }),
  jsonishUnits,
  validJsonText,
  mutatedJsonText,
  mutatedJsonText,
  hugeNumberText,
);

const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.string({ unit: 'binary' }).map((text) => ENCODER.encode(text)),
  mutatedJsonBytes,
  mutatedJsonBytes,
);

describe('parseCanonicalJson never throws (fuzz)', () => {
  it.each(MODES.map((mode) => [mode]))('%s: arbitrary text gives a result, and accepted values round-trip', (mode) => {
    let accepted = 0;
    fc.assert(
      fc.property(anyText, (text) => {
        const result = expectJsonResult(() => parseCanonicalJson(text, { mode }));
        if (!checkAccepted(result, mode)) return;
        accepted++;
        // Only JSON is accepted: whatever we take, JSON.parse takes too.
        expect(() => JSON.parse(text) as unknown).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(0); // the round-trip checks were exercised
  });

  it.each(MODES.map((mode) => [mode]))('%s: arbitrary bytes give a result; invalid UTF-8 is refused as such', (mode) => {
    let accepted = 0;
    let invalidUtf8 = 0;
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const result = expectJsonResult(() => parseCanonicalJsonBytes(bytes, { mode }));
        let text: string | undefined;
        try {
          text = FATAL_DECODER.decode(bytes);
        } catch {
          text = undefined;
        }
        if (text === undefined) {
          invalidUtf8++;
          expect(!result.ok && result.error.code).toBe('invalid_utf8');
          return;
        }
        // Valid UTF-8: the same answer as parsing the decoded text.
        const fromText = parseCanonicalJson(text, { mode });
        expect(result.ok).toBe(fromText.ok);
        if (!checkAccepted(result, mode)) return;
        accepted++;
        expect(fromText.ok && encodeCanonicalJson(fromText.value, { mode })).toBe(encodeCanonicalJson(result.value, { mode }));
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(invalidUtf8).toBeGreaterThan(0);
  });

  it('lenient mode accepts every JSON.stringify output of fc.jsonValue', () => {
    fc.assert(
      fc.property(validJsonText, (text) => {
        const result = expectJsonResult(() => parseCanonicalJson(text, { mode: 'lenient' }));
        expect(result.ok).toBe(true);
        checkAccepted(result, 'lenient');
      }),
      { numRuns: 1000 },
    );
  });

  describe('deep nesting is refused with too_deep, never a stack overflow', () => {
    const deep = (open: string, close: string, depth: number, inner = '0'): string => open.repeat(depth) + inner + close.repeat(depth);

    it.each([
      ['100k "["', '['.repeat(100_000)],
      ['100k unclosed objects', '{"a":'.repeat(100_000)],
      ['100k "{" (a syntax error at depth 1, also fine)', '{'.repeat(100_000)],
      ['100k balanced arrays', deep('[', ']', 100_000)],
      ['100k balanced objects', deep('{"a":', '}', 100_000)],
      ['100k mixed', deep('[{"a":', '}]', 50_000)],
    ])('%s', (_name, text) => {
      for (const mode of MODES) {
        const result = expectJsonResult(() => parseCanonicalJson(text, { mode }));
        expect(!result.ok && result.error.code).toBe(text.startsWith('{{') ? 'syntax' : 'too_deep');
        const bytes = expectJsonResult(() => parseCanonicalJsonBytes(ENCODER.encode(text), { mode }));
        expect(!bytes.ok && bytes.error.code).toBe(text.startsWith('{{') ? 'syntax' : 'too_deep');
      }
    });

    it('accepts nesting up to the default limit of 128, and the result encodes', () => {
      const atLimit = parseCanonicalJson(deep('[', ']', 128), { mode: 'strict' });
      expect(checkAccepted(atLimit, 'strict')).toBe(true);
      const overLimit = parseCanonicalJson(deep('[', ']', 129), { mode: 'strict' });
      expect(!overLimit.ok && overLimit.error.code).toBe('too_deep');
    });

    // The parser recurses once per nesting level; a caller's maxDepth beyond the stack's
    // reach would let deep input escape as a RangeError, so it is capped at MAX_PARSE_DEPTH.
    it('does not throw even when maxDepth is larger than the stack allows: the cap applies', () => {
      for (const mode of MODES) {
        for (const text of ['['.repeat(10_000), deep('[', ']', 10_000), '{"a":'.repeat(10_000)]) {
          const result = parseCanonicalJson(text, { mode, maxDepth: Number.POSITIVE_INFINITY });
          expect(!result.ok && result.error.code).toBe('too_deep');
        }
        expect(parseCanonicalJson(deep('[', ']', MAX_PARSE_DEPTH), { mode, maxDepth: Number.POSITIVE_INFINITY }).ok).toBe(true);
        expect(parseCanonicalJson(deep('[', ']', MAX_PARSE_DEPTH + 1), { mode, maxDepth: Number.POSITIVE_INFINITY }).ok).toBe(false);
      }
    });

    it('honours a caller-chosen maxDepth at any nesting', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (maxDepth, depth) => {
          const result = expectJsonResult(() => parseCanonicalJson(deep('[', ']', depth), { mode: 'strict', maxDepth }));
          expect(result.ok).toBe(depth <= maxDepth);
          if (!result.ok) expect(result.error.code).toBe('too_deep');
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('huge numbers', () => {
    it.each(MODES.map((mode) => [mode]))('%s: never throws, and strict mode accepts only safe integers', (mode) => {
      let accepted = 0;
      fc.assert(
        fc.property(hugeNumberText, (text) => {
          const result = expectJsonResult(() => parseCanonicalJson(text, { mode }));
          if (!checkAccepted(result, mode)) {
            expect(['integer_out_of_range', 'float_not_allowed', 'non_finite_number']).toContain(result.ok || result.error.code);
            return;
          }
          accepted++;
          if (mode === 'strict') {
            const numbers = JSON.stringify(result.value).match(/-?\d+/g) ?? [];
            for (const n of numbers) expect(Number.isSafeInteger(Number(n))).toBe(true);
          }
        }),
        { numRuns: 1000 },
      );
      expect(accepted).toBeGreaterThan(0);
    });

    it.each([
      ['9'.repeat(100_000)],
      ['1e' + '9'.repeat(100_000)],
      ['1e-' + '9'.repeat(100_000)],
      ['0.' + '0'.repeat(100_000) + '1'],
      ['-' + '1'.repeat(100_000) + '.5e-99999'],
      ['1' + '0'.repeat(100_000) + 'e-100000'],
    ])('a 100k-character number (%#) gives a result in both modes', (text) => {
      for (const mode of MODES) checkAccepted(expectJsonResult(() => parseCanonicalJson(text, { mode })), mode);
    });
  });

  describe('duplicate keys', () => {
    /** `"key"` with every code unit written as a \u escape. */
    const escaped = (key: string): string => `"${Array.from(key, (c) => (c.length === 1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('')}"`;

    it.each(MODES.map((mode) => [mode]))('%s: a repeated key is refused however it is written', (mode) => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 5 }),
          fc.nat(),
          fc.nat(),
          fc.boolean(),
          (keys, pick, position, escape) => {
            const duplicate = keys[pick % keys.length]!;
            const members = keys.map((key) => `${JSON.stringify(key)}:0`);
            members.splice(position % (members.length + 1), 0, `${escape ? escaped(duplicate) : JSON.stringify(duplicate)}:1`);
            const result = expectJsonResult(() => parseCanonicalJson(`{${members.join(',')}}`, { mode }));
            expect(!result.ok && result.error.code).toBe('duplicate_key');
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});

describe('Base64 decoders never throw (fuzz)', () => {
  const base64ish = fc.string({
    unit: fc.oneof(
      fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_='.split('')),
      fc.constantFrom(' ', '\n', '\u0000', '\u00ff', '\ud800', '😀'),
    ),
    maxLength: 40,
  });
  const anyBase64Text = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'binary-ascii' }),
    base64ish,
    base64ish,
    fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('base64')),
    fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('base64url')),
  );

  it.each([
    ['decodeBase64', decodeBase64, encodeUnpaddedBase64, 'base64'],
    ['decodeUrlSafeBase64', decodeUrlSafeBase64, encodeUrlSafeUnpaddedBase64, 'base64url'],
  ] as const)('%s: arbitrary text gives a result, and accepted bytes re-encode and decode to themselves', (_name, decode, encode, nodeEncoding) => {
    let accepted = 0;
    fc.assert(
      fc.property(anyBase64Text, (text) => {
        const result = expectResult<Uint8Array, Base64Error>(() => decode(text));
        if (!result.ok) {
          expect(['invalid_character', 'invalid_length']).toContain(result.error.code);
          return;
        }
        accepted++;
        expect(result.value).toBeInstanceOf(Uint8Array);
        // Agrees with Node's decoder on everything it accepts.
        expect(Array.from(result.value)).toEqual(Array.from(Buffer.from(text, nodeEncoding)));
        const encoded = encode(result.value);
        expect(encoded.length).toBe(text.replace(/=+$/, '').length); // unpadded, same number of groups
        const again = decode(encoded);
        expect(again.ok && Array.from(again.value)).toEqual(Array.from(result.value));
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
