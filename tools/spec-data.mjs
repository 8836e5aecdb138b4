#!/usr/bin/env node
// Regenerates libs/testing/spec-data/openapi-responses.json from the Matrix spec's resolved
// OpenAPI (../shared/spec/openapi, present on development machines and in CI, not in a
// user's clone): the response schemas and examples named in spec-data/keys.json, so the
// tests carry only what they use. Run: node tools/spec-data.mjs [path/to/openapi]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'libs/testing/spec-data');
const openapiDir = resolve(process.argv[2] ?? join(root, '../shared/spec/openapi'));
const keys = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8'));

const output = {
  source:
    'matrix-org/matrix-spec v1.19, data/api (resolved OpenAPI: client-server.json, server-server.json); Apache License 2.0. Trimmed to the response schemas the tests use.',
};
const problems = [];
for (const [api, list] of Object.entries(keys)) {
  const spec = JSON.parse(readFileSync(join(openapiDir, `${api}.json`), 'utf8'));
  const entries = {};
  for (const key of list) {
    if (key === 'Error') {
      entries[key] = spec.paths['/_matrix/client/v3/login'].post.responses['400'].content['application/json'].schema;
      continue;
    }
    const match = /^(GET|PUT|POST|DELETE) (\S+) (\d{3})$/.exec(key);
    if (!match) {
      problems.push(`${api}: malformed key "${key}" (want "METHOD /path status")`);
      continue;
    }
    const [, method, path, status] = match;
    const response = spec.paths[path]?.[method.toLowerCase()]?.responses?.[status];
    const json = response?.content?.['application/json'];
    if (!json) {
      problems.push(`${api}: no JSON response for ${key}`);
      continue;
    }
    entries[key] = { ...(json.examples ? { examples: json.examples } : {}), schema: json.schema };
  }
  output[api] = entries;
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
writeFileSync(join(dataDir, 'openapi-responses.json'), JSON.stringify(output) + '\n');
console.log(`wrote ${Object.values(keys).flat().length} schemas to libs/testing/spec-data/openapi-responses.json`);
