/**
 * Secret scrubbing for log objects, at any depth: values under credential-like keys
 * are replaced, and passwords inside URLs (`postgres://user:pw@host`) are masked.
 * Errors are flattened first (name, message, stack, own fields) so their fields are
 * scrubbed too.
 */

const SECRET_KEY = /^(password|new_password|old_password|passwd|pass|access_token|refresh_token|login_token|token|id_token|client_secret|shared_secret|registration_shared_secret|secret|macaroon|authorization|proxy-authorization|cookie|set-cookie|x-api-key|signing_key|private_key)$/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
const MAX_DEPTH = 8;

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
    const flat: Record<string, unknown> = { type: value.name, message: scrubString(value.message) };
    if (value.stack) flat['stack'] = scrubString(value.stack);
    for (const [k, v] of Object.entries(value)) flat[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1, seen);
    if (value.cause !== undefined) flat['cause'] = scrub(value.cause, depth + 1, seen);
    return flat;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1, seen);
  return out;
}

/** A scrubbed copy of a log object; the input is not modified. */
export function redactSecrets(object: Record<string, unknown>): Record<string, unknown> {
  return scrub(object, 0, new WeakSet()) as Record<string, unknown>;
}
