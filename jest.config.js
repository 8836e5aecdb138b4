// Two Jest projects: `unit` runs everything that needs nothing installed (embedded
// PGlite, in-process bus, cache and rpc, a real homeserver process); `infra` runs the
// same contract suites against real Postgres, Kafka, Redis and a gRPC socket
// (start them with `npm run infra:up`).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const swcrc = JSON.parse(readFileSync(join(__dirname, '.swcrc'), 'utf8'));
const { paths } = JSON.parse(readFileSync(join(__dirname, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

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
    { ...common, displayName: 'unit', globalSetup: '<rootDir>/tools/jest-global-setup.js', testMatch: ['**/*.spec.ts'], testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.infra\\.spec\\.ts$'] },
    { ...common, displayName: 'infra', globalSetup: '<rootDir>/tools/jest-global-setup.js', testMatch: ['**/*.infra.spec.ts'] },
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
