/**
 * Secret scrubbing for log objects, at any depth: values under credential-like keys
 * are replaced, and passwords inside URLs (`postgres://user:pw@host`) are masked.
 * Errors are flattened first (name, message, stack, own fields) so their fields are
 * scrubbed too. Database errors lose what carries a statement's values, which are user
 * content (message bodies, account data, device names) or secrets: the parameters
 * (TypeORM's `parameters`, the drivers' `params`), Postgres's `detail` ("Key (user_id)=
 * (...)"), `where` ("unnamed portal parameter $4 = '...'") and `internalQuery`, and the
 * quoted values in the message of a data exception (`invalid input syntax for type
 * json: "..."`). The statement text and the SQLSTATE stay: they say what failed.
 */

const SECRET_KEY = /^(password|new_password|old_password|passwd|pass|access_token|refresh_token|login_token|token|id_token|client_secret|shared_secret|registration_shared_secret|secret|macaroon|authorization|proxy-authorization|cookie|set-cookie|x-api-key|signing_key|private_key)$/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
const MAX_DEPTH = 8;
/** Keys whose values are a statement's bound values, whatever object holds them. */
const SQL_VALUES_KEY = /^(parameters|params)$/;
/** Fields of a Postgres error report that quote values of the statement or a row. */
const POSTGRES_VALUE_FIELD = /^(detail|where|internalQuery)$/;
/** A Postgres error report (pg's DatabaseError, PGlite's, TypeORM's QueryFailedError copying them): a SQLSTATE and a severity. */
const isPostgresError = (value: Record<string, unknown>): boolean =>
  typeof value['code'] === 'string' && /^[0-9A-Z]{5}$/.test(value['code']) && (typeof value['severity'] === 'string' || typeof value['routine'] === 'string');
/** Quoted values in a Postgres message: `"..."` (input values) and `'...'`. */
const QUOTED = /"[^"\n]*"|'[^'\n]*'/g;

export const REDACTED = '[redacted]';

function scrubString(value: string): string {
  return value.includes('://') ? value.replace(URL_CREDENTIALS, '$1:***@') : value;
}

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (value instanceof Error) {
    const fields = value as unknown as Record<string, unknown>;
    // A data exception (SQLSTATE class 22) quotes the offending input in its message.
    const dataException = isPostgresError(fields) && String(fields['code']).startsWith('22');
    const text = (line: string): string => scrubString(dataException ? line.replace(QUOTED, '"[redacted]"') : line);
    const flat: Record<string, unknown> = { type: value.name, message: text(value.message) };
    if (value.stack) flat['stack'] = text(value.stack);
    for (const [k, v] of Object.entries(value)) flat[k] = scrubField(fields, k, v, depth, seen);
    if (value.cause !== undefined) flat['cause'] = scrub(value.cause, depth + 1, seen);
    return flat;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubField(value as Record<string, unknown>, k, v, depth, seen);
  return out;
}

function scrubField(holder: Record<string, unknown>, key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (SECRET_KEY.test(key) || SQL_VALUES_KEY.test(key)) return REDACTED;
  if (POSTGRES_VALUE_FIELD.test(key) && isPostgresError(holder)) return REDACTED;
  if (key === 'message' && typeof value === 'string' && isPostgresError(holder) && String(holder['code']).startsWith('22')) return value.replace(QUOTED, '"[redacted]"');
  return scrub(value, depth + 1, seen);
}

/** A scrubbed copy of a log object; the input is not modified. */
export function redactSecrets(object: Record<string, unknown>): Record<string, unknown> {
  return scrub(object, 0, new WeakSet()) as Record<string, unknown>;
}
