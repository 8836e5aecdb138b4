/**
 * The outcome of checking untrusted input: a value, or the reason it was refused.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json (decoders of peer input
 * must refuse, not crash, on anything the appendix forbids).
 */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };
