import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from './database';
import { EMBEDDED_SETTINGS } from './pglite-instance';
import { describeDatabaseContract } from './testing/database-contract';

describeDatabaseContract('embedded PGlite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-db-'));
  return { options: () => ({ dataDir }), persistent: true };
});

describe('embedded PGlite settings', () => {
  it('runs a new cluster, and a reopened one, with the embedded settings', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-db-'));
    for (const phase of ['created', 'reopened']) {
      const db = await Database.open({ dataDir });
      try {
        const ds = await db.dataSource({ schema: 'settings_check' });
        for (const [name, value] of Object.entries(EMBEDDED_SETTINGS)) {
          const [row] = await ds.query(`SELECT current_setting($1) AS value`, [name]);
          expect({ phase, name, value: row.value }).toEqual({ phase, name, value });
        }
      } finally {
        await db.close();
      }
    }
  });
});
