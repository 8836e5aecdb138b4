import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childProcessesIn } from './children';
import { startHomeserver } from './homeserver-process';

describe('startHomeserver', () => {
  it('kills the homeserver when it does not start in time, leaving nothing running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-harness-'));
    try {
      await expect(startHomeserver({}, { dataDir, startTimeoutMs: 1 })).rejects.toThrow(/did not start in time/);
      expect(childProcessesIn(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
