import fc from 'fast-check';
import {
  CanonicalJsonError,
  compareCodePoints,
  encodeCanonicalJson,
  encodeCanonicalJsonBytes,
  formatFloatLikePython,
  type JsonValue,
} from './canonical-json';
import { parseCanonicalJson } from './canonical-json-parser';

const strict = { mode: 'strict' } as const;
const lenient = { mode: 'lenient' } as const;

function encodeError(value: unknown, mode: 'strict' | 'lenient' = 'strict'): CanonicalJsonError {
  try {
    encodeCanonicalJson(value as JsonValue, { mode });
  } catch (error) {
    if (error instanceof CanonicalJsonError) return error;
    throw error;
  }
  throw new Error('expected encoding to fail');
}

describe('encodeCanonicalJson (appendices#canonical-json)', () => {
  it('matches the spec example for -0 and 1e10 given as values', () => {
    expect(encodeCanonicalJson({ b: 1e10, a: -0 }, strict)).toBe('{"a":0,"b":10000000000}');
  });

  it.each([
    ['\b\t\n\f\r"\\', '"\\b\\t\\n\\f\\r\\"\\\\"'],
    ['\u0000\u0001\u000b\u000e\u001f', '"\\u0000\\u0001\\u000b\\u000e\\u001f"'],
    ['/ \u007f é 日 😀 \u2028', '"/ \u007f é 日 😀 \u2028"'],
  ])('escapes only what the grammar requires: %j', (input, expected) => {
    expect(encodeCanonicalJson(input, strict)).toBe(expected);
  });

  it('sorts keys by code point, not UTF-16 code unit', () => {
    // U+FF61 is one code unit 0xFF61; U+1F600 is 0xD83D 0xDE00. By code point 😀 sorts last.
    const value = { '😀': 1, '｡': 2, a: 3, '': 4 };
    expect(encodeCanonicalJson(value, strict)).toBe('{"":4,"a":3,"｡":2,"😀":1}');
    expect(compareCodePoints('😀', '｡')).toBeGreaterThan(0);
    expect('😀' < '｡').toBe(true); // what the naive order would have done
  });

  it('keeps a "__proto__" key as data', () => {
    const parsed = parseCanonicalJson('{"__proto__":{"x":1},"a":2}', strict);
    expect(parsed.ok && encodeCanonicalJson(parsed.value, strict)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('skips undefined members as JSON.stringify does', () => {
    expect(encodeCanonicalJson({ a: undefined, b: 1 } as unknown as JsonValue, strict)).toBe('{"b":1}');
  });

  it('encodes UTF-8 bytes', () => {
    expect(Array.from(encodeCanonicalJsonBytes({ a: 'é' }, strict))).toEqual([...'{"a":"'].map((c) => c.charCodeAt(0)).concat([0xc3, 0xa9, 0x22, 0x7d]));
  });

  describe('numbers', () => {
    it.each([
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [-Number.MAX_SAFE_INTEGER, '-9007199254740991'],
      [9007199254740991n, '9007199254740991'],
    ])('strict mode accepts the range ends: %p', (value, expected) => {
      expect(encodeCanonicalJson(value, strict)).toBe(expected);
    });

    it.each([
      [2 ** 53, 'integer_out_of_range'],
      [-(2 ** 53), 'integer_out_of_range'],
      [2n ** 53n, 'integer_out_of_range'],
      [1.5, 'float_not_allowed'],
      [NaN, 'non_finite_number'],
      [Infinity, 'non_finite_number'],
    ])('strict mode refuses %p (%s)', (value, code) => {
      expect(encodeError(value).code).toBe(code);
    });

    it.each([
      [2n ** 64n, '18446744073709551616'],
      [0.5, '0.5'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.5e300, '1.5e+300'],
      [2 ** 60, '1.152921504606847e+18'],
      [9007199254740994, '9007199254740994.0'],
      [-2.25, '-2.25'],
    ])('lenient mode writes %p as Python would: %s', (value, expected) => {
      expect(encodeCanonicalJson(value, lenient)).toBe(expected);
    });

    it('lenient mode still refuses NaN and Infinity', () => {
      expect(encodeError(NaN, 'lenient').code).toBe('non_finite_number');
      expect(encodeError(-Infinity, 'lenient').code).toBe('non_finite_number');
    });
  });

  it.each([
    [{ a: 'x\uD800' }, 'lone_surrogate', '$.a'],
    [{ a: [1, undefined] }, 'unsupported_value', '$.a[1]'],
    [{ a: new Date(0) }, 'unsupported_value', '$.a'],
    [{ a: () => 1 }, 'unsupported_value', '$.a'],
  ])('refuses values with no JSON form: %p', (value, code, at) => {
    const error = encodeError(value);
    expect(error.code).toBe(code);
    expect(error.at).toBe(at);
  });

  it('refuses cycles through the depth limit instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(encodeError(cyclic).code).toBe('too_deep');
  });

  it.each([
    [0.1],
    [1e-7],
    [123.456],
    [1e16],
    [1e15 + 0.5],
    [5e-324],
    [1.7976931348623157e308],
  ])('formats %p with the shortest round-trip digits', (value) => {
    expect(Number(formatFloatLikePython(value))).toBe(value);
  });
});

const jsonValue = (strictNumbers: boolean): fc.Arbitrary<JsonValue> =>
  fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      strictNumbers ? fc.maxSafeInteger() : fc.oneof(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.bigInt()),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

describe('canonical JSON properties', () => {
  it.each([['strict' as const], ['lenient' as const]])('%s: parse(encode(x)) encodes to the same string', (mode) => {
    fc.assert(
      fc.property(jsonValue(mode === 'strict'), (value) => {
        const encoded = encodeCanonicalJson(value, { mode });
        const parsed = parseCanonicalJson(encoded, { mode });
        expect(parsed.ok).toBe(true);
        expect(parsed.ok && encodeCanonicalJson(parsed.value, { mode })).toBe(encoded);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with Python-style sort_keys for arbitrary keys', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 8 }), (keys) => {
        const byCodePoint = [...new Set(keys)].sort((a, b) => {
          const x = Array.from(a, (c) => c.codePointAt(0)!);
          const y = Array.from(b, (c) => c.codePointAt(0)!);
          for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
          return x.length - y.length;
        });
        const encoded = encodeCanonicalJson(Object.fromEntries(keys.map((k) => [k, 0])), strict);
        expect(encoded).toBe(`{${byCodePoint.map((k) => `${JSON.stringify(k)}:0`).join(',')}}`);
      }),
    );
  });
});
