import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { DeviceId, EventId, UserId } from '@axon/matrix-identifiers';
import { Database, type DataSource } from '@axon/platform-database';
import type { ClientApiStorage } from './client-api-storage';
import { CLIENT_API_MIGRATIONS } from './migrations';
import { SentTransactionsRepository } from './sent-transactions.repository';

const ALICE = '@alice:hs.test' as UserId;
const DEV = 'DEV' as DeviceId;
const TWICE = '$twice' as EventId;

describe('SentTransactionsRepository on PGlite', () => {
  let database: Database;
  let dataSource: DataSource;
  let statements: string[];
  let repository: SentTransactionsRepository;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-sent-txns-')), inMemory: true });
    dataSource = await database.dataSource({ schema: 'client_api', migrations: [...CLIENT_API_MIGRATIONS] });
  });

  afterAll(async () => {
    await database.close();
  });

  beforeEach(() => {
    statements = [];
    // The real connection, counting the statements the repository runs on it.
    const counted = {
      db: {
        query: <T>(sql: string, parameters?: unknown[]): Promise<T> => {
          statements.push(sql);
          return dataSource.query<T>(sql, parameters);
        },
      },
    };
    repository = new SentTransactionsRepository(counted as unknown as ClientApiStorage);
  });

  it('records 50 concurrent sends in two statements, each durable when its record resolves', async () => {
    const sends = Array.from({ length: 50 }, (_, i) => ({ eventId: `$e${i}` as EventId, txnId: `txn${i}` }));
    await Promise.all(
      sends.map(async ({ eventId, txnId }) => {
        await repository.record(ALICE, DEV, eventId, txnId);
        // Read on another statement right after: the row is there.
        const rows = await dataSource.query<{ txn_id: string }[]>(`SELECT txn_id FROM sent_transactions WHERE event_id = $1`, [eventId]);
        expect(rows).toEqual([{ txn_id: txnId }]);
      }),
    );
    expect(statements.filter((sql) => sql.includes('INSERT'))).toHaveLength(2);
    const found = await repository.transactionIds(ALICE, DEV, sends.map((send) => send.eventId));
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(sends.map((send) => [send.eventId, send.txnId])));
  });

  it('keeps the first transaction ID of an event recorded twice, also twice in one statement', async () => {
    await Promise.all([repository.record(ALICE, DEV, TWICE, 'first'), repository.record(ALICE, DEV, TWICE, 'second'), repository.record(ALICE, DEV, TWICE, 'third')]);
    expect(await repository.transactionIds(ALICE, DEV, [TWICE])).toEqual(new Map([[TWICE, 'first']]));
    expect(await repository.transactionIds(ALICE, 'OTHER' as DeviceId, [TWICE])).toEqual(new Map());
  });
});
