import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nxPlugin from '@nx/eslint-plugin';
import { boundaryConfigs } from './eslint.boundaries.mjs';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'dist/**',
      'coverage/**',
      '.infra/**',
      'data/**',
      'tools/lint-fixtures/**',
      'libs/contracts/grpc/src/generated/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
      // Configuration comes from libs/platform/config only.
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read configuration through @axon/platform-config, not process.env.',
        },
      ],
    },
  },
  {
    // The config library reads the environment; tests and tools set up processes.
    files: ['libs/platform/config/**/*.ts', '**/*.spec.ts', 'libs/testing/**/*.ts', 'tools/**/*.ts', '**/testing/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Test helpers stay out of production code: only tests and test support use them.
    files: ['**/*.ts'],
    ignores: ['**/*.spec.ts', '**/testing/**', 'libs/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: '@axon/testing', message: 'Only tests may import @axon/testing.' }] }],
    },
  },
  ...boundaryConfigs(nxPlugin),
);
