/**
 * The outcome of parsing untrusted input: a value, or the reason it was refused.
 *
 * Parse functions in this library never throw on user input; they return a `Result`.
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export type Result<T, E = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/**
 * Wraps a successfully parsed value.
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

/**
 * Wraps the reason an input was refused.
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export function err<E = string>(error: E): Result<never, E> {
  return { ok: false, error };
}
