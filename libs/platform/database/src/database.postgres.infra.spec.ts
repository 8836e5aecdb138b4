import { describeDatabaseContract } from './testing/database-contract';

const url = process.env['AXON_DATABASE_URL'];
if (!url) throw new Error('AXON_DATABASE_URL is not set: start real Postgres with `npm run infra:up` and export deploy/local/env.sh');

describeDatabaseContract('real Postgres', async () => ({
  options: () => ({ url, dataDir: '/nonexistent', poolSize: 4 }),
  persistent: true,
}));
