/**
 * Base64 checks for identifiers that are hashes: event IDs from room version 3 and room
 * IDs from room version 12.
 * Spec: https://spec.matrix.org/v1.19/appendices/#unpadded-base64
 */

/**
 * The two alphabets: standard (`+`, `/`) and URL-safe (`-`, `_`).
 * Spec: https://spec.matrix.org/v1.19/appendices/#url-safe-unpadded-base64
 */
export type Base64Alphabet = 'standard' | 'url-safe';

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/**
 * Length of an unpadded base64 SHA-256 digest (32 bytes), the reference hash.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#calculating-the-reference-hash-for-an-event
 */
export const REFERENCE_HASH_BASE64_LENGTH = 43;

// 32 bytes fill 43 characters with 2 spare bits, which a canonical encoder leaves zero:
// the last character's alphabet index is a multiple of 4.
const CANONICAL_LAST = /[AEIMQUYcgkosw048]$/;

/**
 * Whether `input` is a canonical unpadded base64 encoding of a 32-byte reference hash in
 * the given alphabet.
 * Spec: https://spec.matrix.org/v1.19/appendices/#unpadded-base64
 */
export function isReferenceHashBase64(input: string, alphabet: Base64Alphabet): boolean {
  return (
    input.length === REFERENCE_HASH_BASE64_LENGTH &&
    (alphabet === 'standard' ? STANDARD : URL_SAFE).test(input) &&
    CANONICAL_LAST.test(input)
  );
}
