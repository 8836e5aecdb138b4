// Values for requests: well-formed ones built from an OpenAPI schema (with the run's real
// identifiers where a field names one, so a request gets past "no such room" to the code
// behind it), and hostile ones that replace a part of them.

/** Strings no field should choke on: NUL, unpaired surrogates, control and bidi characters, sizes past every limit. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udfff\ud800',
  '\u202e\u0007\u001b[2J',
  '\ufeff',
  '😀'.repeat(40),
  'é'.repeat(300),
  'a'.repeat(256),
  'a'.repeat(70_000),
  '../../etc/passwd',
  '%00%ff%',
  '@:',
  '!:',
  '$',
  '#a:b:c',
  '@a:' + 'x'.repeat(300),
  '{"a":1}',
  'null',
  '-1',
  '9007199254740993',
];

/** Numbers past what a field, canonical JSON, int32/uint32 or a JavaScript double can hold. */
export const HOSTILE_NUMBERS = [-1, -0, 0.5, -2147483649, 2147483648, 4294967296, 2 ** 53, -(2 ** 53), 2 ** 63, 1e308, -1e308, 3.14e-300];

/** Raw number literals JSON.stringify cannot produce: beyond a double, or too precise for one. */
export const HOSTILE_NUMBER_LITERALS = ['1e400', '-1e400', '9007199254740993', '123456789012345678901234567890', '1.0', '1E2', '-0', '0.1e-999'];

/** Query values of any parameter, as sent (before percent-encoding). */
export const HOSTILE_QUERY_VALUES = ['', '-1', '0', '1.5', 'NaN', 'Infinity', '1e400', '4294967296', '9007199254740993', '-9223372036854775809', 'true', 'null', '[]', '{', '\u0000', '\ud800', 'a'.repeat(5000), ' 1', '0x10', '١'];

/** Another value of a different JSON type than `value`. */
export function wrongType(rng, value) {
  const all = [null, true, false, 0, -1, 1.5, '', 'str', [], [1, 'a'], {}, { a: 1 }];
  const kind = typeOf(value);
  return rng.pick(all.filter((v) => typeOf(v) !== kind));
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A hostile value of any kind, as a JSON value. */
export function hostileValue(rng, current) {
  switch (rng.int(6)) {
    case 0:
    case 1:
      return rng.pick(HOSTILE_STRINGS);
    case 2:
      return rng.pick(HOSTILE_NUMBERS);
    case 3:
      return wrongType(rng, current);
    case 4:
      return nested(rng.pick([20, 99, 100, 101, 128, 1000]), rng.chance(0.5));
    default:
      return rng.chance(0.5) ? Array.from({ length: rng.pick([1000, 10_000]) }, (_, i) => i) : Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
  }
}

/** A value `depth` levels deep (the outer container is level 1). */
export function nested(depth, arrays) {
  let v = arrays ? [] : {};
  for (let i = 1; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

/**
 * A well-formed value for `schema`. `hint` is the field or parameter name, `ids` the run's
 * real identifiers: a field named for an identifier gets a real one most of the time.
 */
export function fromSchema(rng, schema, hint, ids, depth = 0) {
  const real = ids.forName(hint, schema);
  if (real !== undefined && rng.chance(0.85)) return real;
  if (schema === undefined || schema === null || typeof schema !== 'object') return 'x';
  if (schema.example !== undefined && rng.chance(0.4)) return structuredClone(schema.example);
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return rng.pick(schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alternatives) && alternatives.length > 0) return fromSchema(rng, rng.pick(alternatives), hint, ids, depth);
  if (Array.isArray(schema.allOf)) {
    const merged = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      Object.assign(merged.properties, part.properties ?? {});
      merged.required.push(...(part.required ?? []));
    }
    return fromSchema(rng, merged, hint, ids, depth);
  }
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : (schema.type ?? (schema.properties ? 'object' : undefined));
  switch (type) {
    case 'object': {
      const out = {};
      if (depth > 6) return out;
      const required = new Set(schema.required ?? []);
      for (const [name, sub] of Object.entries(schema.properties ?? {})) {
        if (required.has(name) || rng.chance(0.5)) out[name] = fromSchema(rng, sub, name, ids, depth + 1);
      }
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object' && rng.chance(0.6)) {
        for (let i = rng.int(3); i >= 0; i--) {
          const key = ids.keyFor(hint, rng) ?? `org.example.k${rng.int(100)}`;
          out[key] = fromSchema(rng, schema.additionalProperties, key, ids, depth + 1);
        }
      }
      return out;
    }
    case 'array': {
      if (depth > 6) return [];
      const n = Math.max(schema.minItems ?? 0, rng.int(3));
      return Array.from({ length: n }, () => fromSchema(rng, schema.items ?? {}, hint, ids, depth + 1));
    }
    case 'integer': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100_000);
      return rng.range(min, max);
    }
    case 'number':
      return rng.range(0, 1000) / 10;
    case 'boolean':
      return rng.chance(0.5);
    case 'string':
      return ids.forFormat(schema.format, rng) ?? `fuzz${rng.int(1000)}`;
    default:
      return rng.chance(0.5) ? { fuzz: rng.int(10) } : `fuzz${rng.int(10)}`;
  }
}

/**
 * Replaces one place in `value` (an object or array, walked at random) with a hostile
 * value, or adds an unexpected key. Returns the mutated copy and where it changed.
 */
export function mutateValue(rng, value) {
  if (value === null || typeof value !== 'object') return { value: hostileValue(rng, value), at: '' };
  const copy = structuredClone(value);
  let parent = copy;
  let at = '';
  for (;;) {
    const keys = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
    if (keys.length === 0 || rng.chance(0.15)) {
      const key = Array.isArray(parent) ? parent.length : rng.pick(['a', '\u0000', '\ud800', 'x'.repeat(300), '', 'content', 'type']);
      parent[key] = hostileValue(rng, undefined);
      return { value: copy, at: `${at}.${String(key).slice(0, 20)}+` };
    }
    const key = rng.pick(keys);
    const child = parent[key];
    at += `.${key}`;
    if (child !== null && typeof child === 'object' && rng.chance(0.6)) {
      parent = child;
      continue;
    }
    parent[key] = hostileValue(rng, child);
    return { value: copy, at };
  }
}

/**
 * JSON text of `value` that JSON.stringify cannot write: a key repeated with another value,
 * a number literal beyond a double, or nesting past every limit, spliced in as text.
 */
export function rawMutation(rng, value) {
  const text = JSON.stringify(value ?? {});
  const isObject = text.startsWith('{') && text.length > 2;
  switch (rng.int(7)) {
    case 0: // duplicate key: the first key again, after it
      if (isObject) {
        const m = /^\{("(?:[^"\\]|\\.)*"):/.exec(text);
        if (m) return { text: `{${m[1]}:${rng.pick(['1', 'null', '"dup"', '{}', '[]'])},${text.slice(1)}`, what: 'duplicate key' };
      }
      return { text: '{"a":1,"a":2}', what: 'duplicate key' };
    case 1:
      return { text: isObject ? `{"n":${rng.pick(HOSTILE_NUMBER_LITERALS)},${text.slice(1)}` : rng.pick(HOSTILE_NUMBER_LITERALS), what: 'number literal' };
    case 2: {
      const depth = rng.pick([101, 1000, 100_000]);
      const open = rng.chance(0.5) ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      return { text: isObject ? `{"deep":${open.repeat(depth)}1${close.repeat(depth)},${text.slice(1)}` : `${open.repeat(depth)}1${close.repeat(depth)}`, what: `nesting ${depth}` };
    }
    case 3: // not JSON at all, or JSON cut short
      return { text: rng.pick([text.slice(0, Math.max(1, text.length - 1)), `${text}x`, `${text}${text}`, '', ' ', '{', '}', "{'a':1}", '{"a":1,}', '[1,]', 'NaN', '\u0000', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"\\ud800":1}']), what: 'malformed JSON' };
    case 4:
      return { text: rng.pick(['null', 'true', '1', '"s"', '[]', '[{}]']), what: 'not an object' };
    case 5: // a lone surrogate or NUL written as an escape (what a client's JSON encoder writes)
      return { text: isObject ? `{"${rng.pick(['a', 'body', 'type'])}":"${rng.pick(['\\ud800', '\\udc00x', 'x\\u0000', '\\u0000'])}",${text.slice(1)}` : '"\\ud800"', what: 'escape' };
    default: // bytes that are not UTF-8
      return { bytes: Buffer.concat([Buffer.from(text.slice(0, Math.floor(text.length / 2))), Buffer.from(rng.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]])), Buffer.from(text.slice(Math.floor(text.length / 2)))]), what: 'invalid UTF-8' };
  }
}

/**
 * A path segment as sent: percent-encoded UTF-8, except that an unpaired surrogate is sent
 * as the bytes WTF-8 gives it (which are not UTF-8), as a careless client would.
 */
export function encodeSegment(value) {
  let out = '';
  for (const ch of String(value)) {
    const code = ch.codePointAt(0);
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}

/** Path segments no router should mishandle: broken escapes, dot segments, sizes past the limits. */
export const HOSTILE_SEGMENTS = ['%', '%zz', '%00', '%ED%A0%80', '%FF', '%C0%AF', '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%25', 'a'.repeat(300), '%E2%80%AE', '+', '%20'];
