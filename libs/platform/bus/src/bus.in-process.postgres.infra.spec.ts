import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@axon/platform-database';
import { BUS_SCHEMA } from './in-process/in-process-bus';
import { BUS_MIGRATIONS } from './in-process/migrations';
import { describeBusContract } from './testing/bus-contract';

const url = process.env['AXON_DATABASE_URL'];
if (!url) {
  throw new Error('AXON_DATABASE_URL is not set: start Postgres with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');
}
const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-pg-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The shared database keeps only what other runs wrote. */
async function deleteTestTopics(prefix: string): Promise<void> {
  const database = await Database.open({ url, dataDir, poolSize: 1 });
  try {
    const bus = await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] });
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    await bus.transaction(async (em) => {
      for (const table of ['messages', 'partition_heads', 'committed_offsets']) {
        await em.query(`DELETE FROM ${table} WHERE topic LIKE $1`, [pattern]);
      }
      await em.query(`DELETE FROM topics WHERE name LIKE $1`, [pattern]);
    });
  } finally {
    await database.close();
  }
}

jest.setTimeout(120_000);
describeBusContract('in-process log on Postgres', () => ({ kind: 'in-process', dataDir, url }), { cleanup: deleteTestTopics });
