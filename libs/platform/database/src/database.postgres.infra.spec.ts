import { Database } from './database';
import { describeDatabaseContract } from './testing/database-contract';

const url = process.env['AXON_DATABASE_URL'];
if (!url) throw new Error('AXON_DATABASE_URL is not set: start real Postgres with `npm run infra:up` and export deploy/local/env.sh');

describeDatabaseContract('real Postgres', async () => ({
  options: () => ({ url, dataDir: '/nonexistent', poolSize: 4 }),
  persistent: true,
}));

describe('Database.open on Postgres', () => {
  it('fails at boot, without leaking the password, when Postgres does not answer', async () => {
    const bad = 'postgres://axon:s3cret-pw@127.0.0.1:1/axon';
    const err = await Database.open({ url: bad, dataDir: '/nonexistent' }).then(
      () => new Error('opened'),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/^cannot reach Postgres at postgres:\/\/axon:\*\*\*@127\.0\.0\.1:1\/axon/);
    expect(err.message).not.toContain('s3cret-pw');
  });

  it('answers ping until closed, before any service opened a schema', async () => {
    const db = await Database.open({ url: url!, dataDir: '/nonexistent' });
    await expect(db.ping()).resolves.toBeUndefined();
    await db.close();
    await expect(db.ping()).rejects.toThrow(/closed/);
  });
});
