import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBusContract } from './testing/bus-contract';

// The in-process log on embedded PGlite, in a data directory of its own.
const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

jest.setTimeout(120_000);
describeBusContract('in-process log on PGlite', () => ({ kind: 'in-process', dataDir }));
