import { CanonicalJsonError, type CanonicalJsonErrorCode, type CanonicalJsonMode, type JsonValue } from './canonical-json';
import type { Result } from '@axon/matrix-errors';

/**
 * Options for parsing untrusted JSON.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export interface ParseCanonicalJsonOptions {
  /** `strict` for room versions 6 and later, `lenient` for 1 to 5. */
  readonly mode: CanonicalJsonMode;
  /**
   * Deepest nesting of arrays and objects accepted; default 128, at most
   * `MAX_PARSE_DEPTH` (a larger value is lowered to it, so the recursive parser never
   * runs out of stack).
   */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 128;

/**
 * The deepest nesting the parser will ever follow, whatever `maxDepth` asks: well within
 * the stack of a default Node thread (about 4,000 levels). Matrix events nest far less.
 */
export const MAX_PARSE_DEPTH = 1000;
const MAX_INT_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Thrown inside the parser only, caught at its entry point and turned into a result. */
class Refusal {
  constructor(
    readonly code: CanonicalJsonErrorCode,
    readonly message: string,
    readonly offset: number,
  ) {}
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

class Parser {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly strict: boolean,
    private readonly maxDepth: number,
  ) {}

  parse(): JsonValue {
    const value = this.value(0);
    this.skipWhitespace();
    if (this.i !== this.text.length) this.refuse('syntax', 'unexpected data after the JSON value');
    return value;
  }

  private refuse(code: CanonicalJsonErrorCode, message: string, offset = this.i): never {
    throw new Refusal(code, message, offset);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let c = text.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.i);
  }

  private value(depth: number): JsonValue {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.i);
    if (c === 0x22) return this.string();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= this.maxDepth) this.refuse('too_deep', `nesting deeper than ${this.maxDepth}`);
      return c === 0x7b ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.text.startsWith('true', this.i)) return this.literal(4, true);
    if (this.text.startsWith('false', this.i)) return this.literal(5, false);
    if (this.text.startsWith('null', this.i)) return this.literal(4, null);
    return this.refuse('syntax', Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
  }

  private literal<T>(length: number, value: T): T {
    this.i += length;
    return value;
  }

  private object(depth: number): JsonValue {
    this.i++; // {
    const entries: [string, JsonValue][] = [];
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return {};
    }
    for (;;) {
      this.skipWhitespace();
      const keyOffset = this.i;
      if (this.text.charCodeAt(this.i) !== 0x22) this.refuse('syntax', 'expected a string key');
      const key = this.string();
      if (seen.has(key)) this.refuse('duplicate_key', `duplicate key ${JSON.stringify(key)}`, keyOffset);
      seen.add(key);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.i) !== 0x3a) this.refuse('syntax', 'expected ":"');
      this.i++;
      entries.push([key, this.value(depth)]);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x7d) break;
      if (c !== 0x2c) this.refuse('syntax', 'expected "," or "}"', this.i - 1);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data, never a prototype.
    return Object.fromEntries(entries) as JsonValue;
  }

  private array(depth: number): JsonValue {
    this.i++; // [
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x5d) return items;
      if (c !== 0x2c) this.refuse('syntax', 'expected "," or "]"', this.i - 1);
    }
  }

  private string(): string {
    const text = this.text;
    let start = ++this.i; // opening quote
    let out = '';
    for (;;) {
      const c = text.charCodeAt(this.i);
      if (c === 0x22) {
        out += text.slice(start, this.i++);
        return out;
      }
      if (Number.isNaN(c)) this.refuse('syntax', 'unterminated string');
      if (c < 0x20) this.refuse('syntax', 'unescaped control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // Raw surrogates: fine as a pair, refused alone (no UTF-8 encoding exists for them).
        const next = text.charCodeAt(this.i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.refuse('lone_surrogate', 'lone surrogate in string');
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += text.slice(start, this.i);
      out += this.escape();
      start = this.i;
    }
  }

  /** Reads one escape sequence starting at the backslash; returns the text it stands for. */
  private escape(): string {
    const at = this.i;
    const c = this.text.charCodeAt(this.i + 1);
    if (c !== 0x75) {
      const short = SHORT_ESCAPES[c];
      if (short === undefined) this.refuse('syntax', 'invalid escape sequence');
      this.i += 2;
      return short;
    }
    const unit = this.hex4(this.i + 2);
    this.i += 6;
    if (unit < 0xd800 || unit > 0xdfff) return String.fromCharCode(unit);
    if (unit <= 0xdbff && this.text.charCodeAt(this.i) === 0x5c && this.text.charCodeAt(this.i + 1) === 0x75) {
      const low = this.hex4(this.i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.i += 6;
        return String.fromCharCode(unit, low);
      }
    }
    return this.refuse('lone_surrogate', 'escaped lone surrogate in string', at);
  }

  private hex4(offset: number): number {
    const digits = this.text.slice(offset, offset + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.refuse('syntax', 'invalid \\u escape', offset - 2);
    return parseInt(digits, 16);
  }

  private number(): JsonValue {
    const start = this.i;
    NUMBER.lastIndex = start;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.refuse('syntax', 'invalid number');
    const [lexeme, sign = '', whole = '', fraction, exponent] = match;
    this.i += lexeme.length;
    if (fraction === undefined && exponent === undefined) {
      // Integer lexeme: exact, and by far the common case.
      if (whole.length <= 15) return Number(lexeme) || 0; // `|| 0` folds -0 into 0.
      const big = BigInt(lexeme);
      if (big <= MAX_INT_BIG && big >= -MAX_INT_BIG) return Number(big);
      if (this.strict) this.refuse('integer_out_of_range', 'integer outside [-(2**53)+1, (2**53)-1]', start);
      return big;
    }
    if (this.strict) return this.strictNonPlainNumber(sign, whole, fraction ?? '', exponent ?? '0', start);
    const value = Number(lexeme);
    if (!Number.isFinite(value)) this.refuse('non_finite_number', 'number too large for a double', start);
    return value || 0;
  }

  /**
   * Strict mode judges a number by its value, as the spec's own example does (`1e10`
   * becomes `10000000000`): accepted only if it is exactly an integer in range.
   */
  private strictNonPlainNumber(sign: string, whole: string, fraction: string, exponentText: string, at: number): number {
    let digits = (whole + fraction).replace(/^0+/, '');
    if (digits === '') return 0;
    let trailingZeros = 0;
    while (digits.endsWith('0')) {
      digits = digits.slice(0, -1);
      trailingZeros++;
    }
    // Value = digits * 10**scale. The exponent may be absurdly long: compare as a bigint.
    const scale = BigInt(exponentText) - BigInt(fraction.length) + BigInt(trailingZeros);
    if (scale < 0n) this.refuse('float_not_allowed', 'floats are not allowed', at);
    if (BigInt(digits.length) + scale > 16n) this.refuse('integer_out_of_range', 'integer outside [-(2**53)+1, (2**53)-1]', at);
    const value = Number(sign + digits + '0'.repeat(Number(scale)));
    if (!Number.isSafeInteger(value)) this.refuse('integer_out_of_range', 'integer outside [-(2**53)+1, (2**53)-1]', at);
    return value || 0;
  }
}

// RFC 8259 number grammar, sticky so it matches in place without slicing the input.
const NUMBER = /(-?)(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?/y;

/**
 * Parses untrusted JSON text and checks it against the canonical JSON rules of the room
 * version's mode. Unlike `JSON.parse` it refuses duplicate keys, lone surrogates (no UTF-8
 * form exists for them, and canonical JSON is UTF-8), nesting beyond `maxDepth`, and, in
 * strict mode (room version 6 on), floats and integers outside `[-(2**53)+1, (2**53)-1]`.
 * Insignificant whitespace and redundant escapes are accepted: the input need not be
 * canonical, only canonicalisable. In lenient mode big integers come back as `bigint`.
 * Never throws.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export function parseCanonicalJson(text: string, options: ParseCanonicalJsonOptions): Result<JsonValue, CanonicalJsonError> {
  try {
    const value = new Parser(text, options.mode === 'strict', Math.min(options.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_PARSE_DEPTH)).parse();
    return { ok: true, value };
  } catch (error) {
    if (error instanceof Refusal) {
      return { ok: false, error: new CanonicalJsonError(error.code, error.message, `offset ${error.offset}`) };
    }
    throw error;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * {@link parseCanonicalJson} for bytes off the wire: refuses input that is not valid UTF-8.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export function parseCanonicalJsonBytes(
  bytes: Uint8Array,
  options: ParseCanonicalJsonOptions,
): Result<JsonValue, CanonicalJsonError> {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (error) {
    // TextDecoder signals bad bytes with a TypeError; matched by name, not instanceof,
    // because the decoder may belong to another realm (test sandboxes).
    if ((error as { name?: unknown } | null)?.name === 'TypeError') {
      return { ok: false, error: new CanonicalJsonError('invalid_utf8', 'input is not valid UTF-8', 'input') };
    }
    throw error;
  }
  return parseCanonicalJson(text, options);
}
