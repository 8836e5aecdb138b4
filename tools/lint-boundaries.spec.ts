import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * Lints tools/lint-fixtures/workspace, a miniature workspace with the same boundary
 * configuration (eslint.boundaries.mjs) whose files break the rules on purpose, and
 * checks that each break is reported by the right rule and the allowed imports are not.
 */
const ROOT = join(__dirname, '..');
const FIXTURE = join(__dirname, 'lint-fixtures/workspace');

interface LintMessage {
  ruleId: string | null;
  message: string;
}
interface LintResult {
  filePath: string;
  messages: LintMessage[];
}

describe('module boundaries', () => {
  let byFile: Map<string, LintMessage[]>;

  beforeAll(() => {
    const state = mkdtempSync(join(tmpdir(), 'axon-lint-'));
    const env = {
      ...process.env,
      NX_DAEMON: 'false',
      NX_CACHE_DIRECTORY: join(state, 'cache'),
      NX_WORKSPACE_DATA_DIRECTORY: join(state, 'data'),
      NX_NO_CLOUD: 'true',
    };
    // The boundary rule reads Nx's project graph; compute it for the fixture first.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], {
      cwd: FIXTURE,
      env,
      stdio: 'pipe',
    });
    let output: string;
    try {
      output = execFileSync(process.execPath, [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '.'], {
        cwd: FIXTURE,
        env,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      // ESLint exits 1 when it reports errors, which is what this fixture is for.
      output = (err as { stdout: string }).stdout;
    }
    const results = JSON.parse(output) as LintResult[];
    byFile = new Map(results.map((r) => [relative(FIXTURE, r.filePath), r.messages]));
  }, 120000);

  const rulesFor = (file: string): (string | null)[] => (byFile.get(file) ?? []).map((m) => m.ruleId);

  it('fails an app importing an app', () => {
    expect(byFile.get('apps/app-a/src/main.ts')).toEqual([
      expect.objectContaining({ ruleId: '@nx/enforce-module-boundaries', message: 'Imports of apps are forbidden' }),
    ]);
  });

  it('fails a service library importing another service library', () => {
    expect(byFile.get('libs/services/alpha/src/reaches-beta.ts')).toEqual([
      expect.objectContaining({
        ruleId: '@nx/enforce-module-boundaries',
        message: expect.stringContaining('tagged with "type:service" can only depend on'),
      }),
    ]);
  });

  it.each([
    ['libs/matrix/pure/src/uses-nest.ts', '@nestjs/common'],
    ['libs/matrix/pure/src/uses-kafka.ts', 'kafkajs'],
  ])('fails libs/matrix importing a banned package (%s)', (file, pkg) => {
    const messages = byFile.get(file) ?? [];
    expect(messages).toContainEqual(
      expect.objectContaining({
        ruleId: '@nx/enforce-module-boundaries',
        message: `A project tagged with "type:matrix" is not allowed to import "${pkg}"`,
      }),
    );
    expect(rulesFor(file)).toContain('no-restricted-imports');
  });

  it('fails libs/matrix doing I/O or depending on a platform library', () => {
    expect(rulesFor('libs/matrix/pure/src/uses-fs.ts')).toEqual(['no-restricted-imports']);
    expect(byFile.get('libs/matrix/pure/src/uses-platform.ts')).toEqual([
      expect.objectContaining({ message: expect.stringContaining('"type:matrix" can only depend on libs tagged with "type:matrix"') }),
    ]);
  });

  it('passes the allowed directions', () => {
    for (const file of [
      'apps/app-a/src/allowed.ts',
      'libs/services/alpha/src/index.ts',
      'libs/platform/okay/src/index.ts',
      'libs/matrix/pure/src/index.ts',
    ]) {
      expect([file, byFile.get(file)]).toEqual([file, []]);
    }
  });
});
