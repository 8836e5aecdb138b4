/**
 * Canonical JSON: the byte encoding that Matrix hashes and signs.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */

/**
 * A JSON value as this library reads and writes it. `bigint` carries integers that only
 * lenient mode admits (outside `[-(2**53)+1, (2**53)-1]`) without losing digits.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;

/**
 * A JSON object. Keys are own properties (`__proto__` included, never a prototype).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Which number rules apply.
 * - `strict`: room versions 6 and later ("Servers MUST strictly enforce the JSON format"):
 *   integers in `[-(2**53)+1, (2**53)-1]` only, no floats.
 * - `lenient`: room versions 1 to 5 ("Servers MUST NOT strictly enforce"): any integer,
 *   and floats, written the way Synapse (Python `json`) writes them.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/#canonical-json
 */
export type CanonicalJsonMode = 'strict' | 'lenient';

/**
 * Options for encoding.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export interface EncodeCanonicalJsonOptions {
  readonly mode: CanonicalJsonMode;
  /** Deepest nesting of arrays and objects accepted (guards against cycles); default 256. */
  readonly maxDepth?: number;
}

/**
 * Why a value has no canonical JSON form, or why input was refused.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export type CanonicalJsonErrorCode =
  | 'syntax'
  | 'duplicate_key'
  | 'float_not_allowed'
  | 'integer_out_of_range'
  | 'non_finite_number'
  | 'lone_surrogate'
  | 'invalid_utf8'
  | 'too_deep'
  | 'unsupported_value';

/**
 * The one error type of this library. Encoding throws it (the value came from our own
 * code, so it is a bug); parsing returns it inside a {@link Result}.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';

  constructor(
    readonly code: CanonicalJsonErrorCode,
    message: string,
    /** Where: a JSON path such as `$.content.body` when encoding, a character offset when parsing. */
    readonly at: string,
  ) {
    super(`${message} at ${at}`);
  }
}

/** `(2**53) - 1`, the largest integer the spec allows. */
const MAX_INT = Number.MAX_SAFE_INTEGER;
const MAX_INT_BIG = BigInt(MAX_INT);
// Inside a `u`-flag character class a surrogate pair is one code point, so this only
// matches surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const ASTRAL_OR_HIGH_BMP = /[\uD800-\uFFFF]/;

/**
 * Compares two strings by Unicode code point, the order the spec sorts keys in. Differs
 * from `<` (UTF-16 code units) only when one side has an astral character (a surrogate,
 * 0xD800-0xDFFF) and the other a BMP character from 0xE000: the astral one sorts last.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      return codePointRank(x) - codePointRank(y);
    }
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

function sortKeys(keys: string[]): string[] {
  keys.sort();
  for (const key of keys) {
    if (ASTRAL_OR_HIGH_BMP.test(key)) return keys.sort(compareCodePoints);
  }
  return keys;
}

/**
 * Writes a finite, non-integer (or very large) double the way Python's `repr(float)` does,
 * which is what Synapse put into the hashes of room versions 1 to 5: shortest round-trip
 * digits, exponent form below 1e-4 and from 1e16 (`1e-05`, `1.5e+16`), `.0` on integral
 * values in fixed form.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#canonical-json
 */
export function formatFloatLikePython(value: number): string {
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const abs = Math.abs(exponent);
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}

class Encoder {
  private out = '';

  constructor(
    private readonly strict: boolean,
    private readonly maxDepth: number,
  ) {}

  encode(value: JsonValue): string {
    this.value(value, 0, '$');
    return this.out;
  }

  private value(value: unknown, depth: number, path: string): void {
    switch (typeof value) {
      case 'string':
        this.out += this.string(value, path);
        return;
      case 'number':
        this.out += this.number(value, path);
        return;
      case 'bigint':
        if (this.strict && (value > MAX_INT_BIG || value < -MAX_INT_BIG)) {
          throw new CanonicalJsonError('integer_out_of_range', `integer ${value} is outside [-(2**53)+1, (2**53)-1]`, path);
        }
        this.out += value.toString();
        return;
      case 'boolean':
        this.out += value ? 'true' : 'false';
        return;
      case 'object':
        if (value === null) {
          this.out += 'null';
          return;
        }
        if (depth >= this.maxDepth) {
          throw new CanonicalJsonError('too_deep', `nesting deeper than ${this.maxDepth}`, path);
        }
        if (Array.isArray(value)) {
          this.array(value, depth + 1, path);
          return;
        }
        {
          const proto: unknown = Object.getPrototypeOf(value);
          if (proto !== Object.prototype && proto !== null) {
            throw new CanonicalJsonError('unsupported_value', 'only plain objects and arrays are JSON', path);
          }
        }
        this.object(value as Record<string, unknown>, depth + 1, path);
        return;
      default:
        throw new CanonicalJsonError('unsupported_value', `${typeof value} is not JSON`, path);
    }
  }

  private array(items: readonly unknown[], depth: number, path: string): void {
    this.out += '[';
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.out += ',';
      const item = items[i];
      if (item === undefined) {
        throw new CanonicalJsonError('unsupported_value', 'undefined is not JSON', `${path}[${i}]`);
      }
      this.value(item, depth, `${path}[${i}]`);
    }
    this.out += ']';
  }

  private object(object: Record<string, unknown>, depth: number, path: string): void {
    this.out += '{';
    let first = true;
    for (const key of sortKeys(Object.keys(object))) {
      const member = object[key];
      // Absent optional fields: skipped, as JSON.stringify does, so what we sign is what we send.
      if (member === undefined) continue;
      const memberPath = `${path}.${key}`;
      this.out += (first ? '' : ',') + this.string(key, memberPath) + ':';
      first = false;
      this.value(member, depth, memberPath);
    }
    this.out += '}';
  }

  private string(value: string, path: string): string {
    if (LONE_SURROGATE.test(value)) {
      throw new CanonicalJsonError('lone_surrogate', 'string has a lone surrogate, which UTF-8 cannot encode', path);
    }
    // For well-formed strings JSON.stringify escapes exactly what the spec's grammar does:
    // `"`, `\`, the short forms \b \t \n \f \r, other controls as lowercase \u00XX, and
    // nothing else (not `/`, not DEL, not non-ASCII).
    return JSON.stringify(value);
  }

  private number(value: number, path: string): string {
    if (!Number.isFinite(value)) {
      throw new CanonicalJsonError('non_finite_number', `${value} is not a JSON number`, path);
    }
    if (Number.isSafeInteger(value)) return String(value); // -0 becomes "0", as the spec's example shows.
    if (this.strict) {
      if (Number.isInteger(value)) {
        throw new CanonicalJsonError('integer_out_of_range', `integer ${value} is outside [-(2**53)+1, (2**53)-1]`, path);
      }
      throw new CanonicalJsonError('float_not_allowed', `float ${value} is not allowed`, path);
    }
    return formatFloatLikePython(value);
  }
}

const DEFAULT_MAX_DEPTH = 256;

/**
 * Encodes a value as canonical JSON: shortest form, keys sorted by code point, no
 * insignificant whitespace, only the escapes JSON requires. Throws {@link CanonicalJsonError}
 * for values with no canonical form (floats or out-of-range integers in strict mode, NaN,
 * lone surrogates, non-plain objects, cycles); `undefined` object members are skipped.
 *
 * Strict mode was introduced in room version 6.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export function encodeCanonicalJson(value: JsonValue, options: EncodeCanonicalJsonOptions): string {
  return new Encoder(options.mode === 'strict', options.maxDepth ?? DEFAULT_MAX_DEPTH).encode(value);
}

const UTF8 = new TextEncoder();

/**
 * {@link encodeCanonicalJson} as UTF-8 bytes: the input to hashing and signing.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-json
 */
export function encodeCanonicalJsonBytes(value: JsonValue, options: EncodeCanonicalJsonOptions): Uint8Array {
  return UTF8.encode(encodeCanonicalJson(value, options));
}
