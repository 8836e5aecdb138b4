import { encodeCanonicalJson } from './canonical-json';
import { parseCanonicalJson, parseCanonicalJsonBytes } from './canonical-json-parser';

const strict = { mode: 'strict' } as const;
const lenient = { mode: 'lenient' } as const;

function canonicalise(text: string, mode: 'strict' | 'lenient' = 'strict'): string {
  const parsed = parseCanonicalJson(text, { mode });
  if (!parsed.ok) throw parsed.error;
  return encodeCanonicalJson(parsed.value, { mode });
}

function refusal(text: string, mode: 'strict' | 'lenient' = 'strict'): string {
  const parsed = parseCanonicalJson(text, { mode });
  return parsed.ok ? 'accepted' : parsed.error.code;
}

describe('parseCanonicalJson', () => {
  // Every example of appendices#canonical-json, input as the spec writes it.
  it.each([
    ['{}', '{}'],
    ['{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'],
    ['{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'],
    ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
    [
      '{\n    "auth": {\n        "success": true,\n        "mxid": "@john.doe:example.com",\n        "profile": {\n            "display_name": "John Doe",\n            "three_pids": [\n                {\n                    "medium": "email",\n                    "address": "john.doe@example.org"\n                },\n                {\n                    "medium": "msisdn",\n                    "address": "123456789"\n                }\n            ]\n        }\n    }\n}',
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ],
    ['{\n    "a": "日本語"\n}', '{"a":"日本語"}'],
    ['{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'],
    ['{\n    "a": "\\u65E5"\n}', '{"a":"日"}'],
    ['{\n    "a": null\n}', '{"a":null}'],
    ['{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'],
  ])('spec example %#', (input, expected) => {
    expect(canonicalise(input)).toBe(expected);
    // Synapse would write the lenient `1e10` as `10000000000.0`; see the README.
    expect(canonicalise(input, 'lenient')).toBe(expected);
  });

  it('reads escapes, including redundant ones, into their characters', () => {
    expect(canonicalise('["\\/\\u0041\\ud83d\\ude00\\u001F\\u007f"]')).toBe('["/A😀\\u001f\u007f"]');
  });

  it.each([
    ['{"a":1,"a":1}'],
    ['{"a":1,"b":{"c":1,"c":2}}'],
    ['[{"x":1},{"x":1,"y":2,"x":3}]'],
    ['{"a":1,"\\u0061":2}'],
  ])('refuses duplicate keys: %s', (text) => {
    expect(refusal(text)).toBe('duplicate_key');
    expect(refusal(text, 'lenient')).toBe('duplicate_key');
  });

  it('bounds nesting depth', () => {
    expect(refusal('['.repeat(128) + ']'.repeat(128))).toBe('accepted');
    expect(refusal('['.repeat(129) + ']'.repeat(129))).toBe('too_deep');
    expect(refusal('{"a":'.repeat(100000))).toBe('too_deep');
    expect(parseCanonicalJson('[[[1]]]', { mode: 'strict', maxDepth: 2 }).ok).toBe(false);
  });

  describe('numbers', () => {
    it.each([
      ['9007199254740991', '9007199254740991'],
      ['-9007199254740991', '-9007199254740991'],
      ['1E2', '100'],
      ['1.5e1', '15'],
      ['1.0', '1'],
      ['0.0e5', '0'],
      ['-0.0', '0'],
      ['90071992547409.91e2', '9007199254740991'],
    ])('strict mode accepts integer values: %s', (text, expected) => {
      expect(canonicalise(text)).toBe(expected);
    });

    it.each([
      ['9007199254740992', 'integer_out_of_range'],
      ['-9007199254740992', 'integer_out_of_range'],
      ['18446744073709551616', 'integer_out_of_range'],
      ['1e16', 'integer_out_of_range'],
      ['1e999999999999999999', 'integer_out_of_range'],
      ['1.5', 'float_not_allowed'],
      ['1e-1', 'float_not_allowed'],
      ['1e-999999999999999999', 'float_not_allowed'],
    ])('strict mode refuses %s', (text, code) => {
      expect(refusal(text)).toBe(code);
    });

    it.each([
      ['18446744073709551616', '18446744073709551616'],
      ['-9007199254740992', '-9007199254740992'],
      ['1.5', '1.5'],
      ['50.5e-1', '5.05'],
      ['1e-7', '1e-07'],
      ['1e100', '1e+100'],
    ])('lenient mode keeps %s', (text, expected) => {
      expect(canonicalise(text, 'lenient')).toBe(expected);
    });

    it('lenient mode returns exact big integers as bigint', () => {
      expect(parseCanonicalJson('[18446744073709551617]', lenient)).toEqual({ ok: true, value: [18446744073709551617n] });
      expect(parseCanonicalJson('[42]', lenient)).toEqual({ ok: true, value: [42] });
    });

    it('refuses numbers no double holds, in lenient mode too', () => {
      expect(refusal('1e400', 'lenient')).toBe('non_finite_number');
    });

    it.each([['01'], ['1.'], ['.5'], ['+1'], ['1e'], ['-'], ['NaN'], ['Infinity'], ['0x10']])('refuses malformed %s', (text) => {
      expect(refusal(text, 'lenient')).toBe('syntax');
    });
  });

  describe('strings', () => {
    it.each([['"\\ud800"'], ['"\\udc00\\ud800"'], ['"\\ud800x"'], ['"a\ud800"'], ['"\udc00"'], ['{"\\ud83d":1}']])(
      'refuses lone surrogates: %s',
      (text) => {
        expect(refusal(text)).toBe('lone_surrogate');
      },
    );

    it.each([['"\n"'], ['"\u0000"'], ['"\\x41"'], ['"\\u12"'], ['"\\U0041"'], ['"abc'], ["'a'"]])('refuses malformed %j', (text) => {
      expect(refusal(text)).toBe('syntax');
    });

    it('accepts raw astral characters and keeps them unescaped', () => {
      expect(canonicalise('"😀"')).toBe('"😀"');
    });
  });

  it.each([[''], [' '], ['{'], ['{"a"}'], ['{"a":1,}'], ['[1,]'], ['[1 2]'], ['{} {}'], ['{a:1}'], ['tru'], ['nul']])(
    'refuses malformed JSON %j',
    (text) => {
      expect(refusal(text)).toBe('syntax');
    },
  );

  it('reports where input went wrong', () => {
    const parsed = parseCanonicalJson('{"a":1, "a":2}', strict);
    expect(!parsed.ok && parsed.error.at).toBe('offset 8');
  });

  it('refuses bytes that are not UTF-8, and decodes those that are', () => {
    expect(parseCanonicalJsonBytes(new Uint8Array([0x22, 0xff, 0x22]), strict)).toMatchObject({ ok: false, error: { code: 'invalid_utf8' } });
    expect(parseCanonicalJsonBytes(new Uint8Array([0x22, 0xc3, 0xa9, 0x22]), strict)).toEqual({ ok: true, value: 'é' });
    expect(parseCanonicalJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), strict).ok).toBe(false);
  });
});
