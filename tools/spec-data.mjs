#!/usr/bin/env node
// Regenerates libs/testing/spec-data/openapi-responses.json from the Matrix spec's resolved
// OpenAPI (../shared/spec/openapi, present on development machines and in CI, not in a
// user's clone): the response schemas named in spec-data/keys.json, without their
// annotations (descriptions, titles, examples), so the tests carry only what they check.
// Also writes tools/fuzz/openapi-requests.json: every operation's parameters and request
// body schema, what `npm run fuzz` builds requests from.
// Run: node tools/spec-data.mjs [path/to/openapi]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'libs/testing/spec-data');
const openapiDir = resolve(process.argv[2] ?? join(root, '../shared/spec/openapi'));
const keys = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8'));

/** Keywords that only annotate a schema: validation ignores them. */
const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples']);

/** `schema` without its annotations, at every depth (a property named "title" stays). */
function trim(schema) {
  if (Array.isArray(schema)) return schema.map(trim);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    out[key] =
      key === 'properties' || key === 'patternProperties'
        ? Object.fromEntries(Object.entries(value).map(([name, property]) => [name, trim(property)]))
        : trim(value);
  }
  return out;
}

const output = {
  source:
    'matrix-org/matrix-spec v1.19, data/api (resolved OpenAPI: client-server.json, server-server.json); Apache License 2.0. Trimmed to the response schemas the tests use, without their annotations.',
};
const problems = [];
for (const [api, list] of Object.entries(keys)) {
  const spec = JSON.parse(readFileSync(join(openapiDir, `${api}.json`), 'utf8'));
  const entries = {};
  for (const key of list) {
    if (key === 'Error') {
      entries[key] = trim(spec.paths['/_matrix/client/v3/login'].post.responses['400'].content['application/json'].schema);
      continue;
    }
    const match = /^(GET|PUT|POST|DELETE) (\S+) (\d{3})$/.exec(key);
    if (!match) {
      problems.push(`${api}: malformed key "${key}" (want "METHOD /path status")`);
      continue;
    }
    const [, method, path, status] = match;
    const operation = spec.paths[path]?.[method.toLowerCase()];
    const json = operation?.responses?.[status]?.content?.['application/json'];
    if (!json && operation && Number(status) >= 400 && list.includes('Error')) {
      // An error the spec gives no schema of its own (a status it lists without a body
      // schema, or one it does not list, such as 403 M_FORBIDDEN or 404 M_NOT_FOUND):
      // the body is the standard error response ("API standards"), stored once as "Error".
      entries[key] = 'Error';
      continue;
    }
    if (!json) {
      problems.push(`${api}: no JSON response for ${key}`);
      continue;
    }
    entries[key] = { schema: trim(json.schema) };
  }
  output[api] = entries;
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
writeFileSync(join(dataDir, 'openapi-responses.json'), JSON.stringify(output) + '\n');
console.log(`wrote ${Object.values(keys).flat().length} schemas to libs/testing/spec-data/openapi-responses.json`);

// What a request generator needs of a schema; descriptions, titles and response schemas stay out.
const SCHEMA_KEYS = new Set([
  'type', 'properties', 'required', 'items', 'additionalProperties', 'enum', 'format', 'pattern', 'minimum', 'maximum',
  'minLength', 'maxLength', 'minItems', 'maxItems', 'oneOf', 'anyOf', 'allOf', 'example', 'default', 'const',
]);
function trimSchema(schema) {
  if (Array.isArray(schema)) return schema.map(trimSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!SCHEMA_KEYS.has(key)) continue;
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, trimSchema(sub)]));
    else if (key === 'example' || key === 'default' || key === 'const' || key === 'enum' || key === 'required') out[key] = value;
    else out[key] = typeof value === 'object' ? trimSchema(value) : value;
  }
  return out;
}
const METHODS = ['get', 'put', 'post', 'delete'];
const operations = [];
for (const api of ['client-server', 'server-server']) {
  const spec = JSON.parse(readFileSync(join(openapiDir, `${api}.json`), 'utf8'));
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const schemes = (op.security ?? []).map((s) => Object.keys(s)[0] ?? 'none');
      const auth = schemes.length === 0 ? 'none' : schemes.includes('none') ? 'optional' : schemes.some((s) => s.startsWith('accessToken')) ? 'user' : schemes[0];
      const body = op.requestBody?.content;
      const mediaType = body && Object.keys(body)[0];
      // The spec keeps two operations of one path apart by a trailing space in the second
      // ("/_matrix/client/v3/rooms/{roomId}/invite " is the third-party invite): the path
      // is the trimmed one, the operation ID tells them apart.
      operations.push({
        api,
        method: method.toUpperCase(),
        path: path.trim(),
        ...(path !== path.trim() ? { variant: op.operationId } : {}),
        operationId: op.operationId,
        auth,
        ...(op.deprecated ? { deprecated: true } : {}),
        parameters: (op.parameters ?? [])
          .filter((p) => p.in !== 'header')
          .map((p) => ({ name: p.name, in: p.in, required: p.required === true, schema: trimSchema(p.schema ?? {}), ...(p.example !== undefined ? { example: p.example } : {}) })),
        ...(mediaType
          ? { body: { mediaType, required: op.requestBody.required === true, schema: trimSchema(body[mediaType].schema ?? {}), ...(body[mediaType].example !== undefined ? { example: body[mediaType].example } : {}) } }
          : {}),
      });
    }
  }
}
const requests = {
  source:
    'matrix-org/matrix-spec v1.19, data/api (resolved OpenAPI: client-server.json, server-server.json); Apache License 2.0 by The Matrix.org Foundation C.I.C. Trimmed to each operation\'s parameters and request body schema (no descriptions, no responses), for tools/fuzz.',
  operations,
};
writeFileSync(join(root, 'tools/fuzz/openapi-requests.json'), JSON.stringify(requests) + '\n');
console.log(`wrote ${operations.length} operations to tools/fuzz/openapi-requests.json`);
