// Jest projects: `unit` runs everything that needs nothing installed (embedded
// PGlite, in-process bus, cache and rpc, a real homeserver process); `infra` runs the
// same contract suites against real Postgres, Kafka, Redis and a gRPC socket
// (start them with `npm run infra:up`); `distributed` runs the Client-Server API and sync
// suites again against the distributed deployment (every service its own process on that
// infrastructure, nginx in front), then the fault and tracing tests that need it;
// `federation` runs the federation tests: two Axon homeservers and Synapse (from PyPI,
// its venv cached under ~/.cache/axon) federating over TLS (libs/testing/src/federation-net.ts).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const swcrc = JSON.parse(readFileSync(join(__dirname, '.swcrc'), 'utf8'));
const { paths } = JSON.parse(readFileSync(join(__dirname, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

/** The matrix-js-sdk suites of the Client-Server API and sync, run again distributed. */
const DISTRIBUTED_E2E_SUITES = [
  'accounts', 'rooms', 'directory', 'concurrency', 'room-history', 'sync', 'sync-stress',
  'sync-edus', 'sync-filters', 'edu-endpoints', 'server-notices', 'client-compat', 'startup-endpoints', 'sync-tokens',
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false, sourceMaps: 'inline' }] },
  moduleNameMapper,
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/lint-fixtures/'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      globalSetup: '<rootDir>/tools/jest-global-setup.js',
      globalTeardown: '<rootDir>/tools/jest-global-teardown.ts',
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.infra\\.spec\\.ts$', '\\.distributed\\.spec\\.ts$', '\\.federation\\.spec\\.ts$'],
    },
    {
      ...common,
      displayName: 'infra',
      globalSetup: '<rootDir>/tools/jest-global-setup.js',
      globalTeardown: '<rootDir>/tools/jest-global-teardown.ts',
      testMatch: ['**/*.infra.spec.ts'],
    },
    {
      ...common,
      displayName: 'distributed',
      globalSetup: '<rootDir>/tools/jest-global-setup.js',
      globalTeardown: '<rootDir>/tools/jest-global-teardown.ts',
      testMatch: [
        ...DISTRIBUTED_E2E_SUITES.map((name) => `<rootDir>/apps/homeserver/src/${name}.e2e.spec.ts`),
        '**/*.distributed.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'federation',
      globalSetup: '<rootDir>/tools/jest-global-setup.js',
      globalTeardown: '<rootDir>/tools/jest-global-teardown.ts',
      testMatch: ['**/*.federation.spec.ts'],
    },
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
