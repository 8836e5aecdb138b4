import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeShutdownUnderLoad } from './testing/shutdown-contract';

describeShutdownUnderLoad('embedded (PGlite, in-process bus)', () => ({
  env: { AXON_DATA_DIR: mkdtempSync(join(tmpdir(), 'axon-load-')) },
  params: {},
}));
