import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The CI gate of the Complement runner, without running Complement: `--check-baseline`
 * over a results file passes when every baselined test passed, and fails, naming the
 * test, when one of them did not (a broken endpoint).
 */
describe('complement runner: the baseline gate', () => {
  const root = resolve(__dirname, '../..');
  const baseline = readFileSync(join(root, 'conformance/complement/baseline.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const dir = mkdtempSync(join(tmpdir(), 'complement-gate-'));

  function check(outcome: (name: string) => string): { status: number | null; output: string } {
    const tests = baseline.map((name) => ({ package: 'tests/csapi', name, parent: name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : null, outcome: outcome(name), elapsed: 0 }));
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify({ complement: 'github.com/matrix-org/complement@v0.0.0-20240925142218-911d7d39773a', packages: [{ package: 'tests/csapi', outcome: 'pass', elapsed: 0 }], tests }));
    const run = spawnSync(process.execPath, [join(root, 'tools/complement/run.mjs'), '--from-results', file, '--check-baseline'], { cwd: root, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it('has a baseline to guard', () => {
    expect(baseline.length).toBeGreaterThan(100);
  });

  it('passes when every baselined test passed', () => {
    expect(check(() => 'pass').status).toBe(0);
  });

  it('fails and names the test when a baselined test fails', () => {
    const broken = baseline.find((name) => name.startsWith('TestLogin')) ?? baseline[0]!;
    const result = check((name) => (name === broken ? 'fail' : 'pass'));
    expect(result.status).toBe(1);
    expect(result.output).toContain(broken);
  });
});
