/**
 * The outcome of checking untrusted input: a value, or the reason it was refused.
 * Parsers and checks in `libs/matrix/*` return a `Result` and never throw on input
 * from users or other servers (STYLE.md: expected outcomes are results).
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export type Result<T, E = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** Wraps an accepted value. */
export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

/** Wraps the reason an input was refused. */
export function err<E = string>(error: E): Result<never, E> {
  return { ok: false, error };
}
