/**
 * A string that has passed a grammar check. Brands compose: a type may carry several
 * (a server signing key ID is also a key ID). Values are made only by parse functions.
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export type Brand<T, B extends string> = T & { readonly __brand: { readonly [K in B]: true } };
