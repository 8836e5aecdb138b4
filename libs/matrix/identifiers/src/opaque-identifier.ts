/**
 * Longest identifier the Opaque and Common Namespaced grammars admit unless a use says
 * otherwise.
 * Spec: https://spec.matrix.org/v1.19/appendices/#opaque-identifiers
 */
export const MAX_GRAMMAR_IDENTIFIER_LENGTH = 255;

const OPAQUE = /^[0-9A-Za-z._~-]+$/;
const NAMESPACED = /^[a-z][a-z0-9._-]*$/;

/**
 * Whether `input` meets the Opaque Identifier Grammar: RFC 3986 unreserved characters
 * (`0-9 A-Z a-z - . _ ~`), 1 to `maxLength` (default 255) characters.
 * Spec: https://spec.matrix.org/v1.19/appendices/#opaque-identifiers
 */
export function isOpaqueIdentifier(input: string, maxLength = MAX_GRAMMAR_IDENTIFIER_LENGTH): boolean {
  return input.length <= maxLength && OPAQUE.test(input);
}

/**
 * Whether `input` meets the Common Namespaced Identifier Grammar (added in spec v1.2):
 * 1 to 255 characters of `a-z 0-9 - _ .`, starting with `a-z`. The `m.` prefix is
 * reserved for the specification; see {@link isSpecNamespacedIdentifier}.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-namespaced-identifier-grammar
 */
export function isNamespacedIdentifier(input: string): boolean {
  return input.length <= MAX_GRAMMAR_IDENTIFIER_LENGTH && NAMESPACED.test(input);
}

/**
 * Whether a namespaced identifier is in the `m.` namespace reserved for the spec.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-namespaced-identifier-grammar
 */
export function isSpecNamespacedIdentifier(input: string): boolean {
  return isNamespacedIdentifier(input) && input.startsWith('m.');
}
