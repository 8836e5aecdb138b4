import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Database } from '@axon/platform-database';
import { CLIENT_API_MIGRATIONS, ClientApiDropSentTransactions1767300000000 } from './migrations';

describe('client-api migrations', () => {
  it('ClientApiDropSentTransactions drops sent_transactions, and brings it back empty on the way down', async () => {
    const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-client-api-migrate-')), inMemory: true });
    try {
      const index = CLIENT_API_MIGRATIONS.indexOf(ClientApiDropSentTransactions1767300000000);
      const before = await database.dataSource({ schema: 'client_api', migrations: CLIENT_API_MIGRATIONS.slice(0, index) });
      await before.query(`INSERT INTO sent_transactions (user_id, device_id, event_id, txn_id) VALUES ('@a:hs.test', 'DEV', '$e', 'txn')`);

      const after = await database.dataSource({ schema: 'client_api', migrations: CLIENT_API_MIGRATIONS.slice(0, index + 1) });
      expect(await after.query(`SELECT to_regclass('client_api.sent_transactions') IS NULL AS gone`)).toEqual([{ gone: true }]);

      await after.undoLastMigration();
      expect(await after.query(`SELECT * FROM sent_transactions`)).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
