// The architecture's dependency rule (ARCHITECTURE.md §4), enforced by
// @nx/enforce-module-boundaries over project tags. Shared by eslint.config.mjs and the
// lint fixture workspace that proves each rule fails when broken.

/** Node built-ins that do I/O: the pure libs/matrix layer must not reach them. */
const NODE_IO = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'dgram', 'child_process', 'cluster', 'tls', 'dns', 'worker_threads'];

export const MATRIX_BANNED_PACKAGES = [
  '@nestjs/*',
  'typeorm',
  'pg',
  'pg-*',
  '@electric-sql/*',
  'kafkajs',
  'ioredis',
  '@grpc/*',
  '@opentelemetry/sdk-*',
  '@opentelemetry/exporter-*',
  '@opentelemetry/instrumentation*',
  '@opentelemetry/resources',
  'fastify',
  'pino',
  'prom-client',
];

export const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:service', 'type:platform', 'type:contracts', 'type:matrix', 'type:testing'] },
  { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:matrix', 'type:testing'] },
  { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:matrix', 'type:testing'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:matrix', 'type:testing'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts', 'type:matrix'] },
  {
    sourceTag: 'type:matrix',
    onlyDependOnLibsWithTags: ['type:matrix'],
    bannedExternalImports: MATRIX_BANNED_PACKAGES,
  },
];

/** Flat-config blocks: the boundary rule everywhere, the I/O ban in libs/matrix. */
export function boundaryConfigs(nxPlugin) {
  return [
    {
      files: ['**/*.ts'],
      plugins: { '@nx': nxPlugin },
      rules: {
        '@nx/enforce-module-boundaries': [
          'error',
          { enforceBuildableLibDependency: false, allow: [], depConstraints, banTransitiveDependencies: false },
        ],
      },
    },
    {
      files: ['libs/matrix/**/*.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: NODE_IO.flatMap((m) => [m, `node:${m}`]).map((name) => ({
              name,
              message: 'libs/matrix is pure: no I/O. Take data as arguments instead.',
            })),
            patterns: [{ group: MATRIX_BANNED_PACKAGES, message: 'libs/matrix must stay free of Nest and I/O.' }],
          },
        ],
      },
    },
  ];
}
