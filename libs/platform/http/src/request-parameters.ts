import { MatrixError, type Result } from '@axon/matrix-errors';
import { parseDeviceId, parseEventId, parseHistoricalUserId, parseRoomAlias, parseRoomId } from '@axon/matrix-identifiers';
import { checkJsonParameter } from './json-body';

/**
 * The longest a path parameter may be, in UTF-8 bytes: the spec's limit on every
 * identifier (user, room and event IDs, aliases, event types, state keys, tag names), and
 * the bound given to opaque values (transaction IDs, device IDs, account data types)
 * that the spec leaves unbounded.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#size-limits
 */
export const MAX_PATH_PARAMETER_BYTES = 255;

/** A check of one value: the problem, or undefined. */
type Check = (value: string) => string | undefined;

const LONE_SURROGATE = /\p{Surrogate}/u;

const fromParser =
  (parse: (value: string) => Result<unknown>): Check =>
  (value) => {
    const parsed = parse(value);
    return parsed.ok ? undefined : parsed.error;
  };

/** What every string parameter must be: storable text (no U+0000, no lone surrogate). */
const text: Check = (value) => {
  if (value.includes('\u0000')) return 'holds U+0000';
  if (LONE_SURROGATE.test(value)) return 'holds a lone surrogate';
  return undefined;
};

/** An opaque path parameter: storable text of at most {@link MAX_PATH_PARAMETER_BYTES}. */
const opaque: Check = (value) => text(value) ?? (Buffer.byteLength(value, 'utf8') > MAX_PATH_PARAMETER_BYTES ? `is longer than ${MAX_PATH_PARAMETER_BYTES} bytes` : undefined);

/**
 * Path parameters by the name the routes give them, and the grammar each must meet
 * (Appendices, "Identifier grammar"); any other name is {@link opaque}. A value that
 * does not meet it is a parameter with "the wrong value" (`M_INVALID_PARAM`), answered
 * before any access check or lookup, on every route alike.
 */
const PATH_GRAMMARS: Readonly<Record<string, Check>> = {
  roomId: fromParser(parseRoomId),
  userId: fromParser(parseHistoricalUserId),
  // In the format of any room version: which version the room has, only the service knows.
  eventId: fromParser(parseEventId),
  roomAlias: fromParser(parseRoomAlias),
  roomIdOrAlias: (value) => fromParser(value.startsWith('#') ? parseRoomAlias : parseRoomId)(value),
  deviceId: (value) => fromParser(parseDeviceId)(value) ?? opaque(value),
  // The endpoint answers a key over 255 bytes with the error the spec names for it.
  keyName: text,
};

/** The query parameters the spec types as integers (OpenAPI `type: integer`). */
const INTEGER_QUERY = new Set(['limit', 'timeout', 'timeout_ms', 'max_depth', 'minimum_valid_until_ts', 'ts', 'height', 'width']);
/** The query parameters the spec types as booleans. */
const BOOLEAN_QUERY = new Set(['full_state', 'allow_redirect', 'allow_remote', 'animated', 'archived', 'include_all_networks', 'omit_members', 'recurse', 'suggested_only', 'use_state_after']);
/**
 * The query parameters that may be given more than once: the spec's lists (`via`, and
 * `v`, `ver` of the Server-Server API) and `server_name`, the list `via` replaced, which
 * clients still send. Every other parameter is one value.
 */
const LIST_QUERY = new Set(['via', 'server_name', 'v', 'ver']);
const INTEGER = /^-?\d{1,16}$/;

const integer: Check = (value) => {
  if (!INTEGER.test(value)) return 'must be an integer';
  return Number.isSafeInteger(Number(value)) ? undefined : 'must be an integer within [-(2**53)+1, (2**53)-1]';
};

function checkQueryValue(name: string, value: string): MatrixError | undefined {
  const problem = text(value) ?? (INTEGER_QUERY.has(name) ? integer(value) : BOOLEAN_QUERY.has(name) && value !== 'true' && value !== 'false' ? 'must be true or false' : undefined);
  if (problem !== undefined) return new MatrixError('M_INVALID_PARAM', `query parameter ${JSON.stringify(name)} ${problem}`, 400);
  // An inline filter is JSON: the body rules apply to it (depth, numbers, U+0000).
  if (name === 'filter' && value.trimStart().startsWith('{')) return checkJsonParameter('filter', value);
  return undefined;
}

/**
 * Checks a request's path and query parameters against the spec's grammar before any
 * service sees them, and answers the first problem as a Matrix error: identifiers that
 * do not parse, path parameters over 255 bytes, U+0000 or a lone surrogate anywhere
 * (none can be stored), integers that are not integers or lie beyond
 * `[-(2**53)+1, (2**53)-1]`, booleans other than `true`/`false`, one-value parameters
 * given more than once (`M_INVALID_PARAM`), and inline filters by the body rules.
 * Services still apply their own ranges (a page size's maximum, say) where they take
 * the values.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#identifier-grammar
 */
export function checkRequestParameters(params: Readonly<Record<string, unknown>> | undefined, query: Readonly<Record<string, unknown>> | undefined): MatrixError | undefined {
  for (const [name, value] of Object.entries(params ?? {})) {
    if (typeof value !== 'string') continue;
    const problem = (PATH_GRAMMARS[name] ?? opaque)(value);
    if (problem !== undefined) {
      const shown = value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}…` : JSON.stringify(value);
      return new MatrixError('M_INVALID_PARAM', `path parameter ${name} ${shown}: ${problem}`, 400);
    }
  }
  for (const [name, value] of Object.entries(query ?? {})) {
    const nameProblem = text(name);
    if (nameProblem !== undefined) return new MatrixError('M_INVALID_PARAM', `a query parameter's name ${nameProblem}`, 400);
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (values.length > 1 && !LIST_QUERY.has(name)) return new MatrixError('M_INVALID_PARAM', `query parameter ${JSON.stringify(name)} is given more than once`, 400);
    for (const one of values) {
      if (typeof one !== 'string') continue;
      const problem = checkQueryValue(name, one);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}
