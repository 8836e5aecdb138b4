#!/usr/bin/env node
// Regenerates libs/testing/spec-data/openapi-responses.json from the Matrix spec's resolved
// OpenAPI (../shared/spec/openapi, present on development machines and in CI, not in a
// user's clone): the response schemas named in spec-data/keys.json, without their
// annotations (descriptions, titles, examples), so the tests carry only what they check. Run: node tools/spec-data.mjs [path/to/openapi]
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
