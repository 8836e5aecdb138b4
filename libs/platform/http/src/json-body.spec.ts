import fc from 'fast-check';
import { MatrixError } from '@axon/matrix-errors';
import { MAX_JSON_DEPTH, checkJsonParameter, parseJsonBody, type JsonBodyKind } from './json-body';

function outcome(text: string, kind: JsonBodyKind = 'parameters', maxDepth?: number): unknown {
  try {
    return { value: parseJsonBody(text, { kind, ...(maxDepth === undefined ? {} : { maxDepth }) }) };
  } catch (error) {
    if (!(error instanceof MatrixError)) throw error;
    return { errcode: error.errcode, status: error.status };
  }
}

const nested = (depth: number, open = '{"a":', close = '}'): string => `${open.repeat(depth - 1)}{}${close.repeat(depth - 1)}`;
const badJson = { errcode: 'M_BAD_JSON', status: 400 };
const notJson = { errcode: 'M_NOT_JSON', status: 400 };

describe('parseJsonBody', () => {
  it('parses objects, keeps "__proto__" as data, and reads an empty body as no body', () => {
    expect(outcome('{"a":[1,"x",{"b":null}],"c":1.5}')).toEqual({ value: { a: [1, 'x', { b: null }], c: 1.5 } });
    expect(Object.hasOwn(parseJsonBody('{"__proto__":{"x":1}}', { kind: 'parameters' })!, '__proto__')).toBe(true);
    expect(outcome('')).toEqual({ value: undefined });
    expect(outcome(' \n\t')).toEqual({ value: undefined });
  });

  it.each([
    ['truncated', '{"a":'],
    ['a bare word', 'hello'],
    ['a trailing comma', '{"a":1,}'],
    ['two values', '{} {}'],
    ['a bad escape', '{"a":"\\x"}'],
    ['NaN', '{"a":NaN}'],
  ])('answers %s with M_NOT_JSON', (_name, text) => {
    expect(outcome(text)).toEqual(notJson);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[{}]'],
    ['a string', '"x"'],
    ['a number', '3'],
    ['true', 'true'],
  ])('answers %s, valid JSON but not an object, with M_BAD_JSON', (_name, text) => {
    expect(outcome(text)).toEqual(badJson);
    expect(outcome(text, 'content')).toEqual(badJson);
  });

  describe('depth', () => {
    it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, objects and arrays alike`, () => {
      expect(outcome(nested(MAX_JSON_DEPTH))).toMatchObject({ value: expect.any(Object) });
      expect(outcome(nested(MAX_JSON_DEPTH + 1))).toEqual(badJson);
      expect(outcome(`{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`)).toMatchObject({ value: expect.any(Object) });
      expect(outcome(`{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`)).toEqual(badJson);
    });

    it('counts only structure: brackets inside strings, escaped quotes included, are text', () => {
      const brackets = '['.repeat(5000);
      expect(outcome(`{"a":"${brackets}","b":"\\"${brackets}\\\\","c":{}}`)).toEqual({ value: { a: brackets, b: `"${brackets}\\`, c: {} } });
    });

    it('refuses a million levels without overflowing the stack or building them', () => {
      const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
      expect(outcome(text)).toEqual(badJson);
      expect(outcome(`{"a":${text}}`, 'content')).toEqual(badJson);
    });

    it('takes a lower limit when asked', () => {
      expect(outcome(nested(3), 'parameters', 3)).toMatchObject({ value: expect.any(Object) });
      expect(outcome(nested(4), 'parameters', 3)).toEqual(badJson);
    });
  });

  describe('numbers', () => {
    it.each([
      ['the largest integer', '9007199254740991', 9007199254740991],
      ['the smallest integer', '-9007199254740991', -9007199254740991],
      ['a float', '0.5', 0.5],
      ['a long float within range', '0.1234567890123456789', Number('0.1234567890123456789')],
      ['an exponent within range', '1e15', 1e15],
      ['a negative exponent', '1e-300', 1e-300],
      ['zero with an exponent', '0e999', 0],
    ])('accepts %s', (_name, literal, value) => {
      expect(outcome(`{"n":${literal}}`)).toEqual({ value: { n: value } });
    });

    it.each([
      ['2**53', '9007199254740992'],
      ['2**53 + 1, which JavaScript would read as 2**53', '9007199254740993'],
      ['-(2**53)', '-9007199254740992'],
      ['2**64', '18446744073709551616'],
      ['a float beyond the range', '9007199254740993.5'],
      ['an exponent beyond the range', '1e16'],
      ['a number JavaScript reads as Infinity', '1e400'],
      ['a number JavaScript reads as -Infinity', '-1e400'],
    ])('refuses %s with M_BAD_JSON, in content too', (_name, literal) => {
      expect(outcome(`{"n":${literal}}`)).toEqual(badJson);
      expect(outcome(`{"deep":[{"n":${literal}}]}`, 'content')).toEqual(badJson);
    });

    it('leaves numbers inside strings alone', () => {
      expect(outcome('{"n":"18446744073709551616","m":"1e400"}')).toEqual({ value: { n: '18446744073709551616', m: '1e400' } });
    });
  });

  describe('U+0000', () => {
    it.each([
      ['a value', '{"a":"x\\u0000y"}'],
      ['a key', '{"x\\u0000":1}'],
      ['a nested array', '{"a":[["\\u0000"]]}'],
    ])('is refused in %s of a parameter body', (_name, text) => {
      expect(outcome(text)).toEqual(badJson);
    });

    it('is kept in content', () => {
      expect(outcome('{"body":"a\\u0000b","x\\u0000":[1]}', 'content')).toEqual({ value: { body: 'a\u0000b', 'x\u0000': [1] } });
    });

    it('is not confused with an escaped backslash followed by "u0000"', () => {
      expect(outcome('{"a":"\\\\u0000"}')).toEqual({ value: { a: '\\u0000' } });
    });
  });

  describe('surrogates', () => {
    it('accepts pairs, escaped and raw', () => {
      expect(outcome('{"a":"\\ud83d\\ude00","b":"😀"}')).toEqual({ value: { a: '😀', b: '😀' } });
    });

    it.each([
      ['an escaped lone high surrogate', '{"a":"\\ud800"}'],
      ['an escaped lone low surrogate', '{"a":"\\udc00x"}'],
      ['a high surrogate followed by a non-surrogate escape', '{"a":"\\ud800\\u0041"}'],
      ['two high surrogates', '{"a":"\\ud800\\ud800"}'],
      ['a lone surrogate in a key', '{"\\udfff":1}'],
      ['a raw lone surrogate', `{"a":"${String.fromCharCode(0xd800)}"}`],
    ])('refuses %s with M_BAD_JSON, in content too', (_name, text) => {
      expect(outcome(text)).toEqual(badJson);
      expect(outcome(text, 'content')).toEqual(badJson);
    });
  });

  it('accepts exactly the objects whose numbers are within range, as JSON.parse reads them (property)', () => {
    const inRange = (value: unknown): boolean =>
      typeof value === 'number' ? Math.abs(value) <= Number.MAX_SAFE_INTEGER : typeof value === 'object' && value !== null ? Object.values(value).every(inRange) : true;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 6 })), (object) => {
        const text = JSON.stringify(object);
        expect(outcome(text, 'content')).toEqual(inRange(object) ? { value: JSON.parse(text) } : badJson);
      }),
    );
  });

  it('refuses exactly the strings with a lone surrogate, or U+0000 outside content (property)', () => {
    const loneSurrogate = /\p{Surrogate}/u;
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 4 }), fc.constantFrom<JsonBodyKind>('parameters', 'content'), (strings, kind) => {
        const object = Object.fromEntries(strings.map((text, index) => [index % 2 === 0 ? text : `k${index}`, text]));
        const refused = strings.some((text) => loneSurrogate.test(text) || (kind === 'parameters' && text.includes('\u0000')));
        expect(outcome(JSON.stringify(object), kind)).toEqual(refused ? badJson : { value: object });
      }),
    );
  });

  it('checks JSON in a query parameter by the same rules, naming the parameter', () => {
    expect(checkJsonParameter('filter', '{"room":{"timeline":{"limit":10}}}')).toBeUndefined();
    expect(checkJsonParameter('filter', `{"a":"\\u0000"}`)?.toBody()).toMatchObject({ errcode: 'M_BAD_JSON', error: expect.stringMatching(/^filter: /) });
    expect(checkJsonParameter('filter', nested(MAX_JSON_DEPTH + 1))?.errcode).toBe('M_BAD_JSON');
    expect(checkJsonParameter('filter', '{')?.errcode).toBe('M_NOT_JSON');
  });
});
