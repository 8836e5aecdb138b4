import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import {
  parseEventId,
  parseHistoricalUserId,
  parseRoomAlias,
  parseRoomId,
  parseServerName,
} from '@axon/matrix-identifiers';
import responses from '../spec-data/openapi-responses.json';

type Api = 'client-server' | 'server-server';

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// The spec's own string formats (its OpenAPI marks identifiers with them), checked with
// the identifier grammars, so a malformed ID in a response fails the schema check.
const identifierFormats: Record<string, (value: string) => boolean> = {
  'mx-user-id': (v) => parseHistoricalUserId(v).ok,
  'mx-room-id': (v) => parseRoomId(v).ok,
  'mx-event-id': (v) => parseEventId(v).ok,
  'mx-room-alias': (v) => parseRoomAlias(v).ok,
  'mx-server-name': (v) => parseServerName(v).ok,
  'mx-mxc-uri': (v) => /^mxc:\/\/[^/]+\/[A-Za-z0-9_-]+$/.test(v),
};
for (const [name, validate] of Object.entries(identifierFormats)) ajv.addFormat(name, { type: 'string', validate });
const compiled = new Map<string, ValidateFunction>();

/**
 * Validates a response body against the spec's own OpenAPI schema (the trimmed copy in
 * `spec-data/`), returning ajv's error list (empty when valid).
 */
export function specErrors(api: Api, key: string, body: unknown): string[] {
  const id = `${api}:${key}`;
  let validate = compiled.get(id);
  if (!validate) {
    const all = responses[api] as Record<string, ({ schema?: object } & object) | string>;
    const found = all[key];
    // A string names the entry it shares: an error status the spec gives no schema of its own has the standard error body.
    const entry = typeof found === 'string' ? all[found] : found;
    if (!entry || typeof entry === 'string') throw new Error(`no spec schema for ${id} in spec-data/openapi-responses.json`);
    validate = ajv.compile('schema' in entry && entry.schema ? entry.schema : entry);
    compiled.set(id, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
