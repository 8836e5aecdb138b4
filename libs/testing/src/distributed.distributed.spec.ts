import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childProcessesIn } from './children';
import { startDistributed } from './distributed';

describe('startDistributed', () => {
  it('kills every process it spawned when the start misses its deadline, leaving nothing running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-harness-'));
    try {
      await expect(startDistributed({ dataDir, startTimeoutMs: 1 })).rejects.toThrow(/did not start in time/);
      expect(childProcessesIn(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
