import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDatabaseContract } from './testing/database-contract';

describeDatabaseContract('embedded PGlite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-db-'));
  return { options: () => ({ dataDir }), persistent: true };
});
