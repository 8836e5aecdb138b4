/**
 * The UTF-8 length of `input` in bytes, or `undefined` when it holds a lone surrogate
 * (the spec only admits non-surrogate code points, and such a string has no UTF-8 form).
 * Identifier limits are in bytes: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function measureUtf8Bytes(input: string): number | undefined {
  let bytes = 0;
  for (let i = 0; i < input.length; i++) {
    const unit = input.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = input.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return undefined;
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return undefined;
    else bytes += 3;
  }
  return bytes;
}

/**
 * Checks the length limit shared by user IDs, room IDs, room aliases and event IDs
 * ("MUST NOT exceed 255 bytes", sigil and domain included), and that the string is
 * made of non-surrogate code points without NUL.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export function checkIdentifierBytes(input: string, kind: string): string | undefined {
  const bytes = measureUtf8Bytes(input);
  if (bytes === undefined) return `${kind} contains a lone surrogate`;
  if (bytes > MAX_IDENTIFIER_BYTES) return `${kind} is ${bytes} bytes long; the limit is ${MAX_IDENTIFIER_BYTES}`;
  if (input.includes('\u0000')) return `${kind} contains NUL`;
  return undefined;
}

/**
 * The byte limit on user IDs, room IDs, room aliases and event IDs.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export const MAX_IDENTIFIER_BYTES = 255;
