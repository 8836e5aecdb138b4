import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBusContract } from './testing/bus-contract';

const url = process.env['AXON_DATABASE_URL'];
if (!url) {
  throw new Error('AXON_DATABASE_URL is not set: start Postgres with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');
}
const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-pg-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

jest.setTimeout(120_000);
describeBusContract('in-process log on Postgres', () => ({ kind: 'in-process', dataDir, url }));
