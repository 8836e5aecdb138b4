import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import responses from '../spec-data/openapi-responses.json';

type Api = 'client-server' | 'server-server';

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<string, ValidateFunction>();

/**
 * Validates a response body against the spec's own OpenAPI schema (the trimmed copy in
 * `spec-data/`), returning ajv's error list (empty when valid).
 */
export function specErrors(api: Api, key: string, body: unknown): string[] {
  const id = `${api}:${key}`;
  let validate = compiled.get(id);
  if (!validate) {
    const entry = (responses[api] as Record<string, { schema?: object } & object>)[key];
    if (!entry) throw new Error(`no spec schema for ${id} in spec-data/openapi-responses.json`);
    validate = ajv.compile('schema' in entry && entry.schema ? entry.schema : entry);
    compiled.set(id, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** The spec's example for a response, where it has one. */
export function specExample(api: Api, key: string): unknown {
  const entry = (responses[api] as Record<string, { examples?: { response?: { value?: unknown } }; schema?: { example?: unknown } }>)[key];
  return entry?.examples?.response?.value ?? entry?.schema?.example;
}
