import tseslint from 'typescript-eslint';
import nxPlugin from '@nx/eslint-plugin';
import { boundaryConfigs } from '../../../eslint.boundaries.mjs';

export default tseslint.config({ files: ['**/*.ts'], extends: [tseslint.configs.base] }, ...boundaryConfigs(nxPlugin));
