import type { Result } from '@axon/matrix-errors';

/**
 * Why a Base64 string was refused.
 * - `invalid_character`: a character outside the alphabet, or `=` anywhere but at the end.
 * - `invalid_length`: a length no byte string encodes to (4n + 1 characters), or padding
 *   that does not complete the last group to four characters.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#unpadded-base64
 */
export interface Base64Error {
  readonly code: 'invalid_character' | 'invalid_length';
  readonly message: string;
}

const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function decodeTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

const STANDARD_DECODE = decodeTable(STANDARD_ALPHABET);
const URL_SAFE_DECODE = decodeTable(URL_SAFE_ALPHABET);

function encode(bytes: Uint8Array, alphabet: string): string {
  let out = '';
  const full = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]!;
  }
  return out;
}

function decode(text: string, table: Int8Array): Result<Uint8Array, Base64Error> {
  let length = text.length;
  // Padding is accepted only when it completes the last group: "Zg==" and "Zm8=", not "Zg=".
  if (length % 4 === 0 && length > 0 && text.charCodeAt(length - 1) === 0x3d) {
    length -= text.charCodeAt(length - 2) === 0x3d ? 2 : 1;
  }
  if (length % 4 === 1) {
    return { ok: false, error: { code: 'invalid_length', message: `${text.length} characters cannot be Base64` } };
  }
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  let o = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? table[c]! : -1;
    if (v < 0) {
      if (c === 0x3d) {
        return { ok: false, error: { code: 'invalid_length', message: `misplaced padding at offset ${i}` } };
      }
      return { ok: false, error: { code: 'invalid_character', message: `invalid Base64 character at offset ${i}` } };
    }
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  // Leftover bits (at most 4) are ignored even when non-zero, as Python's base64 module
  // (Synapse) does: the spec asks decoders to be liberal here.
  return { ok: true, value: out };
}

/**
 * Encodes bytes as unpadded Base64 (RFC 4648 standard alphabet, no `=`), the encoding of
 * every binary value in Matrix JSON: keys, signatures, hashes.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#unpadded-base64
 */
export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return encode(bytes, STANDARD_ALPHABET);
}

/**
 * Encodes bytes as URL-safe unpadded Base64 (`-` and `_` instead of `+` and `/`), used by
 * event IDs from room version 4.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#url-safe-unpadded-base64
 */
export function encodeUrlSafeUnpaddedBase64(bytes: Uint8Array): string {
  return encode(bytes, URL_SAFE_ALPHABET);
}

/**
 * Decodes standard-alphabet Base64, with or without `=` padding, as the spec asks
 * ("implementations SHOULD accept input with or without padding characters"). Never throws:
 * refuses characters outside the alphabet, whitespace, and impossible lengths.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#unpadded-base64
 */
export function decodeBase64(text: string): Result<Uint8Array, Base64Error> {
  return decode(text, STANDARD_DECODE);
}

/**
 * Decodes URL-safe Base64 (`-` and `_`), with or without padding. Never throws; the
 * standard alphabet's `+` and `/` are refused.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#url-safe-unpadded-base64
 */
export function decodeUrlSafeBase64(text: string): Result<Uint8Array, Base64Error> {
  return decode(text, URL_SAFE_DECODE);
}
