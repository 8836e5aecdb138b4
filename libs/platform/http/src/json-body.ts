import { MatrixError } from '@axon/matrix-errors';

/**
 * The deepest nesting of objects and arrays a request body may have (the body itself is
 * level 1). No Matrix request comes close (push rule conditions and event content nest
 * a handful of levels); the limit leaves room under the canonical JSON parser's default
 * of 128 levels, which reads the PDUs such a body becomes, once wrapped in an event and
 * a federation transaction.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * What a body may carry in its strings:
 * - `parameters` (most endpoints): the server reads the fields, stores them in columns
 *   and uses them as names, IDs and keys; U+0000 is refused (`M_BAD_JSON`): no field the
 *   spec defines needs it, and Postgres `text` and `jsonb` cannot hold it.
 * - `content`: the body is stored and handed back as the client sent it (event content,
 *   account data, room tags); any JSON string is accepted, U+0000 included, as the JSON
 *   grammar and canonical JSON allow (canonical JSON writes it `\u0000`). Such content is
 *   stored as JSON text, never in a column that cannot hold it.
 */
export type JsonBodyKind = 'parameters' | 'content';

export interface ParseJsonBodyOptions {
  readonly kind: JsonBodyKind;
  /** Deepest nesting accepted; default {@link MAX_JSON_DEPTH}. */
  readonly maxDepth?: number;
}

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);
// Characters a string may hold between escapes, quotes and surrogates (which are checked
// one by one): skipped in one step, sticky so it matches in place.
const PLAIN_STRING_RUN = /[^"\\\uD800-\uDFFF]*/y;
// RFC 8259 number grammar, sticky.
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** A finding of the scan, reported once the text is known to be JSON. */
interface Refusal {
  readonly message: string;
}

interface ScanResult {
  /** Set when nesting went deeper than the limit: the scan stopped there. */
  readonly tooDeep: boolean;
  /** The first value the rules refuse (numbers, lone surrogates, NUL in parameters). */
  readonly refusal: Refusal | undefined;
}

/**
 * One pass over JSON text, iterative (no recursion, whatever the nesting), that finds
 * what `JSON.parse` accepts but a Matrix body must not carry: nesting beyond `maxDepth`
 * (the scan stops there, before anything is built), integers outside canonical JSON's
 * `[-(2**53)+1, (2**53)-1]` and other numbers beyond that magnitude (neither can be held
 * exactly as a JavaScript number: the server would keep another value than the client
 * sent), lone surrogates (no UTF-8 form exists for them) and, in parameter bodies,
 * U+0000. It does not check the grammar: `JSON.parse` does, after it.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
function scanJson(text: string, maxDepth: number, allowNul: boolean): ScanResult {
  const length = text.length;
  let depth = 0;
  let refusal: Refusal | undefined;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: runs of plain characters at once, then each escape or surrogate.
      i++;
      for (;;) {
        PLAIN_STRING_RUN.lastIndex = i;
        PLAIN_STRING_RUN.test(text);
        i = PLAIN_STRING_RUN.lastIndex;
        if (i >= length) break;
        const s = text.charCodeAt(i);
        if (s === 0x22) {
          i++;
          break;
        }
        if (s === 0x5c) {
          if (text.charCodeAt(i + 1) !== 0x75) {
            i += 2;
            continue;
          }
          const unit = hex4(text, i + 2);
          if (unit === 0 && !allowNul) refusal ??= { message: 'a string holds U+0000, which this request may not carry' };
          if (unit >= 0xd800 && unit <= 0xdbff && text.charCodeAt(i + 6) === 0x5c && text.charCodeAt(i + 7) === 0x75) {
            const low = hex4(text, i + 8);
            if (low >= 0xdc00 && low <= 0xdfff) {
              i += 12;
              continue;
            }
          }
          if (unit >= 0xd800 && unit <= 0xdfff) refusal ??= { message: 'a string holds a lone surrogate, which has no UTF-8 form' };
          i += 6;
          continue;
        }
        // A raw surrogate (text decoded from UTF-8 holds them only in pairs).
        const next = text.charCodeAt(i + 1);
        if (s <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i += 2;
          continue;
        }
        refusal ??= { message: 'a string holds a lone surrogate, which has no UTF-8 form' };
        i++;
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return { tooDeep: true, refusal };
      i++;
      continue;
    }
    if (c === 0x7d || c === 0x5d) {
      depth--;
      i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (match === null) {
        i++;
        continue;
      }
      const lexeme = match[0];
      i += lexeme.length;
      // Up to 15 characters without an exponent, a number is within range.
      if (refusal === undefined && (lexeme.length > 15 || match[2] !== undefined) && !numberInRange(lexeme, match[1] === undefined && match[2] === undefined)) {
        refusal = { message: `the number ${lexeme.length > 40 ? `${lexeme.slice(0, 40)}…` : lexeme} is outside [-(2**53)+1, (2**53)-1]` };
      }
      continue;
    }
    i++;
  }
  return { tooDeep: false, refusal };
}

/** The value of four hex digits at `offset`, or -1 (JSON.parse reports the bad escape). */
function hex4(text: string, offset: number): number {
  let value = 0;
  for (let k = offset; k < offset + 4; k++) {
    const d = text.charCodeAt(k);
    const digit = d >= 0x30 && d <= 0x39 ? d - 0x30 : d >= 0x61 && d <= 0x66 ? d - 0x57 : d >= 0x41 && d <= 0x46 ? d - 0x37 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Whether a number lexeme is within ±(2**53 - 1). */
function numberInRange(lexeme: string, isInteger: boolean): boolean {
  if (isInteger) {
    // Compared as digits: exact, where Number() would round 9007199254740993 down.
    const digits = lexeme.startsWith('-') ? lexeme.slice(1) : lexeme;
    return digits.length < MAX_SAFE_DIGITS.length || (digits.length === MAX_SAFE_DIGITS.length && digits <= MAX_SAFE_DIGITS);
  }
  const value = Number(lexeme);
  return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER;
}

/**
 * Parses a request body: the one way JSON from a client or a remote server becomes a
 * value. An empty (or all-whitespace) body is `undefined`. Refuses, as Matrix errors:
 * text that is not JSON (`M_NOT_JSON`); a value that is not an object, since every
 * Matrix request body is one ("Content must be a JSON object", `M_BAD_JSON`); nesting
 * deeper than `maxDepth`, checked before anything is built (`M_BAD_JSON`); numbers
 * beyond `[-(2**53)+1, (2**53)-1]` (`M_BAD_JSON`: JavaScript would keep another value;
 * floats within it are accepted, since some fields take them, as `m.tag`'s `order`:
 * event content gets canonical JSON's stricter rules when the event is built); lone
 * surrogates (`M_BAD_JSON`); and U+0000 unless the body is `content` (`M_BAD_JSON`).
 *
 * `JSON.parse` builds the value: V8's parser is iterative, so no depth overflows it,
 * and it keeps a `"__proto__"` key as data.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#api-standards
 */
export function parseJsonBody(text: string, options: ParseJsonBodyOptions): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const scan = scanJson(text, maxDepth, options.kind === 'content');
  if (scan.tooDeep) throw new MatrixError('M_BAD_JSON', `JSON nested deeper than ${maxDepth} levels`, 400);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MatrixError('M_NOT_JSON', `Content not JSON: ${(err as Error).message}`, 400);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MatrixError('M_BAD_JSON', 'Content must be a JSON object.', 400);
  if (scan.refusal !== undefined) throw new MatrixError('M_BAD_JSON', scan.refusal.message, 400);
  return value as Record<string, unknown>;
}

/**
 * Checks JSON carried in a query parameter (an inline `filter`) by the body rules for
 * parameters, without keeping the value: the endpoint parses it itself. Answers the
 * problem as a Matrix error, or undefined.
 */
export function checkJsonParameter(name: string, text: string): MatrixError | undefined {
  try {
    parseJsonBody(text, { kind: 'parameters' });
    return undefined;
  } catch (err) {
    if (!(err instanceof MatrixError)) throw err;
    return new MatrixError(err.errcode, `${name}: ${err.message}`, 400);
  }
}
