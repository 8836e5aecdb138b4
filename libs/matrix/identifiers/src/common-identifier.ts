import { parseServerName, type ServerName } from './server-name';
import { checkIdentifierBytes } from './unicode';

/**
 * The sigils of the Common Identifier Format: `@` user ID, `!` room ID, `$` event ID,
 * `#` room alias.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export type Sigil = '@' | '!' | '$' | '#';

/**
 * The two halves of `&localpart:domain`.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export interface SigilledParts {
  readonly localpart: string;
  readonly serverName: ServerName;
}

/**
 * Splits `&localpart:domain` at the first `:` (localparts never contain `:`, server
 * names may), after checking the sigil, the 255-byte limit, NUL and lone surrogates,
 * and that the domain is a valid server name. Returns an error message on failure.
 * The localpart's own grammar is left to the caller.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export function splitSigilledIdentifier(input: string, sigil: Sigil, kind: string): SigilledParts | string {
  if (!input.startsWith(sigil)) return `${kind} must start with "${sigil}"`;
  const bytesError = checkIdentifierBytes(input, kind);
  if (bytesError !== undefined) return bytesError;
  const colon = input.indexOf(':');
  if (colon < 0) return `${kind} must have the form ${sigil}localpart:domain`;
  const domain = parseServerName(input.slice(colon + 1));
  if (!domain.ok) return `${kind} has an invalid server name: ${domain.error}`;
  return { localpart: input.slice(1, colon), serverName: domain.value };
}

/**
 * Like {@link splitSigilledIdentifier} for identifiers already checked by a parser.
 * Spec: https://spec.matrix.org/v1.19/appendices/#common-identifier-format
 */
export function splitParsedIdentifier(input: string): SigilledParts {
  const colon = input.indexOf(':');
  return { localpart: input.slice(1, colon), serverName: input.slice(colon + 1) as ServerName };
}
